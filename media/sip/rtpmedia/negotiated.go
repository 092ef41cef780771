package rtpmedia

import (
	"errors"
	"fmt"
	"net"

	"github.com/roomd/roomd/media/sip/sdp"
)

// ErrDTLSSRTP means the stream was keyed with DTLS-SRTP, which this
// package does not do yet: offer SDES, or plain RTP where policy allows.
var ErrDTLSSRTP = errors.New("rtpmedia: DTLS-SRTP is not supported yet; offer SDES keys (a=crypto) instead")

// RemoteFrom turns one stream of an offer/answer (media/sip/sdp) into what
// Start needs. The stream must have a valid remote address (not on hold).
func RemoteFrom(s *sdp.Stream) (Remote, error) {
	if s == nil || len(s.Codecs) == 0 {
		return Remote{}, errors.New("rtpmedia: the negotiated stream has no codec; check the answer")
	}
	if !s.Remote.IsValid() {
		return Remote{}, errors.New("rtpmedia: the far end gave no address for the stream (on hold?); start the stream when it gives one")
	}
	c := s.Codec()
	r := Remote{
		RTP:        net.UDPAddrFromAddrPort(s.Remote),
		RTCPMux:    s.RTCPMux,
		Codec:      Codec{PT: c.PT, ReceivePT: c.ReceivePT, Name: c.Name, ClockRate: uint32(c.ClockRate)},
		Feedback:   Feedback{PLI: s.Feedback.PLI, FIR: s.Feedback.FIR, TMMBR: s.Feedback.TMMBR, REMB: s.Feedback.REMB},
		MaxBitrate: s.MaxBitrate,
	}
	if c.H264 != nil {
		r.Codec.PacketizationMode = c.H264.PacketizationMode
	}
	if s.RemoteRTCP.IsValid() {
		r.RTCP = net.UDPAddrFromAddrPort(s.RemoteRTCP)
	}
	if s.DTMF != nil {
		r.DTMF, r.DTMFClockRate = s.DTMF.PT, uint32(s.DTMF.ClockRate)
	}
	switch s.Crypto.Method {
	case sdp.Plain:
	case sdp.SDES:
		r.SRTP = &SRTPKeys{Contexts: s.Crypto.Contexts}
	case sdp.DTLSSRTP:
		return Remote{}, ErrDTLSSRTP
	default:
		return Remote{}, fmt.Errorf("rtpmedia: unknown keying %v", s.Crypto.Method)
	}
	return r, nil
}
