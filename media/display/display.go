// Package display composes the meeting's remote video into one picture for
// the room's screen and hands it to a sink: the Linux framebuffer on the
// device, a PNG snapshot and an optional Y4M recording on the simulated board.
//
// # Layouts
//
// Speaker: the active (most recently talking, else first) participant fills
// the screen and up to four others run as a filmstrip along the bottom.
// Grid: everyone in equal tiles, up to 3×3. With nobody to show, the screen
// shows a calm slate.
//
// Composition happens when something changed (a new frame, a layout or
// speaker change), at most at the screen's frame rate, and redraws only the
// tiles whose participant sent a new frame: a still meeting costs nothing
// and one new frame costs one conversion into its tile.
package display

import (
	"image"
	"image/color"
	"sort"
	"sync"
	"time"

	"golang.org/x/image/draw"
)

// Layout chooses how participants share the screen.
type Layout int

// Layouts.
const (
	Speaker Layout = iota
	Grid
)

func (l Layout) String() string {
	if l == Grid {
		return "Grid"
	}
	return "Speaker"
}

// Compositor keeps the latest frame of every remote participant and draws
// them into one canvas.
type Compositor struct {
	mu      sync.Mutex
	w, h    int
	layout  Layout
	feeds   map[string]*feed
	active  string
	dirty   bool // something to draw
	relaid  bool // the tiles changed: redraw the whole screen
	version uint64
	changed chan struct{} // one pending signal: dirty was set

	// target is what Compose draws into: canvas, or the mapped screen of
	// direct in XRGB8888 (bgrx). canvas is then made from the screen only
	// for those who ask for a picture (snapshots, other sinks).
	target    *image.RGBA
	bgrx      bool
	direct    *Framebuffer
	canvas    *image.RGBA
	canvasVer uint64 // the version canvas holds

	notice      *image.RGBA // drawn over the top of the screen (notice.go)
	noticeTimer *time.Timer // takes the notice away
}

type feed struct {
	name   string
	ycc    *image.YCbCr // last frame when it came as 4:2:0 (a plain copy)
	rgba   *image.RGBA  // last frame otherwise
	at     time.Time
	order  int
	fresh  bool            // a frame came since the feed was last drawn
	drawn  image.Rectangle // where it was last drawn
	scaled *image.YCbCr    // scaling scratch, reused
	// label, when set, is drawn in the tile instead of the picture
	// (SetLabel).
	label     *image.RGBA
	labelText string
}

func (f *feed) image() image.Image {
	if f.ycc != nil {
		return f.ycc
	}
	if f.rgba != nil {
		return f.rgba
	}
	return nil
}

// NewCompositor makes a compositor for a w×h screen.
func NewCompositor(w, h int) *Compositor {
	c := &Compositor{w: w, h: h, feeds: map[string]*feed{}, canvas: image.NewRGBA(image.Rect(0, 0, w, h)),
		changed: make(chan struct{}, 1)}
	c.target = c.canvas
	c.changeLocked(true)
	return c
}

// DrawOn makes the compositor draw straight into fb's memory in its own
// pixel format, so that a new frame is converted once, into the screen,
// and Run has nothing left to copy: the device's display path. It reports
// false, and changes nothing, when fb is not a mapped 32-bit framebuffer
// of the compositor's size.
func (c *Compositor) DrawOn(fb *Framebuffer) bool {
	cv := fb.canvas()
	if cv == nil || cv.Rect.Dx() != c.w || cv.Rect.Dy() != c.h {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.target, c.bgrx, c.direct = cv, true, fb
	c.canvas = nil // made again if someone asks for a picture
	c.changeLocked(true)
	return true
}

// drawsOn says whether s is the framebuffer the compositor draws into.
func (c *Compositor) drawsOn(s Sink) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	fb, ok := s.(*Framebuffer)
	return ok && fb == c.direct
}

// changeLocked marks the screen as needing a new picture; relayout when
// the tiles moved.
func (c *Compositor) changeLocked(relayout bool) {
	c.dirty = true
	c.relaid = c.relaid || relayout
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled whenever there is something new to compose. It has
// room for one signal, so one goroutine (Run) should wait on it.
func (c *Compositor) Changed() <-chan struct{} { return c.changed }

// SetLayout switches the layout.
func (c *Compositor) SetLayout(l Layout) {
	c.mu.Lock()
	if c.layout != l {
		c.layout = l
		c.changeLocked(true)
	}
	c.mu.Unlock()
}

// SetActive marks the participant who is speaking.
func (c *Compositor) SetActive(id string) {
	c.mu.Lock()
	if c.active != id {
		c.active = id
		c.changeLocked(true)
	}
	c.mu.Unlock()
}

// Update stores a participant's newest frame. It copies the pixels, so the
// caller may reuse img.
func (c *Compositor) Update(id string, img image.Image) {
	b := img.Bounds()
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.feeds[id]
	if !ok {
		f = &feed{name: id, order: c.nextOrderLocked()}
		c.feeds[id] = f
	}
	if y, ok := img.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		// Decoders hand out 4:2:0; copying the planes is far cheaper than
		// converting, which happens while scaling into the tile instead.
		if f.ycc == nil || f.ycc.Bounds().Size() != b.Size() {
			f.ycc = image.NewYCbCr(image.Rect(0, 0, b.Dx(), b.Dy()), image.YCbCrSubsampleRatio420)
		}
		copyYCbCr(f.ycc, y)
		f.rgba = nil
	} else {
		if f.rgba == nil || f.rgba.Bounds().Size() != b.Size() {
			f.rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		}
		draw.Draw(f.rgba, f.rgba.Bounds(), img, b.Min, draw.Src)
		f.ycc = nil
	}
	f.at = time.Now()
	f.fresh = true
	c.changeLocked(!ok)
}

