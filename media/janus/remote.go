package janus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

// Remote is one other participant's feed, received on a PeerConnection of
// its own through a subscriber handle.
type Remote struct {
	// Feed is the participant as Janus announced them.
	Feed Feed
	// PC receives the feed. It is made with Options.NewPeerConnection before
	// OnRemote is called, and the session closes it when the Remote ends.
	PC *webrtc.PeerConnection

	s      *Session
	handle uint64 // written only by the subscription goroutine
	ctx    context.Context
	cancel context.CancelFunc
	offers chan *jsep // Janus' renegotiations ("updated" with an offer)
	done   chan struct{}

	mu        sync.Mutex
	reason    error
	reasonSet bool
}

func newRemote(s *Session, f Feed) *Remote {
	r := &Remote{Feed: f, s: s, offers: make(chan *jsep, 4), done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(s.ctx)
	return r
}

// Done is closed when the feed has ended and its PeerConnection is closed.
func (r *Remote) Done() <-chan struct{} { return r.done }

// Err says why the feed ended: ErrFeedGone when the participant left or
// stopped sending, the session's error when the session was lost, another
// error when the subscription failed, nil when this room left. It is nil
// until Done is closed.
func (r *Remote) Err() error {
	select {
	case <-r.done:
	default:
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

// close ends the subscription for reason, unless it has a reason already.
func (r *Remote) close(reason error) {
	r.mu.Lock()
	if !r.reasonSet {
		r.reason, r.reasonSet = reason, true
	}
	r.mu.Unlock()
	r.cancel()
}

// event takes the subscriber handle's events from the session's loop; it
// must not block.
func (r *Remote) event(m *message) {
	switch m.Janus {
	case "event":
		if err := m.failure("subscription"); err != nil {
			r.close(err)
			return
		}
		if m.JSEP != nil && m.JSEP.Type == "offer" {
			select {
			case r.offers <- m.JSEP:
			default:
				r.close(errors.New("janus: subscription: renegotiations piling up"))
			}
		}
	case "hangup", "detached":
		r.close(fmt.Errorf("janus: subscription to %q ended by Janus: %s %s", r.Feed.Display, m.Janus, m.Reason))
	default:
		r.s.log.Debug("janus: subscription event", "janus", m.Janus, "feed", r.Feed.ID)
	}
}

// runRemote is the subscription's goroutine, from attach to PeerConnection
// close.
func (s *Session) runRemote(r *Remote) {
	defer s.wg.Done()
	defer close(r.done)
	// Errors after the Remote was closed are only the echo of that close.
	fail := func(err error) {
		if r.ctx.Err() == nil {
			s.log.Warn("janus: subscription failed", "feed", r.Feed.ID, "display", r.Feed.Display, "err", err)
			r.close(err)
		}
	}
	if err := s.subscribe(r); err != nil {
		fail(err)
	}
	for r.ctx.Err() == nil {
		select {
		case <-r.ctx.Done():
		case offer := <-r.offers:
			if err := s.answer(r, offer, nil); err != nil {
				fail(err)
			}
		}
	}

	if r.handle != 0 && s.ctx.Err() == nil {
		// Detaching leaves the subscription on the server.
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.RequestTimeout)
		_, err := s.c.call(ctx, "detach", &request{Janus: "detach", SessionID: s.id, HandleID: r.handle}, false, nil)
		cancel()
		if err != nil && !errors.Is(err, ErrSessionGone) {
			s.log.Debug("janus: detaching subscription", "feed", r.Feed.ID, "err", err)
		}
	}
	if r.PC != nil {
		if err := r.PC.Close(); err != nil {
			s.log.Debug("janus: closing subscription", "feed", r.Feed.ID, "err", err)
		}
	}
	s.mu.Lock()
	if s.remotes[r.Feed.ID] == r {
		delete(s.remotes, r.Feed.ID)
	}
	if r.handle != 0 {
		delete(s.handles, r.handle)
	}
	sessionErr := s.err
	s.mu.Unlock()
	// Cancelled by the session's end without a reason of its own: the
	// session's reason is the feed's.
	r.mu.Lock()
	if !r.reasonSet {
		r.reason, r.reasonSet = sessionErr, true
	}
	r.mu.Unlock()
}

// subscribe attaches a handle, joins it as a subscriber to the feed and
// answers Janus' offer on a fresh PeerConnection.
func (s *Session) subscribe(r *Remote) error {
	ctx, cancel := context.WithTimeout(r.ctx, s.opts.RequestTimeout)
	defer cancel()
	attached, err := s.c.call(ctx, "attach", &request{Janus: "attach", SessionID: s.id, Plugin: plugin}, false, nil)
	if err != nil {
		return err
	}
	if attached.Data == nil {
		return errors.New("janus: attach: answer without a handle ID")
	}
	r.handle = attached.Data.ID
	s.mu.Lock()
	s.handles[r.handle] = r
	s.mu.Unlock()

	body := map[string]any{
		"request": "join",
		"ptype":   "subscriber",
		"room":    s.opts.Room,
		"streams": []map[string]any{{"feed": r.Feed.ID}},
	}
	if s.opts.PIN != "" {
		body["pin"] = s.opts.PIN
	}
	if s.privateID != 0 {
		body["private_id"] = s.privateID
	}
	m, err := s.c.call(ctx, "subscribe", &request{Janus: "message", SessionID: s.id, HandleID: r.handle, Body: body}, true, nil)
	if err != nil {
		return err
	}
	if m.JSEP == nil || m.JSEP.Type != "offer" {
		return errors.New("janus: subscribe: Janus sent no SDP offer")
	}
	pc, err := s.opts.NewPeerConnection()
	if err != nil {
		return fmt.Errorf("janus: subscribe: making a PeerConnection: %w", err)
	}
	r.PC = pc
	tr := &trickler{c: s.c, session: s.id, handle: r.handle, log: s.log}
	pc.OnICECandidate(tr.candidate)
	s.opts.OnRemote(r)
	return s.answer(r, m.JSEP, tr.release)
}

// answer applies Janus' offer to r.PC and starts the subscription with the
// answer.
func (s *Session) answer(r *Remote, offer *jsep, sent func()) error {
	if err := r.PC.SetRemoteDescription(offer.description()); err != nil {
		return fmt.Errorf("janus: subscribe: applying Janus' offer: %w", err)
	}
	answer, err := r.PC.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("janus: subscribe: creating answer: %w", err)
	}
	if err := r.PC.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("janus: subscribe: %w", err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, s.opts.RequestTimeout)
	defer cancel()
	req := &request{Janus: "message", SessionID: s.id, HandleID: r.handle,
		Body: map[string]any{"request": "start"}, JSEP: toJSEP(answer)}
	if _, err = s.c.call(ctx, "start", req, true, sent); err != nil {
		return err
	}
	s.log.Debug("janus: subscription started", "feed", r.Feed.ID, "display", r.Feed.Display)
	return nil
}
