package display

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// A participant whose video cannot be shown (it does not decrypt) gets a
// tile that says so instead of a picture or a blank; clearing the label
// brings their picture back. Both drawing targets: canvas and framebuffer.
func TestLabelInsteadOfPicture(t *testing.T) {
	onBothTargets(t, func(c *Compositor, direct bool) {
		c.SetLayout(Grid)
		c.Update("a", solid(color.RGBA{0, 0, 200, 0xff}))
		c.SetLabel("b", "cannot decrypt") // b has sent no picture at all
		if got := c.Participants(); len(got) != 2 {
			t.Fatalf("direct=%v: participants %v, want a and b", direct, got)
		}
		img, _ := c.Compose()
		left, right := image.Rect(0, 0, 320, 360), image.Rect(320, 0, 640, 360)
		if n := brightIn(img, right); n < 100 {
			t.Fatalf("direct=%v: b's tile shows %d white pixels of its label", direct, n)
		}
		if n := brightIn(img, left); n != 0 {
			t.Fatalf("direct=%v: the label spilled into a's tile (%d white pixels)", direct, n)
		}
		if got := img.RGBAAt(160, 180); got.B < 150 {
			t.Fatalf("direct=%v: a's picture is not shown: %v", direct, got)
		}
		// A picture arriving for b does not replace the label.
		c.Update("b", solid(color.RGBA{0, 200, 0, 0xff}))
		img, _ = c.Compose()
		if n := brightIn(img, right); n < 100 || c.Label("b") != "cannot decrypt" {
			t.Fatalf("direct=%v: a frame hid the label (%d white pixels, label %q)", direct, n, c.Label("b"))
		}
		c.SetLabel("b", "")
		img, _ = c.Compose()
		if n := brightIn(img, right); n != 0 {
			t.Fatalf("direct=%v: the cleared label is still drawn (%d white pixels)", direct, n)
		}
		if got := img.RGBAAt(480, 180); got.G < 150 {
			t.Fatalf("direct=%v: b's picture is not back: %v", direct, got)
		}
		// Clearing the label of someone not on screen adds no tile.
		c.SetLabel("c", "")
		if got := c.Participants(); len(got) != 2 || c.Label("c") != "" {
			t.Fatalf("direct=%v: participants %v after clearing an unknown label", direct, got)
		}
	})
}

// onBothTargets runs test on a 640×360 compositor drawing into its canvas,
// then on one drawing straight into a framebuffer (B,G,R,X).
func onBothTargets(t *testing.T, test func(c *Compositor, direct bool)) {
	t.Helper()
	fb, err := CreateFramebufferFile(filepath.Join(t.TempDir(), "fb"), 640, 360)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	for _, direct := range []bool{false, true} {
		c := NewCompositor(640, 360)
		if direct && !c.DrawOn(fb) {
			t.Fatal("DrawOn refused the framebuffer")
		}
		test(c, direct)
	}
}

// Labels are set from every participant's receiving goroutine at once;
// the font faces they are drawn with are shared (run with -race).
func TestLabelsFromManyGoroutines(t *testing.T) {
	cs := []*Compositor{NewCompositor(320, 180), NewCompositor(320, 180)}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c := cs[i%2]
			c.SetLabel(fmt.Sprint(i), "cannot decrypt")
			c.SetNotice([]string{"482913"}, time.Now().Add(time.Minute))
		})
	}
	wg.Wait()
	for _, c := range cs {
		if n := len(c.Participants()); n != 4 {
			t.Fatalf("%d participants labelled, want 4", n)
		}
		c.SetNotice(nil, time.Time{})
	}
}
