package capture

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// PatternOptions configures NewPattern.
type PatternOptions struct {
	// Width and Height of the frames; both even. 0 means 1280×720.
	Width, Height int
	// FPS is the frame rate; 0 means 30.
	FPS float64
	// Unpaced makes Read return frames as fast as they are asked for, for
	// tests and benchmarks; the counter and motion still advance one step
	// per frame.
	Unpaced bool
	// Clock stamps the frames' clock text and paces them; nil means the
	// system clock.
	Clock Clock
}

// The strip's sensor-like noise: ±noiseLevel, drawn from a table at one of
// noiseSpan offsets per frame.
const (
	noiseLevel = 10
	noiseSpan  = 8192
)

// patternDigits is how many digits of the frame counter are drawn; the
// counter wraps at 10^8 (five weeks at 30 fps).
const patternDigits = 8

// clockText is the format of the clock drawn on each frame.
const clockText = "15:04:05.000"

// Pattern is a deterministic moving test pattern: SMPTE-like colour bars
// with a box bouncing across them, a scrolling detail strip, and a text band
// with the frame number and the time the frame was made. Frame n depends
// only on n and the stamped time, so tests and far-end checks can predict
// it. It satisfies VideoSource.
type Pattern struct {
	opts   PatternOptions
	lay    patternLayout
	font   *font
	pace   *pacer
	clock  Clock
	closed atomic.Bool

	// bg holds the static picture (bars and text band) every frame starts
	// from; tex holds one period of the detail strip; noise is added to the
	// strip from a different place each frame, like sensor noise, so the
	// encoder cannot predict it from the previous frame.
	bg           *image.YCbCr
	tex          *image.YCbCr
	noise        []byte
	mu           sync.Mutex // serialises Read
	n            uint64
	free         chan *patternFrame
	periodX      int
	periodY      int
	stripSpeedPx int
}

// patternFrame is a recycled output buffer that remembers where its box was
// drawn, so reusing it only repaints the regions that change.
type patternFrame struct {
	img      *image.YCbCr
	painted  bool
	box      image.Rectangle
	released atomic.Bool
}

// patternLayout places the pattern's parts for a frame size; the reader
// computes the same layout to find the text.
type patternLayout struct {
	w, h, s          int
	barsH            int // rows [0, barsH): bars and the box
	stripY0, stripY1 int // rows [stripY0, stripY1): scrolling detail strip
	textX            int
	counterY, clockY int
	box              int // box side
}

func layoutFor(w, h int) (patternLayout, error) {
	s := max(1, min(h/120, w/100))
	even := func(v int) int { return v &^ 1 }
	l := patternLayout{w: w, h: h, s: s}
	l.barsH = even(h * 60 / 100)
	l.stripY0 = l.barsH
	l.stripY1 = even(h * 75 / 100)
	l.textX = 2 * s
	l.counterY = l.stripY1 + 2*s
	l.clockY = l.counterY + (cellH+1)*s
	l.box = max(2, even(l.barsH/3))
	needW := l.textX + len(clockText)*cellW*s
	if w%2 != 0 || h%2 != 0 {
		return l, fmt.Errorf("capture: pattern %dx%d: %w", w, h, errOddSize)
	}
	if w < needW || h < 48 || l.clockY+cellH*s > h {
		return l, fmt.Errorf("capture: pattern %dx%d is too small for its text; use at least 96x48", w, h)
	}
	return l, nil
}

