package call

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/transport"
)

// Caps limit what the room sends, as the fleet configures them. Zero
// fields are no limit.
//
// Size and frame rate apply from the next frame of the next call and of the
// call under way: the encoder restarts at a new picture size with a key
// frame. The bitrate cap applies to the call under way at once, by lowering
// what congestion control gives the encoder, and to every later call.
type Caps struct {
	MaxWidth, MaxHeight int     // pixels
	MaxFPS              float64 // frames per second
	MaxBitrate          int     // bit/s of video
}

// ErrBadCaps says caps are out of range; nothing was changed.
var ErrBadCaps = errors.New("call: media caps out of range")

// Validate checks the ranges the encoders can honour.
func (c Caps) Validate() error {
	switch {
	case c.MaxWidth < 0 || c.MaxHeight < 0 || c.MaxFPS < 0 || c.MaxBitrate < 0:
		return fmt.Errorf("%w: caps must not be negative", ErrBadCaps)
	case c.MaxWidth != 0 && (c.MaxWidth < 160 || c.MaxWidth > 3840):
		return fmt.Errorf("%w: max width %d is not 160 to 3840", ErrBadCaps, c.MaxWidth)
	case c.MaxHeight != 0 && (c.MaxHeight < 90 || c.MaxHeight > 2160):
		return fmt.Errorf("%w: max height %d is not 90 to 2160", ErrBadCaps, c.MaxHeight)
	case c.MaxFPS != 0 && (c.MaxFPS < 1 || c.MaxFPS > 60):
		return fmt.Errorf("%w: max frame rate %g is not 1 to 60", ErrBadCaps, c.MaxFPS)
	case c.MaxBitrate != 0 && c.MaxBitrate < 100_000:
		return fmt.Errorf("%w: max bitrate %d bit/s is below 100 kbit/s", ErrBadCaps, c.MaxBitrate)
	}
	return nil
}

// caps is the engine's caps and the live bitrate sinks they clamp. Its zero
// value is no caps.
type caps struct {
	mu    sync.Mutex
	c     Caps
	sinks map[*cappedBitrate]struct{}
}

// SetCaps changes the caps. Invalid caps are refused with ErrBadCaps and
// the caps in force stay.
func (e *Engine) SetCaps(c Caps) error {
	if err := c.Validate(); err != nil {
		return err
	}
	e.caps.mu.Lock()
	e.caps.c = c
	sinks := make([]*cappedBitrate, 0, len(e.caps.sinks))
	for s := range e.caps.sinks {
		sinks = append(sinks, s)
	}
	e.caps.mu.Unlock()
	for _, s := range sinks {
		s.reapply()
	}
	e.log.Info("call: media caps", "max_width", c.MaxWidth, "max_height", c.MaxHeight, "max_fps", c.MaxFPS, "max_bitrate", c.MaxBitrate, "live_calls", len(sinks))
	return nil
}

// Caps returns the caps in force.
func (e *Engine) Caps() Caps {
	e.caps.mu.Lock()
	defer e.caps.mu.Unlock()
	return e.caps.c
}

// capBitrate clamps what congestion control gives sink to the bitrate cap,
// now and whenever the cap changes, until ctx ends.
func (e *Engine) capBitrate(ctx context.Context, sink transport.BitrateSink) transport.BitrateSink {
	s := &cappedBitrate{e: e, sink: sink}
	e.caps.mu.Lock()
	if e.caps.sinks == nil {
		e.caps.sinks = map[*cappedBitrate]struct{}{}
	}
	e.caps.sinks[s] = struct{}{}
	e.caps.mu.Unlock()
	context.AfterFunc(ctx, func() {
		e.caps.mu.Lock()
		delete(e.caps.sinks, s)
		e.caps.mu.Unlock()
	})
	return s
}

// cappedBitrate is a bitrate sink behind the cap.
type cappedBitrate struct {
	e    *Engine
	sink transport.BitrateSink

	mu      sync.Mutex
	wanted  int // what congestion control asked for last
	applied int
}

func (s *cappedBitrate) SetBitRate(bps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wanted = bps
	s.setLocked()
}

func (s *cappedBitrate) reapply() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wanted > 0 {
		s.setLocked()
	}
}

