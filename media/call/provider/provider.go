// Package provider is the seam between the call engine (media/call) and the
// meeting providers: the Provider interface each one implements, the
// Session the engine hands it for one join, the Target a meeting link
// names, and the sentinel errors that classify why a join failed.
//
// Imports go one way: a provider (media/call/janusprovider,
// media/call/whipprovider) imports this package and its protocol package;
// media/call imports this package and no provider; cmd/roomd (and tests)
// register the providers into the engine. media/call re-exports these
// names (call.Provider, call.ErrUnreachable, …), so callers need only one
// of the two.
//
// # Failure classes
//
// A provider wraps each error it returns with the class that fits, keeping
// its own message (see Classify), and the engine decides from the class
// alone: ErrUnreachable before the first join fails the call, after it the
// engine rejoins; ErrRefused, ErrNotFound and ErrBadPasscode fail the call
// at once, since rejoining cannot help; ErrFull and unclassified errors are
// retried with backoff.
package provider

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/transport"
)

// Failure classes a provider wraps its errors with; match them with
// errors.Is.
var (
	// ErrUnreachable: the meeting server does not answer (network, DNS,
	// connection refused, timeout).
	ErrUnreachable = errors.New("call: meeting server unreachable; check the network and the meeting server address")
	// ErrRefused: the server answered and will not let the room in, for a
	// reason other than the passcode or the room's existence.
	ErrRefused = errors.New("call: the meeting server refused the room; check the meeting link and the server's settings")
	// ErrNotFound: no such meeting room or endpoint.
	ErrNotFound = errors.New("call: meeting room not found; check the meeting link")
	// ErrBadPasscode: the passcode (PIN, token) is wrong or missing.
	ErrBadPasscode = errors.New("call: wrong meeting passcode; check the passcode")
	// ErrFull: the meeting room takes no more participants for now.
	ErrFull = errors.New("call: meeting room is full; try again later")
)

// Classify returns err marked as being of class (one of the failure
// classes above): errors.Is matches both err's own chain and class, and its
// message stays err's. A nil err stays nil.
func Classify(err, class error) error {
	if err == nil || errors.Is(err, class) {
		return err
	}
	return classified{err: err, class: class}
}

// Classes maps a provider's own errors to the failure classes above, in
// order: a provider's errors declared once as a table.
type Classes []struct{ Own, Class error }

// Classify marks err with the class of the first of its own errors that
// errors.Is finds in err's chain; an error with none stays as it is.
func (cs Classes) Classify(err error) error {
	for _, c := range cs {
		if errors.Is(err, c.Own) {
			return Classify(err, c.Class)
		}
	}
	return err
}

type classified struct{ err, class error }

func (c classified) Error() string   { return c.err.Error() }
func (c classified) Unwrap() []error { return []error{c.err, c.class} }

// Target is what a provider needs of a meeting link: which provider,
// where, which room. media/call derives it from a meetinglink.Link.
type Target struct {
	Provider string // the name the provider is registered under: "janus" or "whip"
	Endpoint string // the provider's API URL, e.g. wss://sfu.example.org/janus; for whip the WHIP endpoint
	Room     uint64 // Janus VideoRoom id

	WHIP string // whip: the WHIP endpoint that takes the room's media
	WHEP string // whip: the WHEP endpoint that plays the meeting

	// Incoming is the ringing inbound call (sip) the join answers instead
	// of dialling; "" dials.
	Incoming string

	// E2EE is the end-to-end frame encryption the engine applies
	// (meetinglink.E2EESFrame), "" for none. The provider carries the
	// frames as they are; Session.Passcode is then the PIN alone.
	E2EE string
}

// Provider joins one kind of meeting server. Join runs one session: it
// joins, calls s.Connected once media flows, and returns when the session
// ends, with why it was lost (a reason for status, err nil) or the error
// that ended it, classified (see Classify). Everything it starts must end
// with ctx; a ctx that ends is not an error (return "", nil).
type Provider interface {
	Join(ctx context.Context, s Session) (lost string, err error)
}

// SettingEngineConfigurer is an optional interface of a Provider whose
// server needs pion settings (Janus: its ICE lite and NAT-1:1 habits). The
// engine applies every registered provider's settings to its transport.
type SettingEngineConfigurer interface {
	ConfigureSettingEngine(*webrtc.SettingEngine)
}