// NewPattern makes a test pattern source. It precomputes the static parts
// so that a frame costs a few small copies.
func NewPattern(opts PatternOptions) (*Pattern, error) {
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = 1280, 720
	}
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	if !validFPS(opts.FPS) {
		return nil, fmt.Errorf("capture: pattern frame rate %g out of range (0, 240]", opts.FPS)
	}
	lay, err := layoutFor(opts.Width, opts.Height)
	if err != nil {
		return nil, err
	}
	p := &Pattern{
		opts:         opts,
		lay:          lay,
		font:         newFont(lay.s),
		pace:         newPacer(opts.Clock, frameInterval(opts.FPS), opts.Unpaced),
		clock:        clockOrSystem(opts.Clock),
		free:         make(chan *patternFrame, 4),
		periodX:      max(2, int(math.Round(2*opts.FPS))),
		periodY:      max(2, int(math.Round(3*opts.FPS))),
		stripSpeedPx: 2 * lay.s,
	}
	p.bg = p.drawBackground()
	p.tex = p.drawStrip()
	p.noise = make([]byte, lay.w*(lay.stripY1-lay.stripY0)+noiseSpan)
	for i := range p.noise {
		p.noise[i] = byte(int8(math.Round(noiseLevel * hashNoise(i, 7))))
	}
	return p, nil
}

// Info describes the pattern for status.
func (p *Pattern) Info() Info {
	return Info{Kind: "pattern", Name: "test pattern", Width: p.opts.Width, Height: p.opts.Height, FPS: p.opts.FPS}
}

// Close stops the pattern; Read then returns ErrClosed.
func (p *Pattern) Close() error {
	p.closed.Store(true)
	return nil
}

// Read returns the next frame, waiting for its time unless Unpaced. The
// frame is read-only; release hands its buffer back for reuse.
func (p *Pattern) Read() (image.Image, func(), error) {
	if p.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pace.wait()
	n := p.n
	p.n++
	f := p.get()
	p.render(f, n, p.clock.Now())
	return f.img, func() { p.put(f) }, nil
}

func (p *Pattern) get() *patternFrame {
	select {
	case f := <-p.free:
		f.released.Store(false)
		return f
	default:
		return &patternFrame{img: image.NewYCbCr(image.Rect(0, 0, p.lay.w, p.lay.h), image.YCbCrSubsampleRatio420)}
	}
}

func (p *Pattern) put(f *patternFrame) {
	if f.released.Swap(true) {
		return // released twice
	}
	select {
	case p.free <- f:
	default:
	}
}

// boxAt is where the box is in frame n: it bounces horizontally every
// 2 s and vertically every 3 s of frames.
func (p *Pattern) boxAt(n uint64) image.Rectangle {
	tri := func(n uint64, period int) float64 {
		ph := int(n % uint64(2*period))
		if ph > period {
			ph = 2*period - ph
		}
		return float64(ph) / float64(period)
	}
	l := p.lay
	x := int(tri(n, p.periodX)*float64(l.w-l.box)) &^ 1
	y := int(tri(n, p.periodY)*float64(l.barsH-l.box)) &^ 1
	return image.Rect(x, y, x+l.box, y+l.box)
}

func (p *Pattern) render(f *patternFrame, n uint64, now time.Time) {
	img, l := f.img, p.lay
	if !f.painted {
		copy(img.Y, p.bg.Y)
		copy(img.Cb, p.bg.Cb)
		copy(img.Cr, p.bg.Cr)
		f.painted = true
	} else {
		copyRect(img, p.bg, f.box)
	}

	// The box: white with a dark centre, so motion search has edges to find.
	box := p.boxAt(n)
	fillRect(img, box, 235, 128, 128)
	in := box.Inset(l.box / 4)
	in.Min.X, in.Min.Y = in.Min.X&^1, in.Min.Y&^1
	fillRect(img, in, 40, 128, 128)
	f.box = box

	// The detail strip scrolls left by stripSpeedPx a frame, with fresh
	// noise on top. The texture stays within [28, 223] so the byte
	// addition cannot wrap.
	off := int((n * uint64(p.stripSpeedPx)) % uint64(l.w))
	noise := p.noise[hashNoiseIndex(n):]
	for y := l.stripY0; y < l.stripY1; y++ {
		dst := img.Y[y*img.YStride : y*img.YStride+l.w]
		src := p.tex.Y[(y-l.stripY0)*p.tex.YStride:]
		nz := noise[(y-l.stripY0)*l.w:]
		addRow(dst[:l.w-off], src[off:l.w], nz)
		addRow(dst[l.w-off:], src[:off], nz[l.w-off:])
	}
	cw, coff := l.w/2, off/2
	for y := l.stripY0 / 2; y < l.stripY1/2; y++ {
		ty := y - l.stripY0/2
		for _, pl := range [2][2][]byte{{img.Cb, p.tex.Cb}, {img.Cr, p.tex.Cr}} {
			dst := pl[0][y*img.CStride : y*img.CStride+cw]
			src := pl[1][ty*p.tex.CStride:]
			k := copy(dst, src[coff:cw])
			copy(dst[k:], src[:coff])
		}
	}

	p.font.draw(img, l.textX, l.counterY, fmt.Sprintf("%0*d", patternDigits, n%1e8))
	p.font.draw(img, l.textX, l.clockY, now.Format(clockText))
}

