package transport

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// BitrateSink is what an encoder offers for rate control.
type BitrateSink interface {
	SetBitRate(bps int)
}

// BitrateFunc adapts a function to a BitrateSink, for example an encoder
// whose SetBitRate also returns an error.
type BitrateFunc func(bps int)

// SetBitRate calls f(bps).
func (f BitrateFunc) SetBitRate(bps int) { f(bps) }

// BitrateSource gives the current send budget in bit/s; *Estimator is one.
// A source that also has Changed() <-chan struct{} wakes the Controller as
// soon as the value changes instead of at the next poll.
type BitrateSource interface {
	TargetBitrate() int
}

// DefaultAudioBitrate is the share of the budget kept for Opus, in bit/s.
const DefaultAudioBitrate = 32_000

// ControllerConfig tunes a Controller; zero fields take their defaults.
type ControllerConfig struct {
	// MinBitrate and MaxBitrate clamp the whole budget (audio included),
	// in bit/s. Defaults: DefaultMinBitrate and DefaultMaxBitrate.
	MinBitrate, MaxBitrate int
	// AudioBitrate is set once on the audio sink and taken off the budget
	// before the video share is computed. Default DefaultAudioBitrate.
	AudioBitrate int
	// Hysteresis is the relative change of the video share that is worth
	// reconfiguring the encoder for. Default 0.05 (5 %).
	Hysteresis float64
	// IncreaseHold is the least time between a change and the next
	// increase; decreases are never held back. Default 500 ms.
	IncreaseHold time.Duration
	// Poll is how often the source is read when it does not signal
	// changes, and a safety net when it does. Default 250 ms.
	Poll time.Duration
	// Logger receives one debug line per change. Default: discard.
	Logger *slog.Logger
}

func (c ControllerConfig) withDefaults() (ControllerConfig, error) {
	if c.MinBitrate == 0 {
		c.MinBitrate = DefaultMinBitrate
	}
	if c.MaxBitrate == 0 {
		c.MaxBitrate = max(DefaultMaxBitrate, c.MinBitrate)
	}
	if c.AudioBitrate == 0 {
		c.AudioBitrate = DefaultAudioBitrate
	}
	if c.Hysteresis == 0 {
		c.Hysteresis = 0.05
	}
	if c.IncreaseHold == 0 {
		c.IncreaseHold = 500 * time.Millisecond
	}
	if c.Poll == 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.AudioBitrate < 0 || c.Hysteresis < 0 || c.Hysteresis >= 1 || c.IncreaseHold < 0 || c.Poll < 0:
		return c, fmt.Errorf("%w: audio %d bit/s, hysteresis %v, hold %v and poll %v must not be negative (hysteresis below 1)",
			ErrBadBitrates, c.AudioBitrate, c.Hysteresis, c.IncreaseHold, c.Poll)
	case c.MinBitrate <= c.AudioBitrate || c.MinBitrate > c.MaxBitrate:
		return c, fmt.Errorf("%w: floor %d bit/s must exceed the audio share %d and not exceed the cap %d",
			ErrBadBitrates, c.MinBitrate, c.AudioBitrate, c.MaxBitrate)
	}
	return c, nil
}

// Controller drives an encoder's bitrate from a congestion controller's
// estimate. Run it for as long as the encoder sends on the PeerConnection.
type Controller struct {
	src   BitrateSource
	video BitrateSink
	audio BitrateSink
	cfg   ControllerConfig

	running atomic.Bool
	applied atomic.Int64
	changes atomic.Int64
}

// NewController makes a Controller that feeds video with the budget from src
// less cfg.AudioBitrate; audio, if not nil, is set to cfg.AudioBitrate once.
func NewController(src BitrateSource, video, audio BitrateSink, cfg ControllerConfig) (*Controller, error) {
	if src == nil || video == nil {
		return nil, fmt.Errorf("transport: a Controller needs a bitrate source and a video sink")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Controller{src: src, video: video, audio: audio, cfg: cfg}, nil
}

// VideoBitrate returns the last bitrate given to the video sink, 0 before
// the first.
func (c *Controller) VideoBitrate() int { return int(c.applied.Load()) }

// Changes returns how many times the video sink has been set.
func (c *Controller) Changes() int { return int(c.changes.Load()) }

// Run sets the sinks until ctx is done; cancellation is not an error.
// Run must not be called twice at once.
func (c *Controller) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("transport: Controller is already running")
	}
	defer c.running.Store(false)

	if c.audio != nil {
		c.audio.SetBitRate(c.cfg.AudioBitrate)
	}
	var changed <-chan struct{}
	if n, ok := c.src.(interface{ Changed() <-chan struct{} }); ok {
		changed = n.Changed()
	}
	tick := time.NewTicker(c.cfg.Poll)
	defer tick.Stop()

	s := newBitrateSteps(c.cfg)
	for {
		if bps, ok := s.next(c.src.TargetBitrate(), time.Now()); ok {
			c.video.SetBitRate(bps)
			c.applied.Store(int64(bps))
			c.changes.Add(1)
			c.cfg.Logger.Debug("video bitrate", "bps", bps, "estimate", s.lastEstimate)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

// bitrateSteps decides, from successive estimates, when the video share has
// moved far enough to reconfigure the encoder.
type bitrateSteps struct {
	floor, ceiling int // of the video share
	audio          int
	hysteresis     float64
	hold           time.Duration

	applied      int // 0: nothing applied yet
	lastChange   time.Time
	lastEstimate int
}

func newBitrateSteps(cfg ControllerConfig) *bitrateSteps {
	return &bitrateSteps{
		floor:      cfg.MinBitrate - cfg.AudioBitrate,
		ceiling:    cfg.MaxBitrate - cfg.AudioBitrate,
		audio:      cfg.AudioBitrate,
		hysteresis: cfg.Hysteresis,
		hold:       cfg.IncreaseHold,
	}
}

// next returns the video bitrate to apply for estimate at now, and whether
// to apply it at all.
func (s *bitrateSteps) next(estimate int, now time.Time) (int, bool) {
	s.lastEstimate = estimate
	video := min(max(estimate-s.audio, s.floor), s.ceiling)
	switch {
	case s.applied == 0:
	case video == s.applied:
		return 0, false
	case video < s.applied:
		// Congestion: follow at once, unless it is noise. Reaching the
		// floor always counts, or a small last step would be lost.
		if float64(s.applied-video) < s.hysteresis*float64(s.applied) && video != s.floor {
			return 0, false
		}
	default:
		if now.Sub(s.lastChange) < s.hold {
			return 0, false
		}
		if float64(video-s.applied) < s.hysteresis*float64(s.applied) && video != s.ceiling {
			return 0, false
		}
	}
	s.applied, s.lastChange = video, now
	return video, true
}
