package rtpmedia

import (
	"errors"
	"fmt"
)

// Update makes a running stream follow a new negotiation (a re-INVITE,
// or the answer to roomd's re-offer): it sends to r's addresses with r's
// payload type, receives r's payload types, and sends nothing while r
// says the far end takes no media (hold), resuming with the same SSRC
// and the next sequence numbers. A change the stream cannot follow in
// place (another codec, clock, keys or rtcp-mux) is an error: the call
// needs new streams.
func (s *Stream) Update(r Remote) error {
	if !s.started.Load() {
		return ErrNotStarted
	}
	if r.RTP == nil {
		return errors.New("rtpmedia: the new remote has no RTP address; check the SDP's c= and m= lines")
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	cur := s.send.codec
	switch {
	case !cur.is(r.Codec.Name) || cur.clockRate() != r.Codec.clockRate() || cur.PacketizationMode != r.Codec.PacketizationMode:
		return fmt.Errorf("rtpmedia: the far end moved from %s to %s; a new stream is needed for another codec", cur.Name, r.Codec.Name)
	case r.RTCPMux != s.remote.RTCPMux:
		return errors.New("rtpmedia: the far end changed rtcp-mux; a new stream is needed")
	case (r.SRTP != nil) != (s.remote.SRTP != nil) || (r.DTLS != nil) != (s.remote.DTLS != nil):
		return errors.New("rtpmedia: the far end changed the media encryption; a new stream is needed")
	}
	s.send.codec.PT = r.Codec.PT
	rc := r.Codec
	s.rxCodec.Store(&rc)
	s.paused.Store(r.NoSend)
	s.rtpDst.Store(r.RTP)
	s.rtcpDst.Store(r.rtcpAddr())
	return nil
}
