package capture

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"
	"time"
)

func clonePlanes(img image.Image) *image.YCbCr {
	src := img.(*image.YCbCr)
	dst := *src
	dst.Y = bytes.Clone(src.Y)
	dst.Cb = bytes.Clone(src.Cb)
	dst.Cr = bytes.Clone(src.Cr)
	return &dst
}

func samePixels(a, b *image.YCbCr) bool {
	return bytes.Equal(a.Y, b.Y) && bytes.Equal(a.Cb, b.Cb) && bytes.Equal(a.Cr, b.Cr)
}

func TestPatternFramesMoveAndCarryTheirNumber(t *testing.T) {
	clock := newFakeClock()
	p, err := NewPattern(PatternOptions{Width: 320, Height: 240, Unpaced: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var prev *image.YCbCr
	for n := range uint64(75) {
		img, release, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		yc := img.(*image.YCbCr)
		if yc.SubsampleRatio != image.YCbCrSubsampleRatio420 || yc.Rect != image.Rect(0, 0, 320, 240) {
			t.Fatalf("frame %d is %v %v, want 4:2:0 320x240", n, yc.SubsampleRatio, yc.Rect)
		}
		got, err := ReadPatternCounter(img)
		if err != nil || got != n {
			t.Fatalf("frame %d: counter reads %d, %v", n, got, err)
		}
		if prev != nil {
			if samePixels(prev, yc) {
				t.Fatalf("frame %d is identical to frame %d", n, n-1)
			}
			// The box moves: the bars region differs, not only the text.
			l := p.lay
			if bytes.Equal(prev.Y[:l.barsH*prev.YStride], yc.Y[:l.barsH*yc.YStride]) {
				t.Fatalf("frame %d: the box did not move", n)
			}
		}
		prev = clonePlanes(img)
		release()
	}
}

// Frames made in recycled buffers (only changed regions repainted) must be
// identical to frames made in fresh ones.
func TestPatternRecyclingRepaintsEverything(t *testing.T) {
	opts := PatternOptions{Width: 320, Height: 180, FPS: 10, Unpaced: true}
	opts.Clock = newFakeClock()
	recycled, _ := NewPattern(opts)
	opts.Clock = newFakeClock()
	fresh, _ := NewPattern(opts)
	for n := range 50 {
		a, releaseA, err := recycled.Read()
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := fresh.Read() // never released: always a new buffer
		if err != nil {
			t.Fatal(err)
		}
		if !samePixels(a.(*image.YCbCr), b.(*image.YCbCr)) {
			t.Fatalf("frame %d differs between a recycled and a fresh buffer", n)
		}
		releaseA()
	}
}

func TestPatternClockText(t *testing.T) {
	clock := newFakeClock()
	p, _ := NewPattern(PatternOptions{Width: 640, Height: 360, Unpaced: true, Clock: clock})
	img, _, _ := p.Read()
	got, err := ReadPatternClock(img)
	if err != nil || got != "12:34:56.789" {
		t.Fatalf("clock reads %q, %v; want 12:34:56.789", got, err)
	}
	clock.Advance(time.Hour + 1234*time.Millisecond)
	img, _, _ = p.Read()
	if got, err := ReadPatternClock(img); err != nil || got != "13:34:58.023" {
		t.Fatalf("clock reads %q, %v; want 13:34:58.023", got, err)
	}
}

func TestPatternPacing(t *testing.T) {
	clock := newFakeClock()
	p, _ := NewPattern(PatternOptions{Width: 160, Height: 120, FPS: 25, Clock: clock})
	for range 10 {
		if _, _, err := p.Read(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := clock.Slept(), 9*40*time.Millisecond; got != want {
		t.Fatalf("10 frames at 25 fps slept %v, want %v", got, want)
	}
	// A consumer that falls behind gets the next frame at once, and the
	// schedule restarts from there rather than bursting.
	clock.Advance(time.Second)
	before := clock.Slept()
	p.Read()
	p.Read()
	if got := clock.Slept() - before; got != 40*time.Millisecond {
		t.Fatalf("after a stall: slept %v for two frames, want 40ms", got)
	}
}

func TestPatternRealTime(t *testing.T) {
	p, _ := NewPattern(PatternOptions{Width: 160, Height: 120, FPS: 100})
	start := time.Now()
	for range 11 {
		p.Read()
	}
	if d := time.Since(start); d < 95*time.Millisecond || d > 2*time.Second {
		t.Fatalf("11 frames at 100 fps took %v, want about 100ms", d)
	}
}

func TestPatternOptionsAreChecked(t *testing.T) {
	for _, o := range []PatternOptions{
		{Width: 321, Height: 240},
		{Width: 64, Height: 32},
		{Width: 320, Height: 240, FPS: -1},
	} {
		if _, err := NewPattern(o); err == nil || !strings.HasPrefix(err.Error(), "capture: ") {
			t.Errorf("NewPattern(%+v) = %v, want a capture: error", o, err)
		}
	}
	p, err := NewPattern(PatternOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if i := p.Info(); i.Width != 1280 || i.Height != 720 || i.FPS != 30 || i.Kind != "pattern" {
		t.Fatalf("default pattern Info = %+v", i)
	}
}

func TestPatternClose(t *testing.T) {
	p, _ := NewPattern(PatternOptions{Width: 160, Height: 120, Unpaced: true})
	p.Close()
	if _, _, err := p.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}
}

func TestReadPatternCounterRejectsOtherPictures(t *testing.T) {
	grey := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	for i := range grey.Y {
		grey.Y[i] = 128
	}
	if n, err := ReadPatternCounter(grey); err == nil {
		t.Fatalf("a grey picture reads as counter %d", n)
	}
	if _, err := ReadPatternCounter(Slate(SlatePrivacy, 320, 240)); err == nil {
		t.Fatal("a privacy slate reads as a pattern frame")
	}
}

// The digits must stay distinguishable after lossy coding: every pair
// differs in several font pixels.
func TestDigitGlyphsAreFarApart(t *testing.T) {
	const digits = "0123456789"
	for i := range len(digits) {
		a, _ := glyphBits(digits[i])
		for j := i + 1; j < len(digits); j++ {
			b, _ := glyphBits(digits[j])
			d := 0
			for k := range a {
				if a[k] != b[k] {
					d++
				}
			}
			if d < 3 {
				t.Errorf("glyphs %c and %c differ in only %d pixels", digits[i], digits[j], d)
			}
		}
	}
	for c, rows := range glyphs {
		for _, r := range rows {
			if len(r) != glyphW {
				t.Errorf("glyph %q row %q is not %d wide", c, r, glyphW)
			}
		}
	}
}

func BenchmarkPattern720p(b *testing.B) {
	p, err := NewPattern(PatternOptions{Width: 1280, Height: 720, Unpaced: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, release, err := p.Read()
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

func TestAddRowMatchesByteAddition(t *testing.T) {
	src, noise := make([]byte, 67), make([]byte, 67)
	for i := range src {
		src[i], noise[i] = byte(i*37+11), byte(i*91+200)
	}
	got := make([]byte, 67)
	addRow(got, src, noise)
	for i := range got {
		if want := src[i] + noise[i]; got[i] != want {
			t.Fatalf("byte %d: %d + %d = %d, want %d", i, src[i], noise[i], got[i], want)
		}
	}
}

func TestInfoString(t *testing.T) {
	for _, c := range []struct {
		info Info
		want string
	}{
		{Info{Kind: "camera", Device: "/dev/video0", Name: "HD Pro Webcam C920", Width: 1280, Height: 720, FPS: 30, Format: "YUYV"},
			"camera /dev/video0 (HD Pro Webcam C920) 1280x720@30 YUYV"},
		{Info{Kind: "microphone", Device: "hw:1,0", Name: "USB PnP", SampleRate: 48000, Channels: 1},
			"microphone hw:1,0 (USB PnP) 48000 Hz mono"},
		{Info{Kind: "tone", Name: "1000 Hz tone", SampleRate: 48000, Channels: 1}, "1000 Hz tone 48000 Hz mono"},
		{Info{Kind: "camera", Width: 1280, Height: 720, FPS: 30, Problem: "camera unavailable: device: no camera"},
			"camera 1280x720@30: camera unavailable: device: no camera"},
	} {
		if got := c.info.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.info, got, c.want)
		}
	}
}
