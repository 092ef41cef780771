package benchmedia

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/browsertest"
)

// startChromium starts one headless Chromium (browsertest's flags, the Y4M
// as its camera) and returns it with the PID of its main process.
func startChromium(h *harness, y4m string) (*browsertest.Browser, int, error) {
	before, err := childrenNamed(os.Getpid(), "chromium")
	if err != nil {
		return nil, 0, err
	}
	var b *browsertest.Browser
	if err := h.run(func() error {
		b = browsertest.Start(h, browsertest.Options{FakeVideo: y4m})
		return nil
	}); err != nil {
		return nil, 0, err
	}
	pid, err := newChild(before, "chromium")
	if err != nil {
		return nil, 0, err
	}
	return b, pid, nil
}

// feedOf picks display's live feed from what a browser receives.
func feedOf(fs []browsertest.Feed, display string) (browsertest.Feed, bool) {
	for _, f := range fs {
		if f.Display == display && !f.Gone {
			return f, true
		}
	}
	return browsertest.Feed{}, false
}

// browserSubject is headless Chromium as the participant under measurement,
// the browser-kiosk way of joining a meeting.
type browserSubject struct {
	b    *browsertest.Browser
	proc int
	room browsertest.Join
	peer string
}

func (s *browserSubject) name() string    { return "Chromium" }
func (s *browserSubject) display() string { return s.room.Display }
func (s *browserSubject) pid() int        { return s.proc }

// open loads the participant page without joining, outside the timed
// join.
func (s *browserSubject) open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.b.Open(ctx, s.room); err != nil {
		return fmt.Errorf("benchmedia: browser: %w", err)
	}
	return nil
}

// join calls the loaded page's join and returns once it has joined and
// published; the first remote frame comes after.
func (s *browserSubject) join(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return s.b.JoinOpened(ctx)
}

func (s *browserSubject) framesDecoded(context.Context) (uint64, error) {
	fs, err := s.b.Feeds()
	if err != nil {
		return 0, fmt.Errorf("benchmedia: browser stats: %w", err)
	}
	f, _ := feedOf(fs, s.peer)
	return uint64(f.FramesDecoded), nil
}

func (s *browserSubject) leave(ctx context.Context) error {
	if err := s.b.Leave(); err != nil {
		return fmt.Errorf("benchmedia: browser leave: %w", err)
	}
	// A page joins once: load it again for the next join.
	return s.open(ctx)
}

func (s *browserSubject) counters(context.Context) (counters, error) {
	fs, err := s.b.Feeds()
	if err != nil {
		return counters{}, fmt.Errorf("benchmedia: browser stats: %w", err)
	}
	out, err := s.b.Outbound()
	if err != nil {
		return counters{}, fmt.Errorf("benchmedia: browser stats: %w", err)
	}
	f, _ := feedOf(fs, s.peer)
	enc := strings.TrimPrefix(out.Codec, "video/") + " (" + out.Encoder
	if out.QualityLimitation != "" && out.QualityLimitation != "none" {
		enc += ", limited by " + out.QualityLimitation
	}
	enc += ")"
	return counters{
		at:         time.Now(),
		sentFrames: uint64(out.FramesSent),
		sentSize:   Size{out.FrameWidth, out.FrameHeight},
		recvFrames: uint64(f.FramesDecoded),
		recvSize:   Size{f.FrameWidth, f.FrameHeight},
		encoder:    enc,
	}, nil
}
