package call

import (
	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/room"
)

// The engine's room.CallControl: tones into a call and declining a
// ringing incoming call, passed to the providers that can.

var _ room.CallControl = (*Engine)(nil)

// targetOf is the target a meeting joins: its link's, or for an answered
// incoming call the SIP provider with the ringing call's id (the caller's
// address is shown, never dialled).
func targetOf(links *meetinglink.Registry, m room.Meeting) (Target, error) {
	if m.Incoming != "" {
		return Target{Provider: meetinglink.SIP, Endpoint: m.URI, Incoming: m.Incoming}, nil
	}
	return parseTarget(links, m.URI)
}

// SendDTMF sends digits into call seq through its provider, if that can
// send tones; it returns at once and logs what fails.
func (e *Engine) SendDTMF(seq uint64, digits string) error {
	e.mu.Lock()
	c := e.calls[seq]
	e.mu.Unlock()
	if c == nil {
		return room.ErrNotInCall
	}
	t, err := targetOf(e.cfg.Links, c.m)
	if err != nil {
		return room.ErrNoTones
	}
	d, ok := e.cfg.Providers[t.Provider].(provider.DTMFSender)
	if !ok {
		return room.ErrNoTones
	}
	go func() {
		if err := d.SendDTMF(c.ctx, digits); err != nil && c.ctx.Err() == nil {
			e.log.Warn("call: sending tones failed", "call", seq, "err", err)
		}
	}()
	return nil
}

// Decline refuses the ringing incoming call id through every provider
// that rings the room.
func (e *Engine) Decline(id string) {
	for _, name := range e.cfg.Providers.names() {
		if d, ok := e.cfg.Providers[name].(provider.Decliner); ok {
			d.Decline(id)
		}
	}
}
