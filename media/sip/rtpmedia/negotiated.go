package rtpmedia

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/roomd/roomd/media/sip/sdp"
)

// ErrNoCertificate means the stream was keyed with DTLS-SRTP and no
// certificate was given to RemoteFrom.
var ErrNoCertificate = errors.New("rtpmedia: DTLS-SRTP negotiated but no certificate given; pass the one whose fingerprint went into the SDP")

// RemoteFrom turns one stream of an offer/answer (media/sip/sdp) into what
// Start needs; cert is roomd's DTLS certificate (NewCertificate), needed
// only for DTLS-SRTP. The stream must have a valid remote address (not on
// hold).
func RemoteFrom(s *sdp.Stream, cert *tls.Certificate) (Remote, error) {
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
		NoSend:     s.Direction == sdp.RecvOnly || s.Direction == sdp.Inactive,
	}
	if c.H264 != nil {
		r.Codec.PacketizationMode = c.H264.PacketizationMode
	}
	for _, o := range s.Codecs[1:] {
		if o.Is(c.Name) && o.ClockRate == c.ClockRate {
			r.Codec.ReceiveAlso = append(r.Codec.ReceiveAlso, o.ReceivePT)
		}
	}
	if s.RemoteRTCP.IsValid() {
		r.RTCP = net.UDPAddrFromAddrPort(s.RemoteRTCP)
	}
	if s.DTMF != nil {
		r.DTMF, r.DTMFClockRate, r.DTMFReceivePT = s.DTMF.PT, uint32(s.DTMF.ClockRate), s.DTMF.ReceivePT
	}
	if s.LocalICE != nil && s.ICE != nil {
		r.ICE = &ICEParams{LocalUfrag: s.LocalICE.Ufrag, LocalPwd: s.LocalICE.Pwd, RemoteUfrag: s.ICE.Ufrag}
	}
	switch s.Crypto.Method {
	case sdp.Plain:
	case sdp.SDES:
		r.SRTP = &SRTPKeys{Contexts: s.Crypto.Contexts}
	case sdp.DTLSSRTP:
		if cert == nil {
			return Remote{}, ErrNoCertificate
		}
		r.DTLS = &DTLSParams{Client: s.Crypto.Role == sdp.DTLSClient, Certificate: *cert, RemoteFingerprints: s.Crypto.RemoteFingerprints}
	default:
		return Remote{}, fmt.Errorf("rtpmedia: unknown keying %v", s.Crypto.Method)
	}
	return r, nil
}
