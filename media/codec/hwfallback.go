package codec

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/roomd/roomd/media/codec/v4l2m2m"
)

// RuntimeFallback is implemented by the encoder Select returns for a
// hardware encoder: it goes on with software when the hardware fails
// mid-call, and says why.
type RuntimeFallback interface {
	// FallbackReason is "" while the hardware encodes, else a sentence
	// for status, e.g. "hardware encoder /dev/video11 failed (...);
	// switched to openh264 software".
	FallbackReason() string
}

var (
	_ RuntimeFallback = (*hardwareH264)(nil)
	_ NALSizeLimiter  = (*hardwareH264)(nil)
)

// hardwareH264 runs a V4L2 M2M H.264 encoder and, when the device fails
// (an ioctl error, a corrupt or missing frame), closes it and encodes the
// same picture and the rest of the call with OpenH264 at the current
// bitrate, so the call keeps its video.
type hardwareH264 struct {
	bitrate atomic.Int64 // the latest SetBitRate, for the software encoder
	maxNAL  atomic.Int64 // pending SetMaxNALSize + 1; 0 when none
	active  atomic.Pointer[VideoEncoder]

	mu          sync.Mutex
	hw          *v4l2m2m.Encoder
	sw          VideoEncoder
	cfg         VideoConfig
	device      string // "/dev/video11 (bcm2835-codec-encode)"
	reason      string
	ps          paramSets
	closed      bool
	newSoftware func(VideoConfig) (VideoEncoder, error)
}

func newHardwareH264(hw *v4l2m2m.Encoder, cfg VideoConfig) *hardwareH264 {
	info := hw.Info()
	h := &hardwareH264{hw: hw, cfg: cfg, device: fmt.Sprintf("%s (%s)", info.Device, info.Card), newSoftware: NewH264}
	h.bitrate.Store(int64(cfg.withDefaults().BitRate))
	var enc VideoEncoder = hw
	h.active.Store(&enc)
	return h
}

// describe names the device and what its driver lacks, for Select's
// reason.
func (h *hardwareH264) describe() string {
	s := "on " + h.device
	if u := h.hw.Info().Unsupported; len(u) > 0 {
		s += "; its driver lacks " + strings.Join(u, ", ")
	}
	return s
}

func (h *hardwareH264) Encode(img image.Image) ([]byte, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false, ErrClosed
	}
	if n := h.maxNAL.Swap(0); n > 0 {
		h.cfg.MaxNALSize = int(n - 1)
		if h.sw == nil && h.cfg.MaxNALSize > 0 {
			if err := h.fallBack(img, fmt.Sprintf("the far end takes H.264 NAL units of at most %d bytes (packetization-mode 0), which the hardware encoder %s cannot slice", h.cfg.MaxNALSize, h.device)); err != nil {
				return nil, false, err
			}
		} else if l, ok := h.sw.(NALSizeLimiter); ok {
			l.SetMaxNALSize(h.cfg.MaxNALSize)
		}
	}
	if h.sw != nil {
		return h.sw.Encode(img)
	}
	frame, key, err := h.hw.Encode(img)
	switch {
	case err == nil:
		if len(frame) == 0 {
			return nil, false, nil
		}
		// Drivers that ignore REPEAT_SEQ_HEADER still send SPS/PPS with
		// every key frame this way.
		out, idr := h.ps.post(frame)
		return out, key || idr, nil
	case errors.Is(err, v4l2m2m.ErrClosed):
		return nil, false, ErrClosed
	}
	if err := h.fallBack(img, fmt.Sprintf("hardware encoder %s failed (%s)", h.device, strings.TrimPrefix(err.Error(), "v4l2m2m: "))); err != nil {
		return nil, false, err
	}
	return h.sw.Encode(img)
}

// fallBack closes the hardware encoder and starts OpenH264 at img's size.
func (h *hardwareH264) fallBack(img image.Image, why string) error {
	h.hw.Close() // a failed device may not drain; its error adds nothing
	cfg := h.cfg
	sz := img.Bounds().Size()
	cfg.Width, cfg.Height, cfg.BitRate = sz.X, sz.Y, int(h.bitrate.Load())
	sw, err := h.newSoftware(cfg)
	if err != nil {
		h.closed = true
		h.reason = why + "; openh264 did not start either: " + err.Error()
		return fmt.Errorf("codec: %s", h.reason)
	}
	h.sw, h.reason = sw, why+"; switched to openh264 software"
	h.active.Store(&sw)
	return nil
}

func (h *hardwareH264) ForceKeyFrame() { (*h.active.Load()).ForceKeyFrame() }

func (h *hardwareH264) SetBitRate(bps int) {
	if bps > 0 {
		h.bitrate.Store(int64(bps))
		(*h.active.Load()).SetBitRate(bps)
	}
}

// SetMaxNALSize: the hardware encoder cannot slice, so a limit switches
// to OpenH264 for the rest of the call (the next frame is a key frame).
func (h *hardwareH264) SetMaxNALSize(n int) { h.maxNAL.Store(int64(max(n, 0)) + 1) }

func (h *hardwareH264) FallbackReason() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reason
}

func (h *hardwareH264) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed && h.sw == nil {
		return nil
	}
	h.closed = true
	if h.sw != nil {
		sw := h.sw
		h.sw = nil
		return sw.Close()
	}
	return h.hw.Close()
}