func (s *cappedBitrate) setLocked() {
	bps := s.wanted
	if c := s.e.Caps().MaxBitrate; c > 0 {
		bps = min(bps, c)
	}
	if bps != s.applied {
		s.applied = bps
		s.sink.SetBitRate(bps)
	}
}

// capVideo returns src behind the size and frame-rate caps, read at every
// frame so a change reaches a call under way.
func (e *Engine) capVideo(src capture.VideoSource) capture.VideoSource {
	return &cappedVideo{src: src, e: e}
}

type cappedVideo struct {
	src  capture.VideoSource
	e    *Engine
	last time.Time // when the last frame was passed on
	buf  *image.YCbCr
}

// Read passes frames on no faster than the frame-rate cap, scaled down to
// fit the size cap. A scaled frame is the caller's until its next Read.
func (v *cappedVideo) Read() (image.Image, func(), error) {
	for {
		img, release, err := v.src.Read()
		if err != nil {
			return img, release, err
		}
		c := v.e.Caps()
		if c.MaxFPS > 0 {
			now := time.Now()
			// A little slack so a source at exactly the cap is not halved
			// by timing jitter.
			if !v.last.IsZero() && now.Sub(v.last) < time.Duration(float64(time.Second)/c.MaxFPS*0.85) {
				release()
				continue
			}
			v.last = now
		}
		w, h, ok := fit(img.Bounds().Dx(), img.Bounds().Dy(), c)
		src, isYUV := img.(*image.YCbCr)
		if !ok || !isYUV || src.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			return img, release, nil
		}
		if v.buf == nil || v.buf.Rect.Dx() != w || v.buf.Rect.Dy() != h {
			v.buf = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		}
		downscale(v.buf, src)
		release()
		return v.buf, func() {}, nil
	}
}

// Info reports the source as sent: its size and frame rate after the caps.
func (v *cappedVideo) Info() capture.Info {
	i := v.src.Info()
	c := v.e.Caps()
	if w, h, ok := fit(i.Width, i.Height, c); ok {
		i.Width, i.Height = w, h
	}
	if c.MaxFPS > 0 && (i.FPS == 0 || i.FPS > c.MaxFPS) {
		i.FPS = c.MaxFPS
	}
	return i
}

func (v *cappedVideo) Close() error { return v.src.Close() }

// fit returns the largest even size within the caps with w×h's aspect
// ratio; ok is false when w×h already fits.
func fit(w, h int, c Caps) (int, int, bool) {
	if w <= 0 || h <= 0 {
		return w, h, false
	}
	scale := 1.0
	if c.MaxWidth > 0 && w > c.MaxWidth {
		scale = min(scale, float64(c.MaxWidth)/float64(w))
	}
	if c.MaxHeight > 0 && h > c.MaxHeight {
		scale = min(scale, float64(c.MaxHeight)/float64(h))
	}
	if scale == 1 {
		return w, h, false
	}
	nw, nh := int(float64(w)*scale)&^1, int(float64(h)*scale)&^1
	return max(nw, 2), max(nh, 2), true
}

// downscale samples src into dst (both 4:2:0), nearest neighbour: cheap on
// a Pi, and the encoder smooths what little aliasing is left at these
// ratios.
func downscale(dst, src *image.YCbCr) {
	sw, sh, dw, dh := src.Rect.Dx(), src.Rect.Dy(), dst.Rect.Dx(), dst.Rect.Dy()
	x0, y0 := src.Rect.Min.X, src.Rect.Min.Y
	for y := range dh {
		sy := y0 + y*sh/dh
		row := dst.Y[y*dst.YStride : y*dst.YStride+dw]
		for x := range row {
			row[x] = src.Y[src.YOffset(x0+x*sw/dw, sy)]
		}
	}
	for y := range (dh + 1) / 2 {
		sy := y0 + 2*y*sh/dh
		for x := range (dw + 1) / 2 {
			o := src.COffset(x0+2*x*sw/dw, sy)
			dst.Cb[y*dst.CStride+x], dst.Cr[y*dst.CStride+x] = src.Cb[o], src.Cr[o]
		}
	}
}
