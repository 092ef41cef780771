package capture

import (
	"bytes"
	"errors"
	"image"
	"testing"
	"time"
)

// The replay delivers one access unit per frame interval, in order, loops
// back to the first (a key frame), and numbers them without gaps.
func TestAccessUnitReplayPaces(t *testing.T) {
	aus := [][]byte{{0, 0, 0, 1, 0x65, 1}, {0, 0, 0, 1, 0x41, 2}, {0, 0, 0, 1, 0x41, 3}}
	keys := []bool{true, false, false}
	clock := newFakeClock()
	r, err := NewAccessUnitReplay(aus, keys, ReplayOptions{Width: 320, Height: 180, FPS: 25, Clock: clock, Info: Info{Kind: "camera", Name: "H.264 camera (file)"}})
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	for i := range 10 {
		img, release, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		au := img.(*AccessUnit)
		release()
		if !bytes.Equal(au.Data, aus[i%3]) || au.Key != keys[i%3] || au.Seq != uint64(i) {
			t.Fatalf("read %d: %+v", i, au)
		}
		if au.Bounds() != image.Rect(0, 0, 320, 180) {
			t.Fatalf("bounds %v", au.Bounds())
		}
		// The i-th access unit is due i intervals after the first.
		if got, want := clock.Now().Sub(start), time.Duration(i)*40*time.Millisecond; got != want {
			t.Fatalf("read %d at %v, want %v", i, got, want)
		}
	}
	if i := r.Info(); i.Width != 320 || i.FPS != 25 || i.String() != "H.264 camera (file) 320x180@25" {
		t.Fatalf("Info = %+v (%s)", i, i)
	}
	r.Close()
	if _, _, err := r.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
}

func TestAccessUnitReplayRefuses(t *testing.T) {
	p := []byte{0, 0, 0, 1, 0x41}
	for _, c := range []struct {
		aus  [][]byte
		keys []bool
		o    ReplayOptions
	}{
		{nil, nil, ReplayOptions{Width: 2, Height: 2}},
		{[][]byte{p}, []bool{false}, ReplayOptions{Width: 2, Height: 2}},
		{[][]byte{p}, []bool{true}, ReplayOptions{}},
		{[][]byte{p}, []bool{true}, ReplayOptions{Width: 2, Height: 2, FPS: 1000}},
	} {
		if _, err := NewAccessUnitReplay(c.aus, c.keys, c.o); err == nil {
			t.Errorf("%v %v %+v accepted", c.aus, c.keys, c.o)
		}
	}
}
