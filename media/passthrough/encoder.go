package passthrough

import (
	"errors"
	"image"
	"strings"
	"sync"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// Use switches src to passing its camera's H.264 through when it can: src
// is a *Camera that allows it, and sel — what codec.Select chose for the
// call — is H.264. It returns the selection the call should use: an
// Encoder whose fallback for roomd's own pictures (privacy slate,
// placeholders) is sel's encoder, or sel unchanged.
func Use(src capture.VideoSource, sel codec.Selection) codec.Selection {
	cam, ok := src.(*Camera)
	if !ok || !strings.EqualFold(sel.Codec, codec.MimeH264) || !cam.switchOn() {
		return sel
	}
	e := &Encoder{cam: cam, fallback: sel.Encoder, needKey: true}
	// The far end starts at a key frame.
	cam.askKeyFrame()
	keys := "key frames on request through the camera's control"
	if cam.opts.Controls.ForceKeyFrame == nil {
		keys = "no key-frame control: a request waits for the camera's next key frame"
	}
	rate := "bitrate through the camera's control"
	if cam.opts.Controls.SetBitRate == nil {
		rate = "bitrate fixed by the camera"
	}
	return codec.Selection{
		Encoder:  e,
		Codec:    codec.MimeH264,
		Name:     "camera",
		Hardware: true,
		Reason:   "camera's own H.264 passed through (" + keys + "; " + rate + "); " + sel.Name + " for the privacy slate",
	}
}

// droppedNote is status once a frame-rate cap made the camera's stream be
// decoded and re-encoded.
const droppedNote = "access units were dropped on the way to the encoder (a frame-rate cap below the camera's rate?): decoded and re-encoded instead"

// Encoder passes a Camera's access units through as they came, and
// encodes any other picture with its fallback encoder. It satisfies
// codec.VideoEncoder.
type Encoder struct {
	cam      *Camera
	fallback codec.VideoEncoder

	mu         sync.Mutex
	ps         codec.H264ParamSets
	lastSeq    uint64
	handed     uint64 // the camera's handedOut at the last access unit
	started    bool
	needKey    bool // the far end cannot use the camera's pictures until an IDR
	onFallback bool
}

var _ codec.VideoEncoder = (*Encoder)(nil)

// Encode returns an access unit's bytes as they are (an IDR that lacks SPS
// and PPS gets the stream's last ones, so a late joiner can start there),
// or drops it — an empty frame — while the far end needs a key frame: at
// the start, after roomd's own pictures, or after a gap in the camera's
// sequence. Any other picture goes to the fallback encoder.
func (e *Encoder) Encode(img image.Image) ([]byte, bool, error) {
	au, ok := img.(*capture.AccessUnit)
	e.mu.Lock()
	if !ok {
		// A slate may stand for an access unit the camera handed out (the
		// privacy gate): not one dropped on the way.
		e.handed = e.cam.handedOut()
		if !e.onFallback {
			// The far end switches to the fallback's stream at its key
			// frame, and back to the camera's at the camera's next one.
			e.onFallback, e.needKey = true, true
			e.fallback.ForceKeyFrame()
		}
		e.mu.Unlock()
		return e.fallback.Encode(img)
	}
	defer e.mu.Unlock()
	handed := e.cam.handedOut()
	if e.started && handed > e.handed+1 {
		// Something between the camera and here drops access units (a
		// frame-rate cap below the camera's rate): what is left cannot be
		// decoded. Decode and re-encode instead; the caps then thin and
		// scale pictures, which they can.
		e.cam.decodeFromNowOn(droppedNote)
		if f := e.cam.opts.Controls.ForceKeyFrame; f != nil {
			f() // the decoder starts at the next IDR
		}
		e.needKey = true
		return nil, false, nil
	}
	e.handed = handed
	gap := e.started && au.Seq != e.lastSeq+1
	if (e.onFallback || gap) && !au.Key {
		e.needKey = true
		e.cam.askKeyFrame()
	}
	e.onFallback, e.started, e.lastSeq = false, true, au.Seq
	if e.needKey && !au.Key {
		return nil, false, nil
	}
	e.needKey = false
	out, key := e.ps.KeyFrame(au.Data)
	if key {
		e.cam.sentKeyFrame(out)
	}
	return out, key, nil
}

// ForceKeyFrame asks the camera for a key frame (or notes that the far end
// waits for its next one), and the fallback too while it is in use.
func (e *Encoder) ForceKeyFrame() {
	e.mu.Lock()
	fallback := e.onFallback || !e.cam.passing()
	e.mu.Unlock()
	if fallback {
		e.fallback.ForceKeyFrame()
		return
	}
	e.cam.askKeyFrame()
}

// SetBitRate sets the camera's bitrate through its control, when it has
// one, and the fallback's.
func (e *Encoder) SetBitRate(bps int) {
	e.fallback.SetBitRate(bps)
	if f := e.cam.opts.Controls.SetBitRate; f != nil {
		if err := f(bps); err != nil && !errors.Is(err, ErrNoControl) {
			e.cam.setNote("setting the camera's bitrate failed: " + err.Error())
		}
	}
}

// Close closes the fallback encoder; the camera is the sender's to close.
func (e *Encoder) Close() error { return e.fallback.Close() }
