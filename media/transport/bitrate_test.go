package transport

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBitrateSteps(t *testing.T) {
	cfg, err := ControllerConfig{}.withDefaults() // 150k..2.5M, audio 32k, 5 %, 500 ms
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 0)
	type step struct {
		at       time.Duration
		estimate int
		want     int // 0: no change
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"first estimate applies at once", []step{{0, 1_000_000, 968_000}}},
		{"clamped to the floor", []step{{0, 50_000, 118_000}}},
		{"clamped to the cap", []step{{0, 9_000_000, 2_468_000}}},
		{"small wobbles are ignored", []step{
			{0, 1_000_000, 968_000}, {time.Second, 1_030_000, 0}, {2 * time.Second, 980_000, 0},
		}},
		{"decreases apply at once", []step{
			{0, 1_000_000, 968_000}, {10 * time.Millisecond, 800_000, 768_000},
		}},
		{"increases wait for the hold", []step{
			{0, 1_000_000, 968_000}, {100 * time.Millisecond, 1_500_000, 0}, {600 * time.Millisecond, 1_500_000, 1_468_000},
		}},
		{"a decrease restarts the hold", []step{
			{0, 1_000_000, 968_000}, {time.Second, 500_000, 468_000},
			{1200 * time.Millisecond, 1_000_000, 0}, {1600 * time.Millisecond, 1_000_000, 968_000},
		}},
		{"the floor is reached even by a small step", []step{
			{0, 160_000, 128_000}, {10 * time.Millisecond, 151_000, 119_000}, {20 * time.Millisecond, 100_000, 118_000},
		}},
		{"the cap is reached even by a small step", []step{
			{0, 2_400_000, 2_368_000}, {time.Second, 2_600_000, 2_468_000},
		}},
		{"drift adds up until it counts", []step{
			{0, 1_000_000, 968_000}, {100 * time.Millisecond, 980_000, 0},
			{200 * time.Millisecond, 960_000, 0}, {300 * time.Millisecond, 940_000, 908_000},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newBitrateSteps(cfg)
			for i, st := range tc.steps {
				got, ok := s.next(st.estimate, t0.Add(st.at))
				if !ok {
					got = 0
				}
				if got != st.want {
					t.Errorf("step %d (estimate %d at %v): applied %d, want %d", i, st.estimate, st.at, got, st.want)
				}
			}
		})
	}
}

func TestControllerConfigRejectsNonsense(t *testing.T) {
	for _, cfg := range []ControllerConfig{
		{MinBitrate: 20_000},                           // floor below the audio share
		{MinBitrate: 3_000_000, MaxBitrate: 1_000_000}, // floor above cap
		{Hysteresis: 1.5},
		{AudioBitrate: -1},
	} {
		if _, err := NewController(fixedSource{}, BitrateFunc(func(int) {}), nil, cfg); !errors.Is(err, ErrBadBitrates) {
			t.Errorf("%+v: err %v, want ErrBadBitrates", cfg, err)
		}
	}
	if _, err := NewController(nil, BitrateFunc(func(int) {}), nil, ControllerConfig{}); err == nil {
		t.Error("a Controller without a source was accepted")
	}
}

type fixedSource struct{ bps int }

func (s fixedSource) TargetBitrate() int { return s.bps }

// notifyingSource is a BitrateSource that signals changes, like *Estimator.
type notifyingSource struct {
	bps     atomic.Int64
	changed chan struct{}
}

func newNotifyingSource(bps int) *notifyingSource {
	s := &notifyingSource{changed: make(chan struct{})}
	s.bps.Store(int64(bps))
	return s
}

func (s *notifyingSource) TargetBitrate() int       { return int(s.bps.Load()) }
func (s *notifyingSource) Changed() <-chan struct{} { return s.changed }

func (s *notifyingSource) set(bps int) {
	s.bps.Store(int64(bps))
	s.changed <- struct{}{}
}

// sourceFunc adapts a function to a BitrateSource.
type sourceFunc func() int

func (f sourceFunc) TargetBitrate() int { return f() }

// recordingSink remembers every bitrate it is given.
type recordingSink struct {
	mu  sync.Mutex
	got []int
}

func (r *recordingSink) SetBitRate(bps int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, bps)
}

func (r *recordingSink) values() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.got...)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestControllerFollowsSource: audio is set once, video follows the source
// as soon as it signals, and Run ends without error on cancellation.
func TestControllerFollowsSource(t *testing.T) {
	src := newNotifyingSource(1_000_000)
	var video, audio recordingSink
	// A long poll proves that the change signal, not the ticker, drives it.
	c, err := NewController(src, &video, &audio, ControllerConfig{Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()

	waitUntil(t, "first video bitrate", func() bool { return c.VideoBitrate() == 968_000 })
	src.set(400_000)
	waitUntil(t, "decrease", func() bool { return c.VideoBitrate() == 368_000 })
	if err := c.Run(ctx); err == nil {
		t.Error("a second concurrent Run was accepted")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if got := audio.values(); len(got) != 1 || got[0] != DefaultAudioBitrate {
		t.Errorf("audio sink got %v, want [%d]", got, DefaultAudioBitrate)
	}
	if got := video.values(); len(got) != 2 || got[1] != 368_000 || c.Changes() != 2 {
		t.Errorf("video sink got %v (%d changes), want [968000 368000]", got, c.Changes())
	}
}

// TestControllerPolls: a source without a change signal is polled.
func TestControllerPolls(t *testing.T) {
	var bps atomic.Int64
	bps.Store(600_000)
	src := sourceFunc(func() int { return int(bps.Load()) })
	var video recordingSink
	c, err := NewController(src, &video, nil, ControllerConfig{Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	waitUntil(t, "first value", func() bool { return c.VideoBitrate() == 568_000 })
	bps.Store(200_000)
	waitUntil(t, "polled decrease", func() bool { return c.VideoBitrate() == 168_000 })
}
