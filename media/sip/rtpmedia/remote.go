package rtpmedia

import (
	"net"
	"slices"
	"strings"

	"github.com/pion/srtp/v3"

	"github.com/roomd/roomd/media/sip/sdp"
)

// Kind says whether a stream carries audio or video: the SDP's media
// type.
type Kind = sdp.Kind

// Kinds of media.
const (
	Audio = sdp.Audio
	Video = sdp.Video
)

// Codec names as SDP's rtpmap spells them (case does not matter).
const (
	CodecH264 = "H264"
	CodecVP8  = "VP8"
	CodecOpus = "opus"
	CodecPCMU = "PCMU"
	CodecPCMA = "PCMA"
)

// Codec is the payload format negotiated for a stream.
type Codec struct {
	// PT is the payload type sent; ReceivePT the one the far end sends
	// with, when an answerer renumbered (0: PT; static types such as
	// PCMU's 0 are never renumbered).
	PT, ReceivePT uint8
	// ReceiveAlso are more payload types the far end may send in the same
	// format (H.264 in the other packetization mode: one depacketizer
	// reads both).
	ReceiveAlso []uint8
	Name        string // rtpmap encoding name: H264, VP8, opus, PCMU, PCMA
	ClockRate   uint32 // 0: the codec's standard rate
	// PacketizationMode is H.264's packetization-mode: 1 (STAP-A and
	// FU-A) or 0 (one NAL unit per packet).
	PacketizationMode int
}

// receivePT is the payload type the far end sends with.
func (c Codec) receivePT() uint8 {
	if c.ReceivePT != 0 {
		return c.ReceivePT
	}
	return c.PT
}

// receives says whether the far end's payload type pt is this codec.
func (c Codec) receives(pt uint8) bool {
	return pt == c.receivePT() || slices.Contains(c.ReceiveAlso, pt)
}

// is says whether the codec is name.
func (c Codec) is(name string) bool { return strings.EqualFold(c.Name, name) }

func (c Codec) clockRate() uint32 {
	if c.ClockRate != 0 {
		return c.ClockRate
	}
	switch {
	case c.is(CodecOpus):
		return 48000
	case c.is(CodecPCMU), c.is(CodecPCMA):
		return 8000
	}
	return 90000
}

// Feedback is the RTCP feedback the far end negotiated (a=rtcp-fb).
type Feedback struct {
	PLI   bool // nack pli
	FIR   bool // ccm fir
	TMMBR bool // ccm tmmbr
	REMB  bool // goog-remb
}

// SRTPKeys are SDES keys (RFC 4568) for SRTP and SRTCP both ways: either
// Contexts, or Profile with the Local and Remote key bytes.
type SRTPKeys struct {
	// Contexts, when set, builds the sending and receiving contexts
	// (media/sip/sdp's Crypto.Contexts), so the key bytes stay where they
	// are kept.
	Contexts func() (encrypt, decrypt *srtp.Context, err error)

	Profile srtp.ProtectionProfile
	// Local encrypts what this side sends, Remote decrypts what the far
	// end sends: each the master key followed by the master salt (the
	// decoded inline key of a=crypto). Never log them.
	Local, Remote []byte
}

// Remote is what offer/answer decided for one media: where to send, the
// codec, and the options the far end took.
type Remote struct {
	RTP *net.UDPAddr // the far end's RTP address (c= and m= port)
	// RTCP is the far end's RTCP address (a=rtcp); nil means RTP's port
	// + 1, or RTP itself with RTCPMux.
	RTCP    *net.UDPAddr
	RTCPMux bool
	Codec   Codec
	// DTMF is the telephone-event payload type (0: none) and DTMFClockRate
	// its clock (0: 8000); DTMFReceivePT is the one the far end sends
	// with when an answerer renumbered (0: DTMF).
	DTMF          uint8
	DTMFClockRate uint32
	DTMFReceivePT uint8
	Feedback      Feedback
	// SRTP (SDES keys) or DTLS (DTLS-SRTP) encrypt the stream; both nil
	// is plain RTP.
	SRTP *SRTPKeys
	DTLS *DTLSParams
	// ICE, when roomd answered an offer with ICE, makes the stream an
	// ICE-lite agent: it answers the far end's connectivity checks and
	// sends to the pair the far end nominates. Nil: no ICE.
	ICE *ICEParams
	// MaxBitrate is the far end's b=TIAS or b=AS in bit/s, a cap on the
	// video target; 0 means none.
	MaxBitrate int
	// NoSend says the far end takes no media on the stream (it holds the
	// call: its a=sendonly or a=inactive); nothing is sent meanwhile.
	NoSend bool
}

// receivesDTMF says whether pt is the far end's telephone-event.
func (r Remote) receivesDTMF(pt uint8) bool {
	return r.DTMF != 0 && (pt == r.DTMF || pt == r.DTMFReceivePT)
}

func (r Remote) rtcpAddr() *net.UDPAddr {
	switch {
	case r.RTCPMux:
		return r.RTP
	case r.RTCP != nil:
		return r.RTCP
	}
	a := *r.RTP
	a.Port++
	return &a
}
