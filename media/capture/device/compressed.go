package device

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/codec/mjpeg"
	"github.com/roomd/roomd/media/passthrough"
)

// compressedCamera captures a camera's compressed frames through package
// v4l2's streaming ioctls, which mediadevices cannot do well: it has no
// H.264 and decodes MJPEG in pure Go. H.264 access units come out as
// *capture.AccessUnit (for media/passthrough), MJPEG pictures decoded by
// libjpeg-turbo (media/codec/mjpeg).
type compressedCamera struct {
	dev  *v4l2.Device
	bufs []v4l2.MappedBuffer
	mode v4l2.Mode
	info capture.Info
	jpeg *mjpeg.Decoder // MJPEG only
	ctl  *EncoderControls
	// keyCtl and rateCtl are the camera's encoding controls, when it has
	// them (H.264).
	keyCtl, rateCtl *v4l2.ControlInfo
	// stall is how long Read waits for a frame before giving up (the
	// camera was unplugged or hangs).
	stall time.Duration

	mu      sync.Mutex // serialises Read and Close
	closed  atomic.Bool
	seq     uint64
	lastSeq uint32
	started bool
}

// captureBuffers is how many buffers the camera fills in turn.
const captureBuffers = 4

// startCompressed sets dev to mode m, maps its buffers and starts it. On
// an error the caller closes dev.
func startCompressed(dev *v4l2.Device, m v4l2.Mode, info capture.Info, ctl *EncoderControls) (*compressedCamera, error) {
	pf, err := dev.SetFormat(v4l2.BufVideoCapture, v4l2.PixFormat{Width: m.Width, Height: m.Height, FourCC: m.FourCC})
	if err != nil {
		return nil, err
	}
	if pf.FourCC != m.FourCC {
		return nil, fmt.Errorf("device: %s gave %s when asked for %s", dev.Path(), v4l2.FourCCString(pf.FourCC), v4l2.FourCCString(m.FourCC))
	}
	m.Width, m.Height = pf.Width, pf.Height
	if m.FPS > 0 {
		// A camera that cannot set its rate (no S_PARM) runs at its own.
		if num, den, err := dev.SetFrameInterval(v4l2.BufVideoCapture, 1000, uint32(m.FPS*1000+0.5)); err == nil && num > 0 && den > 0 {
			m.FPS = float64(den) / float64(num)
		}
	}
	c := &compressedCamera{dev: dev, mode: m, info: info, ctl: ctl, stall: 2 * time.Second}
	c.info.Width, c.info.Height, c.info.FPS = m.Width, m.Height, m.FPS
	switch m.FourCC {
	case v4l2.FourCCH264:
		c.info.Format = "H.264"
		if q, err := dev.QueryControl(v4l2.CIDForceKeyFrame); err == nil {
			c.keyCtl = &q
		}
		if q, err := dev.QueryControl(v4l2.CIDBitrate); err == nil {
			c.rateCtl = &q
		}
	case v4l2.FourCCMJPEG:
		c.info.Format = "MJPEG"
		if c.jpeg, err = mjpeg.New(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("device: %s is not a compressed format roomd captures itself", v4l2.FourCCString(m.FourCC))
	}
	if c.bufs, err = dev.MapBuffers(v4l2.BufVideoCapture, captureBuffers); err != nil {
		c.free()
		return nil, err
	}
	for _, b := range c.bufs {
		if err := dev.Queue(b.Buffer); err != nil {
			c.free()
			return nil, err
		}
	}
	if err := dev.StreamOn(v4l2.BufVideoCapture); err != nil {
		c.free()
		return nil, err
	}
	if ctl != nil && m.FourCC == v4l2.FourCCH264 {
		ctl.attach(c)
	}
	return c, nil
}

// Read returns the next frame: an *capture.AccessUnit (H.264) or a decoded
// picture (MJPEG, the decoder's until the next Read). A damaged frame is
// skipped.
func (c *compressedCamera) Read() (image.Image, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	waited, damaged := time.Duration(0), 0
	for {
		if c.closed.Load() {
			return nil, func() {}, capture.ErrClosed
		}
		b, err := c.dev.Dequeue(v4l2.BufVideoCapture, v4l2.MemoryMMAP)
		if errors.Is(err, v4l2.ErrNotReady) {
			// Short waits, so that Close does not wait long for Read.
			const step = 100 * time.Millisecond
			ev, err := c.dev.Wait(v4l2.PollIn, step)
			switch {
			case err != nil:
				return nil, func() {}, err
			case ev&v4l2.PollErr != 0:
				return nil, func() {}, fmt.Errorf("device: camera %s stopped streaming", c.info.Device)
			case ev == 0:
				if waited += step; waited >= c.stall {
					return nil, func() {}, fmt.Errorf("device: camera %s delivered no frame for %v", c.info.Device, c.stall)
				}
			}
			continue
		}
		if err != nil {
			return nil, func() {}, err
		}
		img, ok := c.frame(b)
		if err := c.dev.Queue(b); err != nil {
			return nil, func() {}, err
		}
		if ok {
			return img, func() {}, nil
		}
		// A camera that sends nothing usable for a second is as good as
		// gone: let the caller reopen it.
		if damaged++; damaged >= max(int(c.mode.FPS), 30) {
			return nil, func() {}, fmt.Errorf("device: camera %s: %d damaged frames in a row", c.info.Device, damaged)
		}
	}
}

// frame turns a dequeued buffer into a frame; ok is false for a damaged
// or empty one.
func (c *compressedCamera) frame(b v4l2.Buffer) (image.Image, bool) {
	p := b.Planes[0]
	data := c.bufs[b.Index].Data[0]
	if b.Flags&v4l2.FlagError != 0 || p.BytesUsed <= p.DataOffset || p.BytesUsed > len(data) {
		return nil, false
	}
	data = data[p.DataOffset:p.BytesUsed]
	if c.jpeg != nil {
		img, err := c.jpeg.Decode(data)
		return img, err == nil
	}
	// The sequence numbers show frames the driver dropped (no free
	// buffer): the next access unit may refer to them.
	if c.started {
		c.seq += uint64(b.Sequence - c.lastSeq)
	}
	c.started, c.lastSeq = true, b.Sequence
	au := append([]byte(nil), data...)
	return &capture.AccessUnit{Data: au, Key: b.Flags&v4l2.FlagKeyFrame != 0 || passthrough.IsKeyFrame(au),
		Seq: c.seq, Width: c.mode.Width, Height: c.mode.Height}, true
}

func (c *compressedCamera) Info() capture.Info { return c.info }

// Close stops the camera and frees its buffers; it is idempotent.
func (c *compressedCamera) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.ctl != nil {
		c.ctl.detach(c)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dev.StreamOff(v4l2.BufVideoCapture)
	return errors.Join(c.free(), c.dev.Close())
}

// free unmaps the buffers and closes the decoder.
func (c *compressedCamera) free() error {
	var err error
	if c.bufs != nil {
		err = c.dev.UnmapBuffers(v4l2.BufVideoCapture, c.bufs)
		c.bufs = nil
	}
	if c.jpeg != nil {
		c.jpeg.Close()
		c.jpeg = nil
	}
	return err
}

// EncoderControls reach the encoding controls (V4L2_CID_MPEG_VIDEO_*) of
// whichever H.264 camera is open now: cameras come and go under
// capture.ReconnectingVideo, while the passthrough encoder lives for the
// whole call. Its methods return passthrough.ErrNoControl when no camera,
// or one without the control, is open. The zero value is ready to use.
type EncoderControls struct {
	mu  sync.Mutex
	cam *compressedCamera
}

func (e *EncoderControls) attach(c *compressedCamera) {
	e.mu.Lock()
	e.cam = c
	e.mu.Unlock()
}

func (e *EncoderControls) detach(c *compressedCamera) {
	e.mu.Lock()
	if e.cam == c {
		e.cam = nil
	}
	e.mu.Unlock()
}

// ForceKeyFrame makes the camera's next picture an IDR
// (V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME).
func (e *EncoderControls) ForceKeyFrame() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cam == nil || e.cam.keyCtl == nil {
		return passthrough.ErrNoControl
	}
	return e.cam.dev.SetControl(v4l2.CIDForceKeyFrame, 1)
}

// SetBitRate sets the camera's bitrate (V4L2_CID_MPEG_VIDEO_BITRATE),
// within the control's range.
func (e *EncoderControls) SetBitRate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cam == nil || e.cam.rateCtl == nil {
		return passthrough.ErrNoControl
	}
	return e.cam.dev.SetControl(v4l2.CIDBitrate, e.cam.rateCtl.Clamp(int32(min(bps, 1<<31-1))))
}
