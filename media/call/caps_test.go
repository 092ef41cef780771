package call

import (
	"context"
	"errors"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/room"
)

func newCapsEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := New(Config{Sources: Sources{
		Video: func() (capture.VideoSource, error) { return capture.NewPattern(capture.PatternOptions{}) },
		Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
	}}, func(room.Report) {})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCapsValidate(t *testing.T) {
	e := newCapsEngine(t)
	good := Caps{MaxWidth: 640, MaxHeight: 360, MaxFPS: 15, MaxBitrate: 800_000}
	if err := e.SetCaps(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Caps{{MaxWidth: -1}, {MaxWidth: 100}, {MaxHeight: 5000}, {MaxFPS: 0.5}, {MaxFPS: 120}, {MaxBitrate: 50_000}} {
		if err := e.SetCaps(bad); !errors.Is(err, ErrBadCaps) {
			t.Errorf("SetCaps(%+v) = %v, want ErrBadCaps", bad, err)
		}
	}
	if e.Caps() != good {
		t.Errorf("refused caps changed the caps in force: %+v", e.Caps())
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct {
		w, h   int
		caps   Caps
		ww, wh int
		scaled bool
	}{
		{1280, 720, Caps{}, 1280, 720, false},
		{1280, 720, Caps{MaxWidth: 1920}, 1280, 720, false},
		{1280, 720, Caps{MaxWidth: 640}, 640, 360, true},
		{1280, 720, Caps{MaxHeight: 360}, 640, 360, true},
		{1280, 720, Caps{MaxWidth: 640, MaxHeight: 180}, 320, 180, true},
		{1920, 1080, Caps{MaxWidth: 1000}, 1000, 562, true},
	} {
		w, h, ok := fit(c.w, c.h, c.caps)
		if w != c.ww || h != c.wh || ok != c.scaled {
			t.Errorf("fit(%dx%d, %+v) = %dx%d %v, want %dx%d %v", c.w, c.h, c.caps, w, h, ok, c.ww, c.wh, c.scaled)
		}
	}
}

// Size and frame-rate caps reach a running call's video from the next frame.
func TestCappedVideo(t *testing.T) {
	e := newCapsEngine(t)
	src, err := capture.NewPattern(capture.PatternOptions{Width: 1280, Height: 720, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	v := e.capVideo(src)
	defer v.Close()
	frames := func(d time.Duration) (n int, size image.Point) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); n++ {
			img, release, err := v.Read()
			if err != nil {
				t.Fatal(err)
			}
			size = img.Bounds().Size()
			release()
		}
		return n, size
	}
	n, size := frames(time.Second)
	if size != image.Pt(1280, 720) || n < 20 {
		t.Fatalf("uncapped: %d frames of %v in 1 s, want about 30 of 1280x720", n, size)
	}
	if err := e.SetCaps(Caps{MaxWidth: 640, MaxFPS: 10}); err != nil {
		t.Fatal(err)
	}
	n, size = frames(time.Second)
	if size != image.Pt(640, 360) || n > 12 || n < 5 {
		t.Fatalf("capped at 640 wide, 10 fps: %d frames of %v in 1 s", n, size)
	}
	if i := v.Info(); i.Width != 640 || i.Height != 360 || i.FPS != 10 {
		t.Errorf("Info under caps: %+v", i)
	}
	if err := e.SetCaps(Caps{}); err != nil {
		t.Fatal(err)
	}
	if _, size = frames(200 * time.Millisecond); size != image.Pt(1280, 720) {
		t.Errorf("caps lifted, frames still %v", size)
	}
}

type bitrateLog struct {
	mu  sync.Mutex
	set []int
}

func (b *bitrateLog) SetBitRate(bps int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.set = append(b.set, bps)
}

func (b *bitrateLog) last() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.set) == 0 {
		return 0
	}
	return b.set[len(b.set)-1]
}

// The bitrate cap clamps congestion control's budget in a call under way
// at once, and lets it go when lifted; a finished call is not touched.
func TestCappedBitrate(t *testing.T) {
	e := newCapsEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	enc := &bitrateLog{}
	sink := e.capBitrate(ctx, enc)
	sink.SetBitRate(2_000_000)
	if enc.last() != 2_000_000 {
		t.Fatalf("uncapped: %d", enc.last())
	}
	if err := e.SetCaps(Caps{MaxBitrate: 800_000}); err != nil {
		t.Fatal(err)
	}
	if enc.last() != 800_000 {
		t.Fatalf("live cap not applied: %d", enc.last())
	}
	sink.SetBitRate(3_000_000)
	if enc.last() != 800_000 {
		t.Errorf("estimate above the cap reached the encoder: %d", enc.last())
	}
	sink.SetBitRate(500_000)
	if enc.last() != 500_000 {
		t.Errorf("estimate below the cap: %d", enc.last())
	}
	sink.SetBitRate(3_000_000)
	if err := e.SetCaps(Caps{}); err != nil {
		t.Fatal(err)
	}
	if enc.last() != 3_000_000 {
		t.Errorf("cap lifted, encoder at %d, want the estimate 3000000", enc.last())
	}
	cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		e.caps.mu.Lock()
		n := len(e.caps.sinks)
		e.caps.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the finished call's sink is still registered")
		}
	}
	before := enc.last()
	if err := e.SetCaps(Caps{MaxBitrate: 200_000}); err != nil {
		t.Fatal(err)
	}
	if enc.last() != before {
		t.Errorf("a finished call's encoder was set to %d", enc.last())
	}
}
