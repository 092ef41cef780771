package janus

import (
	"context"
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Publish sends the engine's tracks: it makes an offer on pc, trickles pc's
// candidates, and applies Janus' answer. The session takes over pc's
// OnICECandidate handler; pc stays the caller's to close, after Leave. Should
// Janus later hang up pc's media for good (ICE or DTLS failed), the session
// ends with ErrSessionGone so that the engine joins again.
func (s *Session) Publish(ctx context.Context, pc *webrtc.PeerConnection) error {
	if err := s.claimPublishing(); err != nil {
		return err
	}
	tr := &trickler{c: s.c, session: s.id, handle: s.handle, log: s.log}
	pc.OnICECandidate(tr.candidate)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return s.publishFailed(fmt.Errorf("janus: publish: creating offer: %w", err))
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return s.publishFailed(fmt.Errorf("janus: publish: %w", err))
	}
	answer, err := s.configure(ctx, offer, tr.release)
	if err != nil {
		return s.publishFailed(err)
	}
	if err := pc.SetRemoteDescription(answer); err != nil {
		return s.publishFailed(fmt.Errorf("janus: publish: applying Janus' answer: %w", err))
	}
	return nil
}

// PublishOffer is Publish for an engine that keeps its own SDP: it sends
// offer and returns Janus' answer. The offer must carry its candidates
// (gathering complete), since nothing trickles them.
func (s *Session) PublishOffer(ctx context.Context, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if err := s.claimPublishing(); err != nil {
		return webrtc.SessionDescription{}, err
	}
	answer, err := s.configure(ctx, offer, nil)
	if err != nil {
		return webrtc.SessionDescription{}, s.publishFailed(err)
	}
	return answer, nil
}

func (s *Session) claimPublishing() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended || s.leaving:
		return errors.New("janus: publish: the session has ended; join again")
	case s.publishing:
		return errors.New("janus: publish: already publishing; one PeerConnection per session")
	}
	s.publishing = true
	return nil
}

func (s *Session) publishFailed(err error) error {
	s.mu.Lock()
	s.publishing = false
	s.mu.Unlock()
	return err
}

func (s *Session) configure(ctx context.Context, offer webrtc.SessionDescription, sent func()) (webrtc.SessionDescription, error) {
	if offer.Type != webrtc.SDPTypeOffer {
		return webrtc.SessionDescription{}, fmt.Errorf("janus: publish: got a %s, want an offer", offer.Type)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	req := &request{Janus: "message", SessionID: s.id, HandleID: s.handle,
		Body: map[string]any{"request": "configure"}, JSEP: toJSEP(offer)}
	m, err := s.c.call(ctx, "configure", req, true, sent)
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	if m.JSEP == nil || m.JSEP.Type != "answer" {
		return webrtc.SessionDescription{}, errors.New("janus: configure: Janus sent no SDP answer")
	}
	return m.JSEP.description(), nil
}
