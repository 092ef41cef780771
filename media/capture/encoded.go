package capture

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"
	"sync/atomic"
)

// AccessUnit is one picture a camera delivered already encoded: an H.264
// access unit in Annex B. It is an image.Image only so that it travels the
// sender's wrappers (privacy gate, caps) to the encoder unchanged; its
// pixels are unknown and At is black. Only an encoder that passes the
// camera's stream through (media/passthrough) can use it: a source yields
// AccessUnits only after being switched to do so.
type AccessUnit struct {
	// Data is the access unit, Annex B, as the camera delivered it.
	Data []byte
	// Key says it holds an IDR picture.
	Key bool
	// Seq counts the camera's access units; a gap means pictures were
	// dropped on the way (a frame-rate cap), so the next one may refer to
	// a picture the far end never got.
	Seq uint64
	// Width and Height of the picture.
	Width, Height int
}

// Bounds is the picture's size.
func (a *AccessUnit) Bounds() image.Rectangle { return image.Rect(0, 0, a.Width, a.Height) }

// ColorModel is YCbCr.
func (a *AccessUnit) ColorModel() color.Model { return color.YCbCrModel }

// At is black: the pixels are inside the encoded picture.
func (a *AccessUnit) At(x, y int) color.Color { return color.YCbCr{Y: 16, Cb: 128, Cr: 128} }

// ReplayOptions configures NewAccessUnitReplay.
type ReplayOptions struct {
	// Width and Height of the pictures.
	Width, Height int
	// FPS is the frame rate; 0 means 30.
	FPS float64
	// Clock paces the access units; nil means the system clock.
	Clock Clock
	// Info describes the source for status (Kind, Name, Device, Format);
	// Width, Height and FPS are filled in.
	Info Info
}

// AccessUnitReplay is a camera that encodes, played from recorded access
// units (see NewAccessUnitReplay). It satisfies VideoSource; Read yields
// *AccessUnit.
type AccessUnitReplay struct {
	aus    [][]byte
	keys   []bool
	opts   ReplayOptions
	pace   *pacer
	mu     sync.Mutex // serialises Read
	n      uint64
	closed atomic.Bool
}

// NewAccessUnitReplay plays aus (Annex B access units, the first a key
// frame; keys says which are) one per frame interval, over and over, the
// way an H.264 camera delivers them. A new round starts at a key frame, so
// the stream stays decodable across the loop.
func NewAccessUnitReplay(aus [][]byte, keys []bool, opts ReplayOptions) (*AccessUnitReplay, error) {
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	switch {
	case len(aus) == 0 || len(aus) != len(keys):
		return nil, errors.New("capture: replay needs access units and a key flag for each")
	case !keys[0]:
		return nil, errors.New("capture: replay must start with a key frame")
	case !validFPS(opts.FPS):
		return nil, fmt.Errorf("capture: replay frame rate %g out of range (0, 240]", opts.FPS)
	case opts.Width <= 0 || opts.Height <= 0:
		return nil, fmt.Errorf("capture: replay size %dx%d", opts.Width, opts.Height)
	}
	opts.Info.Width, opts.Info.Height, opts.Info.FPS = opts.Width, opts.Height, opts.FPS
	return &AccessUnitReplay{aus: aus, keys: keys, opts: opts, pace: newPacer(opts.Clock, frameInterval(opts.FPS), false)}, nil
}

// Read waits for the next access unit's time and returns it. The
// AccessUnit's Data is shared: do not modify it.
func (r *AccessUnitReplay) Read() (image.Image, func(), error) {
	if r.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pace.wait()
	i := int(r.n % uint64(len(r.aus)))
	au := &AccessUnit{Data: r.aus[i], Key: r.keys[i], Seq: r.n, Width: r.opts.Width, Height: r.opts.Height}
	r.n++
	return au, func() {}, nil
}

// Info describes the source for status.
func (r *AccessUnitReplay) Info() Info { return r.opts.Info }

// Close stops the replay; Read then returns ErrClosed.
func (r *AccessUnitReplay) Close() error {
	r.closed.Store(true)
	return nil
}
