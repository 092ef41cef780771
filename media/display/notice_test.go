package display

import (
	"image"
	"image/color"
	"testing"
	"time"
)

// brightIn counts near-white pixels (the notice's text) in r of img.
func brightIn(img *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if c.R > 0xe0 && c.G > 0xe0 && c.B > 0xe0 {
				n++
			}
		}
	}
	return n
}

func TestNoticeOverTheScreenUntilItExpires(t *testing.T) {
	onBothTargets(t, func(c *Compositor, direct bool) {
		c.Update("a", solid(color.RGBA{0, 0, 200, 0xff}))
		top := image.Rect(0, 0, 640, 180)
		img, _ := c.Compose()
		if n := brightIn(img, top); n != 0 {
			t.Fatalf("direct=%v: %d white pixels before any notice", direct, n)
		}
		c.SetNotice([]string{"482913", "Pairing code for a tablet"}, time.Now().Add(300*time.Millisecond))
		img, _ = c.Compose()
		if n := brightIn(img, top); n < 200 {
			t.Fatalf("direct=%v: the notice drew only %d white pixels", direct, n)
		}
		// A new frame beneath it does not wipe it out.
		c.Update("a", solid(color.RGBA{0, 200, 0, 0xff}))
		img, _ = c.Compose()
		if n := brightIn(img, top); n < 200 {
			t.Fatalf("direct=%v: a new frame hid the notice (%d white pixels)", direct, n)
		}
		if got := img.RGBAAt(320, 340); got.G < 150 {
			t.Fatalf("direct=%v: below the notice the new frame is not shown: %v", direct, got)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			img, _ = c.Compose()
			if brightIn(img, top) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("direct=%v: the notice outlived its deadline", direct)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.SetNotice([]string{"123456"}, time.Now().Add(time.Hour))
		c.SetNotice(nil, time.Time{})
		if img, _ = c.Compose(); brightIn(img, top) != 0 {
			t.Fatalf("direct=%v: SetNotice(nil) left the notice on screen", direct)
		}
	})
}
