// Package media captures, encodes and carries the room's audio and video.
//
// Capture, encoders, WebRTC transport, meeting providers and the display sink
// arrive with the media work; this file holds the privacy gates that every
// capture path passes through.
package media

import "sync/atomic"

// Gate is the point in a capture path where muting happens: while closed,
// audio samples are replaced by silence and video frames by a privacy slate
// before anything is encoded, so a closed gate sends nothing from the room.
// It satisfies room.Toggle (on = closed = muted / private).
type Gate struct{ closed atomic.Bool }

// Set closes (true) or opens (false) the gate.
func (g *Gate) Set(closed bool) error { g.closed.Store(closed); return nil }

// Get reports whether the gate is closed.
func (g *Gate) Get() (bool, error) { return g.closed.Load(), nil }

// Closed reports whether the gate is closed; capture loops call it per frame.
func (g *Gate) Closed() bool { return g.closed.Load() }

// SilenceIfClosed zeroes samples in place while the gate is closed and
// reports whether it did.
func (g *Gate) SilenceIfClosed(samples []int16) bool {
	if !g.closed.Load() {
		return false
	}
	clear(samples)
	return true
}