// drawBackground paints the static parts: 75% colour bars over the top
// and a black text band at the bottom.
func (p *Pattern) drawBackground() *image.YCbCr {
	l := p.lay
	img := image.NewYCbCr(image.Rect(0, 0, l.w, l.h), image.YCbCrSubsampleRatio420)
	bars := []color.RGBA{
		{191, 191, 191, 255}, {191, 191, 0, 255}, {0, 191, 191, 255}, {0, 191, 0, 255},
		{191, 0, 191, 255}, {191, 0, 0, 255}, {0, 0, 191, 255},
	}
	for i, c := range bars {
		x0, x1 := (l.w*i/len(bars))&^1, (l.w*(i+1)/len(bars))&^1
		if i == len(bars)-1 {
			x1 = l.w
		}
		yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
		fillRect(img, image.Rect(x0, 0, x1, l.barsH), yy, cb, cr)
	}
	fillRect(img, image.Rect(0, l.stripY1, l.w, l.h), paperY, 128, 128)
	return img
}

// drawStrip computes one period of the scrolling strip: gratings at two
// frequencies with a deterministic fine texture, roughly what a camera's
// detail and noise cost an encoder.
func (p *Pattern) drawStrip() *image.YCbCr {
	l := p.lay
	h := l.stripY1 - l.stripY0
	img := image.NewYCbCr(image.Rect(0, 0, l.w, h), image.YCbCrSubsampleRatio420)
	k1, k2 := float64(max(1, l.w/12)), float64(max(1, l.w/40))
	for y := range h {
		for x := range l.w {
			fx := 2 * math.Pi * float64(x) / float64(l.w)
			v := 128 + 50*math.Sin(k1*fx+0.35*float64(y)) + 30*math.Sin(k2*fx-0.11*float64(y)) + 14*hashNoise(x, y)
			img.Y[y*img.YStride+x] = clampByte(v, 16+noiseLevel+2, 235-noiseLevel-2)
		}
	}
	cw := l.w / 2
	for y := range h / 2 {
		for x := range cw {
			fx := 2 * math.Pi * float64(x) / float64(cw)
			img.Cb[y*img.CStride+x] = clampByte(128+40*math.Sin(3*fx+0.2*float64(y)), 16, 240)
			img.Cr[y*img.CStride+x] = clampByte(128+40*math.Cos(5*fx-0.15*float64(y)), 16, 240)
		}
	}
	return img
}

// addRow sets dst[i] = src[i] + noise[i] (mod 256), eight bytes at a time:
// the low seven bits of each byte are added with the carries kept inside
// the byte, then the top bit is set from the inputs' top bits.
func addRow(dst, src, noise []byte) {
	const low7, high = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	n := len(dst)
	src, noise = src[:n], noise[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		a := binary.LittleEndian.Uint64(src[i:])
		b := binary.LittleEndian.Uint64(noise[i:])
		binary.LittleEndian.PutUint64(dst[i:], ((a&low7)+(b&low7))^((a^b)&high))
	}
	for ; i < n; i++ {
		dst[i] = src[i] + noise[i]
	}
}

