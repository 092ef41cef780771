package capture

import (
	"errors"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/media"
)

// fakeCamera is a pattern that fails after a number of frames, like a
// camera pulled out of its socket.
type fakeCamera struct {
	*Pattern
	mu       sync.Mutex
	left     int
	closed   bool
	closeErr error
}

func (c *fakeCamera) Read() (image.Image, func(), error) {
	c.mu.Lock()
	if c.left == 0 {
		c.mu.Unlock()
		return nil, nil, errors.New("VIDIOC_DQBUF: no such device")
	}
	c.left--
	c.mu.Unlock()
	return c.Pattern.Read()
}

func (c *fakeCamera) Info() Info {
	return Info{Kind: "camera", Device: "/dev/video0", Name: "Fake Cam", Width: 320, Height: 240, FPS: 30}
}

func (c *fakeCamera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.closeErr
}

// cameraSocket hands out fake cameras when plugged, errors when not.
type cameraSocket struct {
	mu      sync.Mutex
	plugged bool
	frames  int // frames each camera delivers before failing
	opened  []*fakeCamera
}

func (s *cameraSocket) open() (VideoSource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.plugged {
		return nil, errors.New("device: no /dev/video* device nodes")
	}
	p, _ := NewPattern(PatternOptions{Width: 320, Height: 240, Unpaced: true})
	c := &fakeCamera{Pattern: p, left: s.frames}
	s.opened = append(s.opened, c)
	return c, nil
}

func (s *cameraSocket) set(plugged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plugged = plugged
}

func (s *cameraSocket) opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.opened)
}

func isSlate(img image.Image, kind SlateKind) bool {
	b := img.Bounds()
	return samePixels(img.(*image.YCbCr), Slate(kind, b.Dx(), b.Dy()))
}

func TestReconnectingVideoSurvivesUnplug(t *testing.T) {
	clock := newFakeClock()
	socket := &cameraSocket{frames: 3}
	var changes []Info
	r := NewReconnectingVideo(socket.open, ReconnectOptions{
		Width: 320, Height: 240, FPS: 10, RetryEvery: time.Second, Clock: clock,
		OnChange: func(i Info) { changes = append(changes, i) },
	})
	defer r.Close()
	read := func() image.Image {
		t.Helper()
		img, release, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		release()
		return img
	}

	// No camera: placeholders at 10 fps, one open attempt a second.
	for range 25 {
		if img := read(); !isSlate(img, SlateUnavailable) {
			t.Fatal("no camera: frame is not the unavailable slate")
		}
	}
	if n := socket.opens(); n != 0 {
		t.Fatalf("opened %d cameras while unplugged", n)
	}
	if p := r.Info().Problem; !strings.Contains(p, "no /dev/video* device nodes") {
		t.Fatalf("unplugged: Info().Problem = %q, want the opener's error", p)
	}
	if got := clock.Slept(); got < 2300*time.Millisecond || got > 2500*time.Millisecond {
		t.Fatalf("25 placeholders at 10 fps took %v of clock", got)
	}

	// Plugged in: within a retry interval the camera's frames come through.
	socket.set(true)
	live := 0
	for range 15 {
		if _, err := ReadPatternCounter(read()); err == nil {
			live++
			break
		}
	}
	if live == 0 || socket.opens() != 1 {
		t.Fatalf("plugged in: no live frame within 15 frames (opens %d)", socket.opens())
	}
	if i := r.Info(); i.Problem != "" || i.Name != "Fake Cam" {
		t.Fatalf("live: Info = %+v", i)
	}
	read()
	read()

	// Pulled out mid-stream: the failed camera is closed, placeholders
	// follow at once, and it is retried a second later.
	socket.set(false)
	if img := read(); !isSlate(img, SlateUnavailable) {
		t.Fatal("after the camera failed: frame is not the unavailable slate")
	}
	if !socket.opened[0].closed {
		t.Fatal("the failed camera was not closed")
	}
	if p := r.Info(); !strings.Contains(p.Problem, "camera lost: VIDIOC_DQBUF: no such device") || p.Name != "Fake Cam" {
		t.Fatalf("lost: Info = %+v", p)
	}
	socket.set(true)
	socket.mu.Lock()
	socket.frames = 1000
	socket.mu.Unlock()
	for range 12 {
		read()
	}
	if socket.opens() != 2 || r.Info().Problem != "" {
		t.Fatalf("replugged: opens %d, Info %+v", socket.opens(), r.Info())
	}

	var states []string
	for _, c := range changes {
		states = append(states, c.Problem)
	}
	if len(changes) != 4 || changes[1].Problem != "" || changes[3].Problem != "" ||
		!strings.HasPrefix(changes[0].Problem, "camera unavailable") || !strings.HasPrefix(changes[2].Problem, "camera lost") {
		t.Fatalf("OnChange saw %q; want unavailable, live, lost, live", states)
	}

	r.Close()
	if !socket.opened[1].closed {
		t.Fatal("Close did not close the camera")
	}
	if _, _, err := r.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
}

func TestReconnectingVideoPrivacyTurnsTheCameraOff(t *testing.T) {
	clock := newFakeClock()
	socket := &cameraSocket{plugged: true, frames: 1000}
	var gate media.Gate
	r := NewReconnectingVideo(socket.open, ReconnectOptions{Width: 320, Height: 240, Privacy: &gate, Clock: clock})
	defer r.Close()
	img, _, _ := r.Read()
	if _, err := ReadPatternCounter(img); err != nil {
		t.Fatalf("privacy off: not a camera frame: %v", err)
	}
	gate.Set(true)
	for range 3 {
		img, _, _ := r.Read()
		if !isSlate(img, SlatePrivacy) {
			t.Fatal("privacy on: frame is not the privacy slate")
		}
	}
	if !socket.opened[0].closed {
		t.Fatal("privacy on: the camera is still open")
	}
	if p := r.Info().Problem; !strings.Contains(p, "privacy") {
		t.Fatalf("privacy on: Info().Problem = %q", p)
	}
	gate.Set(false)
	img, _, _ = r.Read()
	if _, err := ReadPatternCounter(img); err != nil || socket.opens() != 2 {
		t.Fatalf("privacy off again: want a frame from a reopened camera at once (opens %d, %v)", socket.opens(), err)
	}
}