// nextOrderLocked places a new participant after everyone on screen.
func (c *Compositor) nextOrderLocked() int {
	n := 0
	for _, f := range c.feeds {
		n = max(n, f.order+1)
	}
	return n
}

// Remove drops a participant who left.
func (c *Compositor) Remove(id string) {
	c.mu.Lock()
	if _, ok := c.feeds[id]; ok {
		delete(c.feeds, id)
		if c.active == id {
			c.active = ""
		}
		c.changeLocked(true)
	}
	c.mu.Unlock()
}

// Participants returns the ids on screen, in order of arrival.
func (c *Compositor) Participants() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.orderLocked()
}

func (c *Compositor) orderLocked() []string {
	ids := make([]string, 0, len(c.feeds))
	for id := range c.feeds {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return c.feeds[ids[i]].order < c.feeds[ids[j]].order })
	return ids
}

// Compose draws the screen if anything changed and returns it with a
// version number that grows with every new picture. The returned image must
// not be changed; it is valid until the next Compose.
func (c *Compositor) Compose() (*image.RGBA, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drawLocked()
	if c.target == c.canvas {
		return c.canvas, c.version
	}
	// Drawing goes to the framebuffer: read the picture back from it.
	if c.canvas == nil {
		c.canvas, c.canvasVer = image.NewRGBA(image.Rect(0, 0, c.w, c.h)), 0
	}
	if c.canvasVer != c.version {
		rgbaToXRGB(c.canvas.Pix, c.canvas.Stride, c.target) // the same swap both ways
		c.canvasVer = c.version
	}
	return c.canvas, c.version
}

// draw draws the screen into its target if anything changed and returns
// the version of the picture there.
func (c *Compositor) draw() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drawLocked()
	return c.version
}

func (c *Compositor) drawLocked() {
	if !c.dirty {
		return
	}
	c.dirty = false
	c.version++
	full := c.relaid
	c.relaid = false
	bg := image.NewUniform(slate)
	if c.bgrx {
		bg = image.NewUniform(color.RGBA{slate.B, slate.G, slate.R, slate.A})
	}
	if full {
		draw.Draw(c.target, c.target.Bounds(), bg, image.Point{}, draw.Src)
	}
	ids := c.orderLocked()
	for i, r := range c.tilesLocked(ids) {
		f := c.feeds[ids[i]]
		if f.label != nil {
			if full {
				b := f.label.Bounds()
				c.drawCardLocked(f.label, image.Pt(r.Min.X+(r.Dx()-b.Dx())/2, r.Min.Y+(r.Dy()-b.Dy())/2), r)
			}
			f.fresh = false
			continue
		}
		img := f.image()
		if img == nil || (!full && !f.fresh) {
			continue
		}
		f.fresh = false
		dr := fit(r, img.Bounds().Size())
		if !full && dr != f.drawn {
			// The picture changed shape within its tile: clear the tile.
			draw.Draw(c.target, r, bg, image.Point{}, draw.Src)
		}
		f.drawn = dr
		scaleInto(c.target, dr, img, &f.scaled, c.bgrx)
	}
	c.drawNoticeLocked()
}

var slate = color.RGBA{0x12, 0x18, 0x24, 0xff}

// tilesLocked returns one rectangle per id, in the order of ids.
func (c *Compositor) tilesLocked(ids []string) []image.Rectangle {
	n := len(ids)
	if n == 0 {
		return nil
	}
	full := image.Rect(0, 0, c.w, c.h)
	if c.layout == Speaker {
		main := 0
		for i, id := range ids {
			if id == c.active {
				main = i
			}
		}
		rs := make([]image.Rectangle, n)
		if n == 1 {
			rs[0] = full
			return rs
		}
		stripH := c.h / 5
		rs[main] = image.Rect(0, 0, c.w, c.h-stripH)
		k, tw := 0, c.w/4
		for i := range ids {
			if i == main {
				continue
			}
			if k < 4 {
				rs[i] = image.Rect(k*tw, c.h-stripH, (k+1)*tw, c.h)
			}
			k++
		}
		return rs
	}
	cols := 1
	for cols*cols < n && cols < 3 {
		cols++
	}
	rows := (min(n, 9) + cols - 1) / cols
	rs := make([]image.Rectangle, n)
	tw, th := c.w/cols, c.h/rows
	for i := range min(n, 9) {
		x, y := i%cols, i/cols
		rs[i] = image.Rect(x*tw, y*th, (x+1)*tw, (y+1)*th)
	}
	return rs
}

// fit returns the largest rectangle of size's aspect ratio centred in r.
func fit(r image.Rectangle, size image.Point) image.Rectangle {
	if size.X == 0 || size.Y == 0 || r.Empty() {
		return image.Rectangle{}
	}
	w, h := r.Dx(), r.Dx()*size.Y/size.X
	if h > r.Dy() {
		h, w = r.Dy(), r.Dy()*size.X/size.Y
	}
	x0, y0 := r.Min.X+(r.Dx()-w)/2, r.Min.Y+(r.Dy()-h)/2
	return image.Rect(x0, y0, x0+w, y0+h)
}