// hashNoiseIndex picks frame n's offset into the noise table.
func hashNoiseIndex(n uint64) int {
	h := n * 0x9E3779B97F4A7C15
	return int((h >> 40) % noiseSpan)
}

// hashNoise is a deterministic value in [-1, 1] for a pixel.
func hashNoise(x, y int) float64 {
	h := uint32(x)*0x9E3779B1 ^ uint32(y)*0x85EBCA77
	h ^= h >> 15
	h *= 0x2C1B3C6D
	h ^= h >> 12
	return float64(h&0xFFFF)/32767.5 - 1
}

func clampByte(v, lo, hi float64) byte {
	return byte(math.Round(math.Max(lo, math.Min(hi, v))))
}

// fillRect paints r (even-aligned) in one colour.
func fillRect(img *image.YCbCr, r image.Rectangle, y, cb, cr byte) {
	r = r.Intersect(img.Rect)
	for row := r.Min.Y; row < r.Max.Y; row++ {
		fill(img.Y[row*img.YStride+r.Min.X:row*img.YStride+r.Max.X], y)
	}
	for row := r.Min.Y / 2; row < (r.Max.Y+1)/2; row++ {
		fill(img.Cb[row*img.CStride+r.Min.X/2:row*img.CStride+(r.Max.X+1)/2], cb)
		fill(img.Cr[row*img.CStride+r.Min.X/2:row*img.CStride+(r.Max.X+1)/2], cr)
	}
}

func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for i := 1; i < len(b); i *= 2 {
		copy(b[i:], b[:i])
	}
}

// copyRect copies r (even-aligned) from src to dst, same geometry.
func copyRect(dst, src *image.YCbCr, r image.Rectangle) {
	r = r.Intersect(dst.Rect)
	for row := r.Min.Y; row < r.Max.Y; row++ {
		o := row * dst.YStride
		copy(dst.Y[o+r.Min.X:o+r.Max.X], src.Y[o+r.Min.X:o+r.Max.X])
	}
	for row := r.Min.Y / 2; row < (r.Max.Y+1)/2; row++ {
		o := row * dst.CStride
		x0, x1 := o+r.Min.X/2, o+(r.Max.X+1)/2
		copy(dst.Cb[x0:x1], src.Cb[x0:x1])
		copy(dst.Cr[x0:x1], src.Cr[x0:x1])
	}
}

// ReadPatternCounter reads the frame number off a pattern frame, or off a
// decoded copy of one (codec noise is tolerated), so tests and far-end
// checks can prove which frame they are looking at. The image must have the
// pattern's size.
func ReadPatternCounter(img image.Image) (uint64, error) {
	l, err := layoutFor(img.Bounds().Dx(), img.Bounds().Dy())
	if err != nil {
		return 0, err
	}
	s, err := readText(img, l.textX, l.counterY, l.s, patternDigits, "0123456789")
	if err != nil {
		return 0, fmt.Errorf("capture: reading pattern counter: %w", err)
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		n = n*10 + uint64(s[i]-'0')
	}
	return n, nil
}

// ReadPatternClock reads the clock text ("15:04:05.000") off a pattern
// frame, e.g. to measure glass-to-glass latency on the far side.
func ReadPatternClock(img image.Image) (string, error) {
	l, err := layoutFor(img.Bounds().Dx(), img.Bounds().Dy())
	if err != nil {
		return "", err
	}
	s, err := readText(img, l.textX, l.clockY, l.s, len(clockText), "0123456789:.")
	if err != nil {
		return "", fmt.Errorf("capture: reading pattern clock: %w", err)
	}
	return s, nil
}
