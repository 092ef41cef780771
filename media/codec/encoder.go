package codec

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"

	mdcodec "github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// mdBuilder builds one of mediadevices' pull-style encoders reading from r.
type mdBuilder func(r video.Reader, p prop.Media, cfg VideoConfig) (mdcodec.ReadCloser, error)

// mdVideo adapts a mediadevices encoder, which pulls pictures from a
// video.Reader, to the push-style VideoEncoder: Encode hands the picture
// to a one-shot reader and pulls the encoder once.
type mdVideo struct {
	name  string
	build mdBuilder
	post  func([]byte) ([]byte, bool) // key-frame detection, parameter sets

	keyReq  atomic.Bool
	bitrate atomic.Int64 // pending target; 0 when applied

	mu     sync.Mutex // serialises Encode and Close
	cfg    VideoConfig
	rc     mdcodec.ReadCloser
	feed   oneShot
	closed bool
}

func newMDVideo(name string, cfg VideoConfig, build mdBuilder, post func([]byte) ([]byte, bool)) (*mdVideo, error) {
	cfg = cfg.withDefaults()
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		return nil, fmt.Errorf("codec: %s: size %dx%d must be positive and even", name, cfg.Width, cfg.Height)
	}
	e := &mdVideo{name: name, build: build, post: post, cfg: cfg}
	if err := e.start(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *mdVideo) start() error {
	p := prop.Media{Video: prop.Video{
		Width: e.cfg.Width, Height: e.cfg.Height,
		FrameRate: float32(e.cfg.FPS), FrameFormat: frame.FormatI420,
	}}
	rc, err := e.build(&e.feed, p, e.cfg)
	if err != nil {
		return fmt.Errorf("codec: starting %s at %dx%d: %w", e.name, e.cfg.Width, e.cfg.Height, err)
	}
	e.rc = rc
	return nil
}

func (e *mdVideo) Encode(img image.Image) ([]byte, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, ErrClosed
	}
	if sz := img.Bounds().Size(); sz.X != e.cfg.Width || sz.Y != e.cfg.Height {
		if sz.X <= 0 || sz.Y <= 0 || sz.X%2 != 0 || sz.Y%2 != 0 {
			return nil, false, fmt.Errorf("codec: %s: picture size %v must be positive and even", e.name, sz)
		}
		e.rc.Close()
		e.cfg.Width, e.cfg.Height = sz.X, sz.Y
		if err := e.start(); err != nil {
			e.closed = true
			return nil, false, err
		}
	}
	ctl := e.rc.Controller()
	if bps := e.bitrate.Swap(0); bps > 0 {
		e.cfg.BitRate = int(bps)
		if bc, ok := ctl.(mdcodec.BitRateController); ok {
			if err := bc.SetBitRate(int(bps)); err != nil {
				return nil, false, fmt.Errorf("codec: %s: setting bitrate: %w", e.name, err)
			}
		}
	}
	if e.keyReq.Swap(false) {
		if kc, ok := ctl.(mdcodec.KeyFrameController); ok {
			if err := kc.ForceKeyFrame(); err != nil {
				return nil, false, fmt.Errorf("codec: %s: forcing a key frame: %w", e.name, err)
			}
		}
	}
	e.feed.img = img
	data, release, err := e.rc.Read()
	e.feed.img = nil
	if err != nil {
		return nil, false, fmt.Errorf("codec: %s: %w", e.name, err)
	}
	if release != nil {
		release()
	}
	out, key := e.post(data)
	return out, key, nil
}

func (e *mdVideo) ForceKeyFrame() { e.keyReq.Store(true) }

func (e *mdVideo) SetBitRate(bps int) {
	if bps > 0 {
		e.bitrate.Store(int64(bps))
	}
}

func (e *mdVideo) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return e.rc.Close()
}

var errNothingQueued = errors.New("codec: encoder read with nothing queued")

// oneShot is the video.Reader a mediadevices encoder pulls from: it yields
// the picture Encode queued, once.
type oneShot struct{ img image.Image }

func (o *oneShot) Read() (image.Image, func(), error) {
	img := o.img
	if img == nil {
		return nil, func() {}, errNothingQueued
	}
	o.img = nil
	return img, func() {}, nil
}
