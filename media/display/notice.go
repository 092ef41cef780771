package display

import (
	"image"
	"image/color"
	"sync"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// A notice is a short message drawn over the top of the screen until a
// deadline, whatever the screen shows beneath it: the touch panel's pairing
// code, which only someone who can see the room's display should learn.

var (
	noticeFaces   = map[int]font.Face{}
	noticeFacesMu sync.Mutex
)

// noticeFaceLocked returns Go Bold at size px, parsed once per size. A
// face is not safe for concurrent use: noticeFacesMu guards using it too.
func noticeFaceLocked(px int) font.Face {
	if f, ok := noticeFaces[px]; ok {
		return f
	}
	ft, err := opentype.Parse(gobold.TTF)
	if err != nil {
		panic("display: the embedded Go Bold font does not parse: " + err.Error())
	}
	f, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic("display: " + err.Error())
	}
	noticeFaces[px] = f
	return f
}

var (
	noticeBG   = color.RGBA{0x0b, 0x0f, 0x17, 0xf0}
	noticeText = color.RGBA{0xf5, 0xf7, 0xfa, 0xff}
)

// renderNotice draws lines of text, the first large, into a card sized for
// a w-pixel-wide screen.
func renderNotice(lines []string, w int) *image.RGBA {
	noticeFacesMu.Lock() // the faces are shared by every compositor
	defer noticeFacesMu.Unlock()
	big, small := max(w/16, 16), max(w/48, 10)
	faces := make([]font.Face, len(lines))
	width, height := 0, 0
	for i, l := range lines {
		faces[i] = noticeFaceLocked(small)
		if i == 0 {
			faces[i] = noticeFaceLocked(big)
		}
		adv := font.MeasureString(faces[i], l).Ceil()
		width = max(width, adv)
		height += faces[i].Metrics().Height.Ceil()
	}
	pad := big / 2
	card := image.NewRGBA(image.Rect(0, 0, min(width+2*pad, w), height+pad))
	draw.Draw(card, card.Bounds(), image.NewUniform(noticeBG), image.Point{}, draw.Src)
	y := pad / 2
	for i, l := range lines {
		m := faces[i].Metrics()
		y += m.Ascent.Ceil()
		d := font.Drawer{Dst: card, Src: image.NewUniform(noticeText), Face: faces[i]}
		d.Dot = fixed.P((card.Rect.Dx()-font.MeasureString(faces[i], l).Ceil())/2, y)
		d.DrawString(l)
		y += m.Descent.Ceil()
	}
	return card
}

// SetNotice shows lines (the first one large) over the top of the screen
// until the given time; no lines, or a time in the past, takes it away.
func (c *Compositor) SetNotice(lines []string, until time.Time) {
	var card *image.RGBA
	if len(lines) > 0 && time.Until(until) > 0 {
		card = renderNotice(lines, c.w)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noticeTimer != nil {
		c.noticeTimer.Stop()
		c.noticeTimer = nil
	}
	c.notice = card
	if card != nil {
		c.noticeTimer = time.AfterFunc(time.Until(until), func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.notice == card {
				c.notice = nil
				c.changeLocked(true)
			}
		})
	}
	c.changeLocked(true) // the tiles beneath it are drawn again
}

// drawNoticeLocked draws the notice, if any, over what was just drawn. It
// is small, so drawing it again with every new picture costs little.
func (c *Compositor) drawNoticeLocked() {
	if c.notice == nil {
		return
	}
	b := c.notice.Bounds()
	c.drawCardLocked(c.notice, image.Pt((c.w-b.Dx())/2, c.h/12), c.target.Bounds())
}

// drawCardLocked draws card (a notice or a tile's label) with its top
// left corner at at, clipped to clip.
func (c *Compositor) drawCardLocked(card *image.RGBA, at image.Point, clip image.Rectangle) {
	r := card.Bounds().Add(at).Intersect(clip).Intersect(c.target.Bounds())
	if r.Empty() {
		return
	}
	if c.bgrx {
		// The target's bytes are B,G,R,X: swap the card's as it is copied.
		for y := r.Min.Y; y < r.Max.Y; y++ {
			src := card.Pix[card.PixOffset(r.Min.X-at.X, y-at.Y):]
			dst := c.target.Pix[c.target.PixOffset(r.Min.X, y):]
			for x := 0; x < r.Dx(); x++ {
				s := src[x*4 : x*4+4]
				dst[x*4], dst[x*4+1], dst[x*4+2], dst[x*4+3] = s[2], s[1], s[0], 0xff
			}
		}
		return
	}
	draw.Draw(c.target, r, card, r.Min.Sub(at), draw.Src)
}

// SetLabel shows text in participant id's tile instead of their picture
// (for example "cannot decrypt" when their end-to-end encrypted video does
// not decrypt), so the tile says why it is empty; "" takes the label away.
// A participant not on screen yet gets a tile.
func (c *Compositor) SetLabel(id, text string) {
	var card *image.RGBA
	if text != "" {
		card = renderNotice([]string{text}, c.w/2)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.feeds[id]
	if !ok {
		if card == nil {
			return
		}
		f = &feed{name: id, order: c.nextOrderLocked()}
		c.feeds[id] = f
	}
	f.label, f.labelText = card, text
	c.changeLocked(true)
}

// Label returns the label participant id's tile shows, "" for none.
func (c *Compositor) Label(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.feeds[id]; f != nil {
		return f.labelText
	}
	return ""
}