// Session is what the engine gives a provider for one join: the meeting,
// the room's media, and where to report what happens. Its methods are safe
// for concurrent use.
type Session interface {
	// Target is the meeting link's target.
	Target() Target
	// Passcode is the meeting's PIN or bearer token; never log it.
	Passcode() string
	// Display is the name shown to the other participants.
	Display() string
	// Logger logs for this call.
	Logger() *slog.Logger
	// Backoff is the delay range between retries of a part of the session
	// that the provider retries itself (a WHEP stream not live yet).
	Backoff() (min, max time.Duration)

	// NewPublisher makes the PeerConnection that sends the room's media,
	// with congestion control.
	NewPublisher() (*transport.PeerConnection, error)
	// NewReceiver makes a PeerConnection that only receives.
	NewReceiver() (*webrtc.PeerConnection, error)
	// WaitMedia waits until the room's camera and microphone are open and
	// encoding; it returns their error as it is (or ctx's).
	WaitMedia(ctx context.Context) error
	// Attach adds the room's tracks to pub and wires their feedback until
	// ctx ends; it waits for the media as WaitMedia does.
	Attach(ctx context.Context, pub *transport.PeerConnection) error
	// Connected says media flows: the room is in the call.
	Connected()
	// ReportMedia reports pub's figures to the room until ctx ends.
	ReportMedia(ctx context.Context, pub *transport.PeerConnection)

	// Participant says a participant named id joined; left says they
	// left, and takes them off the screen and out of status.
	Participant(id string) (left func())
	// Receive plays one of participant id's tracks (audio to the speaker,
	// video to the screen) until the track ends. pc is the track's
	// PeerConnection, for picture loss requests.
	Receive(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, id string)
}

// RawMedia is an optional interface of a Session, for a provider that
// carries the media itself rather than through a PeerConnection (SIP:
// plain RTP or SRTP, media/sip/rtpmedia). The engine's sessions have it;
// check with a type assertion. The room's media is the same as on the
// WebRTC path: one encoder, gated by the camera's privacy and the mic's
// mute before it gets here.
type RawMedia interface {
	// VideoCodec waits for the room's media as WaitMedia does and returns
	// the MIME type its video encoder makes (codec.MimeH264, MimeVP8), for
	// the offer.
	VideoCodec(ctx context.Context) (string, error)
	// SendRaw hands sink the room's media until ctx ends: every encoded
	// video frame, and the microphone as 48 kHz mono PCM in 20 ms frames.
	// It waits for the media as WaitMedia does, asks for a key frame so
	// the far end can start decoding, and returns the video encoder's
	// controls.
	SendRaw(ctx context.Context, sink RawSink) (RawEncoder, error)
	// ReceiveRaw returns where participant id's decoded media goes (the
	// screen and the speaker), counted for status.
	ReceiveRaw(id string) RawPlayer
	// ReportRaw reports stats's figures to the room every two seconds
	// until ctx ends, as ReportMedia does for a PeerConnection; the
	// engine fills in the sent picture's size.
	ReportRaw(ctx context.Context, stats func() transport.Stats)
}

// RawSink takes the room's media for a RawMedia provider. The engine calls
// it from its capture goroutines: it must not block.
type RawSink interface {
	// WriteVideo takes one encoded frame (an H.264 access unit in Annex
	// B, a VP8 frame) that began d after the previous one.
	WriteVideo(frame []byte, d time.Duration) error
	// WriteAudio takes 48 kHz mono PCM.
	WriteAudio(pcm []int16) error
}

// NALSizeLimited is an optional interface of a RawSink whose far end
// takes H.264 only in packetization-mode 0, where every RTP packet holds
// one whole NAL unit: SendRaw has the room's encoder cut pictures into
// NAL units of at most MaxNALSize bytes (the RTP payload size) while the
// sink is attached.
type NALSizeLimited interface {
	// MaxNALSize is the largest NAL unit the sink can send, in bytes
	// without the start code; 0 means no limit.
	MaxNALSize() int
}

// RawEncoder is the room's video encoder as a RawMedia provider steers it
// from the far end's feedback.
type RawEncoder interface {
	// ForceKeyFrame makes the next frame a key frame (PLI, FIR, SIP INFO
	// picture_fast_update).
	ForceKeyFrame()
	// SetBitRate sets the target in bit/s, under the fleet's caps; it is
	// the call's target bitrate in status.
	SetBitRate(bps int)
}

// RawPlayer shows and plays one remote participant's decoded media. Its
// methods are safe for concurrent use.
type RawPlayer interface {
	// Video shows a decoded picture; it is copied before Video returns.
	Video(img *image.YCbCr)
	// Audio plays 48 kHz mono PCM.
	Audio(pcm []int16)
	// Close takes the participant off the screen and out of the mix.
	Close()
}

// WaitConnected waits for a provider's media to connect. Otherwise it
// returns, with ok false, why the call did not get there: the call was
// left (nothing), the media failed (a reason), the session ended (its
// error, through goneErr), or nothing happened for 20 s.
func WaitConnected(ctx context.Context, up <-chan struct{}, failed <-chan string, gone <-chan struct{}, goneErr func() error) (reason string, err error, ok bool) {
	select {
	case <-up:
		return "", nil, true
	case <-ctx.Done():
		return "", nil, false
	case msg := <-failed:
		return msg, nil, false
	case <-gone:
		return "", goneErr(), false
	case <-time.After(20 * time.Second):
		return "media did not connect", nil, false
	}
}
