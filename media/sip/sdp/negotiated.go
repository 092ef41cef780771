package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"

	"github.com/roomd/roomd/media/sip/srtpkey"
)

// Kind is a stream's media type.
type Kind int

// Kinds.
const (
	Audio Kind = iota
	Video
)

// String is the m= media name.
func (k Kind) String() string {
	switch k {
	case Audio:
		return "audio"
	case Video:
		return "video"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Negotiated is what an offer/answer exchange decided.
type Negotiated struct {
	// Audio and Video are the streams in use; Video is nil when there is
	// none (not offered, rejected, or refused: see VideoRefused).
	Audio, Video *Stream
	// VideoRefused says why offered video was not taken, or is nil.
	VideoRefused error
}

// String summarises the call for status and logs; it has no secrets.
func (n *Negotiated) String() string {
	if n == nil {
		return "no media"
	}
	var parts []string
	for _, s := range []*Stream{n.Audio, n.Video} {
		if s != nil {
			parts = append(parts, s.String())
		}
	}
	if n.VideoRefused != nil {
		parts = append(parts, "no video: "+n.VideoRefused.Error())
	}
	return strings.Join(parts, "; ")
}

// CryptoStatus is the call's encryption for status: the audio stream's
// (video never runs with weaker protection than audio, see docs).
func (n *Negotiated) CryptoStatus() string {
	if n == nil || n.Audio == nil {
		return "none"
	}
	return n.Audio.Crypto.String()
}

// Stream is one negotiated m-line.
type Stream struct {
	Kind Kind
	// Index is the m-line's position in the description.
	Index int
	// Remote is where roomd sends RTP; not valid (IsValid false) while the
	// far end holds with c=0.0.0.0 or port 0.
	Remote netip.AddrPort
	// RemoteRTCP is where roomd sends RTCP: Remote with RTCPMux, else
	// a=rtcp or the RTP port + 1.
	RemoteRTCP netip.AddrPort
	RTCPMux    bool
	// Direction is what roomd does on the stream.
	Direction Direction
	// Codecs are the common codecs, roomd's preference first: Codecs[0]
	// is what roomd sends; the far end may send any of them.
	Codecs []Codec
	// DTMF is the telephone-event format (audio only), or nil.
	DTMF *Codec
	// Feedback is the RTCP feedback both sides take on the sending codec.
	Feedback Feedback
	// SendLimit is the largest picture, frame rate and bitrate the far
	// end takes (video), from its H.264 level, max-fs, max-mbps, max-br,
	// VP8 max-fs/max-fr and b=AS/TIAS.
	SendLimit VideoLimits
	// MaxBitrate is the far end's b=TIAS or b=AS for the stream in bit/s,
	// 0 when absent.
	MaxBitrate int
	Crypto     Crypto
	// ICE is the far end's ICE description, or nil.
	ICE *ICE
	// LocalICE is roomd's ICE description in the answer (credentials and
	// host candidates), nil when roomd answered without ICE.
	LocalICE *ICE
}

// Codec returns the codec roomd sends.
func (s *Stream) Codec() Codec { return s.Codecs[0] }

// ReceiveCodec returns the codec of a payload type the far end sends.
func (s *Stream) ReceiveCodec(pt uint8) (Codec, bool) {
	for _, c := range s.Codecs {
		if c.ReceivePT == pt {
			return c, true
		}
	}
	if s.DTMF != nil && s.DTMF.ReceivePT == pt {
		return *s.DTMF, true
	}
	return Codec{}, false
}

// String is one line for status: "audio opus/48000 pt 111 sendrecv
// SRTP AES_CM_128_HMAC_SHA1_80 (SDES)".
func (s *Stream) String() string {
	out := fmt.Sprintf("%v %v %v %v", s.Kind, s.Codec(), s.Direction, s.Crypto)
	if s.Kind == Video {
		out += " up to " + s.SendLimit.String()
	}
	return out
}

// Feedback is the RTCP feedback negotiated (a=rtcp-fb).
type Feedback struct {
	NACK  bool // nack
	PLI   bool // nack pli
	FIR   bool // ccm fir
	TMMBR bool // ccm tmmbr
	REMB  bool // goog-remb
}

// feedbackAttrs are the a=rtcp-fb values roomd supports for video, and
// the Feedback flag each sets.
var feedbackAttrs = []struct {
	value string
	set   func(*Feedback)
}{
	{"nack", func(f *Feedback) { f.NACK = true }},
	{"nack pli", func(f *Feedback) { f.PLI = true }},
	{"ccm fir", func(f *Feedback) { f.FIR = true }},
	{"ccm tmmbr", func(f *Feedback) { f.TMMBR = true }},
	{"goog-remb", func(f *Feedback) { f.REMB = true }},
}

// Method is how a stream is keyed.
type Method int

// String is "plain RTP", "SDES" or "DTLS-SRTP".
func (m Method) String() string {
	switch m {
	case Plain:
		return "plain RTP"
	case SDES:
		return "SDES"
	case DTLSSRTP:
		return "DTLS-SRTP"
	}
	return "Method(" + strconv.Itoa(int(m)) + ")"
}

// Methods.
const (
	// Plain is unencrypted RTP.
	Plain Method = iota
	// SDES is SRTP with keys in a=crypto (RFC 4568).
	SDES
	// DTLSSRTP is SRTP keyed by a DTLS handshake (RFC 5763/5764).
	DTLSSRTP
)

// DTLSRole is roomd's side of the DTLS handshake.
type DTLSRole int

// DTLS roles.
const (
	// DTLSClient: roomd starts the handshake (a=setup:active).
	DTLSClient DTLSRole = iota
	// DTLSServer: roomd waits for it (a=setup:passive).
	DTLSServer
)

// String is "client" or "server".
func (r DTLSRole) String() string {
	if r == DTLSServer {
		return "server"
	}
	return "client"
}

// Crypto is a stream's protection. Its String has no key material.
type Crypto struct {
	Method Method
	// SDES: the suite, the tag of the a=crypto line taken, roomd's key
	// (what it sends with) and the far end's.
	Suite         srtpkey.Suite
	Tag           int
	Local, Remote srtpkey.Key
	// DTLS-SRTP: roomd's role and the far end's certificate fingerprints
	// the handshake must match.
	Role               DTLSRole
	RemoteFingerprints []Fingerprint
}

// String is "none (plain RTP)", "SRTP AES_CM_128_HMAC_SHA1_80 (SDES)"
// or "DTLS-SRTP (roomd is the DTLS client)".
func (c Crypto) String() string {
	switch c.Method {
	case SDES:
		return "SRTP " + c.Suite.String() + " (SDES)"
	case DTLSSRTP:
		return "DTLS-SRTP (roomd is the DTLS " + c.Role.String() + ")"
	}
	return "none (plain RTP)"
}

// Encrypted reports whether the stream is SRTP.
func (c Crypto) Encrypted() bool { return c.Method != Plain }

// Contexts builds the SRTP contexts of an SDES stream: encrypt for what
// roomd sends, decrypt for what it receives.
func (c Crypto) Contexts() (encrypt, decrypt *srtp.Context, err error) {
	if c.Method != SDES {
		return nil, nil, fmt.Errorf("sdp: the stream is %v; only SDES streams have keys here", c)
	}
	return srtpkey.NewContexts(c.Suite, c.Local, c.Remote)
}
