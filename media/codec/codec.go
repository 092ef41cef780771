// Package codec turns raw frames and samples into what WebRTC carries and
// back: H.264 (OpenH264) and VP8 (libvpx) video encoders with key-frame and
// bitrate control, an Opus audio encoder, and the matching decoders for the
// receive path.
//
// # Encoders
//
// A [VideoEncoder] takes one picture and returns one encoded frame; the
// transport calls ForceKeyFrame on a PLI and SetBitRate whenever congestion
// control's estimate moves (mediadevices does not wire that up by itself).
// Both may be called from any goroutine while Encode runs; they take effect
// on the next frame. Both drive their library directly (OpenH264 through its
// C interface, libvpx) with libwebrtc's real-time settings (see NewVP8,
// NewH264), and every encode and decode runs on a C thread of its own
// (internal/cthread), so the Go scheduler never sees a goroutine spend
// milliseconds in cgo.
// H.264 key frames always carry SPS and PPS so a late joiner can start
// decoding at any key frame.
//
// # Choosing an encoder
//
// [Select] probes for a hardware encoder first (a V4L2 memory-to-memory
// H.264 encoder such as the Raspberry Pi 4's /dev/video11) and falls back to
// software, returning the encoder with a sentence for status saying which
// one runs and why.
//
// # Decoders
//
// [VideoDecoder] implementations (OpenH264's decoder, libvpx's VP8 decoder)
// take one complete frame (an H.264 access unit in Annex B, a VP8 frame) and
// return an I420 picture, or [ErrNeedKeyFrame] when the stream cannot be
// decoded until the next key frame: the receiver should send a PLI.
// [AudioDecoder] decodes Opus to 48 kHz 16-bit PCM and conceals lost
// packets.
//
// # Build
//
// Everything here is cgo. OpenH264 and Opus come as static libraries inside
// the mediadevices module; VP8 needs libvpx (Debian: libvpx-dev). Building
// with -tags novpx leaves VP8 out: NewVP8 and NewVP8Decoder then return
// ErrUnavailable and Select skips VP8.
package codec

import (
	"errors"
	"image"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// MIME types of the codecs, as pion/webrtc spells them.
const (
	MimeH264 = webrtc.MimeTypeH264
	MimeVP8  = webrtc.MimeTypeVP8
	MimeOpus = webrtc.MimeTypeOpus
)

// Errors callers branch on.
var (
	// ErrClosed is returned by Encode and Decode after Close.
	ErrClosed = errors.New("codec: closed")
	// ErrNeedKeyFrame means the decoder lost its references (packet loss,
	// joining mid-stream) and can show nothing until a key frame: ask the
	// sender for one with a PLI.
	ErrNeedKeyFrame = errors.New("codec: decoder needs a key frame")
	// ErrUnavailable means the codec was not built into this binary.
	ErrUnavailable = errors.New("codec: codec not built in")
)

// VideoEncoder encodes pictures one at a time.
type VideoEncoder interface {
	// Encode encodes img (any image; *image.YCbCr 4:2:0 avoids a
	// conversion) and returns the encoded frame and whether it is a key
	// frame. An empty frame with a nil error means the encoder dropped this
	// picture to hold the bitrate: send nothing, but let the RTP timestamp
	// advance. A picture of a new size restarts the encoder at that size
	// with a key frame.
	Encode(img image.Image) (frame []byte, key bool, err error)
	// ForceKeyFrame makes the next frame a key frame (on a PLI or FIR).
	ForceKeyFrame()
	// SetBitRate sets the target bitrate in bits per second from the next
	// frame on.
	SetBitRate(bps int)
	// Close frees the encoder; it is idempotent.
	Close() error
}

// VideoConfig configures a video encoder.
type VideoConfig struct {
	// Width and Height of the pictures; a picture of another size restarts
	// the encoder at that size.
	Width, Height int
	// FPS is the frame rate the rate control plans for; 0 means 30.
	FPS float64
	// BitRate is the initial target in bits per second; 0 means 1 Mbit/s.
	BitRate int
	// KeyFrameInterval is the longest time between key frames; 0 means
	// 3 s, negative means key frames only at the start and on
	// ForceKeyFrame.
	KeyFrameInterval time.Duration
	// MaxNALSize, when positive, is the largest H.264 NAL unit the
	// encoder makes, in bytes without the start code: pictures are cut
	// into slices that fit, so that H.264 packetization-mode 0 (one
	// whole NAL unit per RTP packet) fits the MTU. 0 means one slice per
	// picture. Encoders that cannot slice (VP8) ignore it; OpenH264
	// raises a limit under 500 bytes to 500 (a slice must have room for
	// its largest macroblock).
	MaxNALSize int
}

func (c VideoConfig) withDefaults() VideoConfig {
	if c.FPS <= 0 {
		c.FPS = 30
	}
	if c.BitRate <= 0 {
		c.BitRate = 1_000_000
	}
	if c.KeyFrameInterval == 0 {
		c.KeyFrameInterval = 3 * time.Second
	}
	return c
}

// keyFrameEvery is the key-frame interval in frames; 0 means never.
func (c VideoConfig) keyFrameEvery() int {
	if c.KeyFrameInterval < 0 {
		return 0
	}
	return max(1, int(c.KeyFrameInterval.Seconds()*c.FPS+0.5))
}

// VideoDecoder decodes one stream's frames.
type VideoDecoder interface {
	// Decode decodes one complete frame and returns the picture, or nil
	// with a nil error when the frame produced none (e.g. parameter sets
	// only). The picture belongs to the decoder and is valid until the next
	// Decode or Close: copy it to keep it. An error wrapping
	// ErrNeedKeyFrame asks for a PLI.
	Decode(frame []byte) (*image.YCbCr, error)
	// Close frees the decoder; it is idempotent.
	Close() error
}

// NewVideoDecoder returns the decoder for a negotiated MIME type.
func NewVideoDecoder(mime string) (VideoDecoder, error) {
	switch {
	case strings.EqualFold(mime, MimeH264):
		return NewH264Decoder()
	case strings.EqualFold(mime, MimeVP8):
		return NewVP8Decoder()
	default:
		return nil, errors.New("codec: no decoder for " + mime + "; roomd decodes H.264 and VP8")
	}
}

// AudioEncoder encodes fixed-size frames of 48 kHz mono 16-bit PCM.
type AudioEncoder interface {
	// Encode encodes exactly one frame of FrameSamples samples.
	Encode(pcm []int16) ([]byte, error)
	// SetBitRate sets the target bitrate in bits per second from the next
	// frame on.
	SetBitRate(bps int)
	// Close frees the encoder; it is idempotent.
	Close() error
}

// AudioDecoder decodes one stream's Opus packets to 48 kHz 16-bit PCM.
type AudioDecoder interface {
	// Decode decodes one packet into interleaved samples; a nil packet
	// stands for a lost one and returns concealment audio of the last
	// packet's duration.
	Decode(packet []byte) ([]int16, error)
	// Close frees the decoder; it is idempotent.
	Close() error
}
