// Package passthrough sends a camera's own H.264 into the call without
// decoding or re-encoding it: UVC cameras that encode H.264 themselves
// (and, in --sim, a file replayed as such a camera) cost the room's CPU
// nothing per frame.
//
// # How it fits the sender
//
// A [Camera] wraps a source that yields *capture.AccessUnit (the camera's
// access units). It is an ordinary capture.VideoSource: until it is
// switched to passthrough it decodes its stream (OpenH264) and yields
// pictures, so a call that negotiated VP8 still works. When the call's
// encoder is H.264, [Use] switches the camera over and returns an
// [Encoder] in place of the software one: the access units then travel the
// sender's wrappers (privacy gate, caps) as images that carry their bytes,
// and the Encoder hands them to the WebRTC track and the SIP sender as
// they came. Pictures of roomd's own — the privacy slate, the placeholder
// while the camera is away — go to the software encoder Select chose, so
// privacy never depends on the camera.
//
// # Key frames and bitrate
//
// A PLI asks the camera for a key frame through its control when it has one
// (V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME); otherwise the far end waits for
// the camera's next IDR, and status says so. Congestion control's bitrate
// goes to the camera's bitrate control where present; otherwise the
// camera's bitrate is fixed and status says that too.
package passthrough

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"sync"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// ErrNoControl is what a control func returns when the camera open now
// turns out not to have that control: Camera treats it as a nil func.
var ErrNoControl = errors.New("passthrough: the camera has no such control")

// Controls are the encoding controls a camera offers; a nil func means the
// camera has no such control.
type Controls struct {
	// ForceKeyFrame makes the camera's next picture an IDR.
	ForceKeyFrame func() error
	// SetBitRate sets the camera's target bitrate in bits per second.
	SetBitRate func(bps int) error
}

// CameraOptions configure NewCamera.
type CameraOptions struct {
	// Passthrough allows Use to send the camera's stream as it is
	// (configuration: media.camera_passthrough); without it the camera
	// is always decoded.
	Passthrough bool
	// Controls the camera offers.
	Controls Controls
}

// Camera is a camera that encodes H.264, as a capture.VideoSource that
// yields pictures until Use switches it to yielding its access units.
type Camera struct {
	src  capture.VideoSource // yields *capture.AccessUnit
	opts CameraOptions

	mu          sync.Mutex
	passthrough bool
	dec         codec.VideoDecoder // decoding mode only
	note        string             // what status should know now (key frames)
	profile     string             // of the stream passed through, from its last SPS
	handed      uint64             // access units Read returned as they are
	closed      bool
}

var _ capture.VideoSource = (*Camera)(nil)

// NewCamera wraps src, a source of *capture.AccessUnit.
func NewCamera(src capture.VideoSource, opts CameraOptions) *Camera {
	return &Camera{src: src, opts: opts}
}

// Read returns the next access unit (passthrough) or decoded picture.
func (c *Camera) Read() (image.Image, func(), error) {
	for {
		img, release, err := c.src.Read()
		if err != nil {
			return nil, func() {}, err
		}
		au, ok := img.(*capture.AccessUnit)
		if !ok {
			return img, release, nil // a placeholder picture from below
		}
		c.mu.Lock()
		if c.passthrough {
			c.handed++
			c.mu.Unlock()
			return au, release, nil
		}
		pic, err := c.decodeLocked(au)
		c.mu.Unlock()
		release()
		switch {
		case errors.Is(err, codec.ErrNeedKeyFrame):
			continue // wait for the stream's next IDR
		case err != nil:
			return nil, func() {}, err
		case pic != nil:
			// The picture is the decoder's until the next Read.
			return pic, func() {}, nil
		}
	}
}

func (c *Camera) decodeLocked(au *capture.AccessUnit) (*image.YCbCr, error) {
	if c.closed {
		return nil, capture.ErrClosed
	}
	if c.dec == nil {
		d, err := codec.NewH264Decoder()
		if err != nil {
			return nil, fmt.Errorf("passthrough: decoding the camera's H.264: %w", err)
		}
		c.dec = d
	}
	return c.dec.Decode(au.Data)
}

// Info describes the camera; in passthrough, ModeReason says so and what
// a key-frame request is waiting for.
func (c *Camera) Info() capture.Info {
	i := c.src.Info()
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	if i.ModeReason != "" {
		parts = append(parts, i.ModeReason)
	}
	switch {
	case c.passthrough && c.profile != "":
		parts = append(parts, "sent as the camera encodes it, "+c.profile)
	case c.passthrough:
		parts = append(parts, "sent as the camera encodes it")
	case i.Problem == "" && c.note == "":
		parts = append(parts, "decoded: the call does not take the camera's H.264 as it is")
	}
	if c.note != "" {
		parts = append(parts, c.note)
	}
	i.ModeReason = strings.Join(parts, "; ")
	return i
}

// Close stops the camera and frees the decoder; it is idempotent.
func (c *Camera) Close() error {
	err := c.src.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.dec != nil {
		c.dec.Close()
		c.dec = nil
	}
	return err
}

// passing says whether Read returns access units as they are.
func (c *Camera) passing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.passthrough
}

// handedOut is how many access units Read has returned as they are.
func (c *Camera) handedOut() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handed
}

// decodeFromNowOn stops passing the stream through, for good: Read decodes
// again (from the stream's next IDR) and why goes into status.
func (c *Camera) decodeFromNowOn(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.passthrough, c.note = false, why
}

// switchOn starts passing the stream through, when allowed.
func (c *Camera) switchOn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.opts.Passthrough || c.closed {
		return false
	}
	c.passthrough = true
	if c.dec != nil {
		c.dec.Close()
		c.dec = nil
	}
	return true
}

// askKeyFrame asks the camera for an IDR, or notes that the far end must
// wait for the next one.
func (c *Camera) askKeyFrame() {
	f := c.opts.Controls.ForceKeyFrame
	if f == nil {
		c.setNote(waitingNote)
		return
	}
	switch err := f(); {
	case errors.Is(err, ErrNoControl):
		c.setNote(waitingNote)
	case err != nil:
		c.setNote("asking the camera for a key frame failed (" + err.Error() + "); waiting for its next one")
	}
}

// waitingNote is status while a key frame is asked for and the camera
// cannot make one on request.
const waitingNote = "a key frame was asked for: the camera has no key-frame control, so the far end waits for its next one"

// sentKeyFrame notes that a key frame went out: a key-frame request is
// answered, and its SPS says the stream's profile.
func (c *Camera) sentKeyFrame(au []byte) {
	profile := ""
	codec.ForEachH264NAL(au, func(nal []byte) {
		if profile == "" {
			profile = profileName(nal)
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.note = ""
	if profile != "" {
		c.profile = profile
	}
}

func (c *Camera) setNote(s string) {
	c.mu.Lock()
	c.note = s
	c.mu.Unlock()
}
