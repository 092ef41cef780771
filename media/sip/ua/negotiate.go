package ua

import (
	"fmt"
	"time"
)

// Direction is the media direction the room asks for in an offer
// (RFC 3264 section 5.1).
type Direction int

// The directions.
const (
	SendRecv Direction = iota
	SendOnly           // the room holds the far end
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Offerer makes the room's SDP offers and takes the far end's answers.
type Offerer interface {
	// Offer returns an SDP offer with media direction dir.
	Offer(dir Direction) ([]byte, error)
	// Accept takes the far end's answer to the last offer; an error means
	// nothing in it is usable, and the call fails as not acceptable.
	Accept(answer []byte) error
}

// Answerer answers the far end's SDP offers.
type Answerer interface {
	// Answer returns the answer to offer; an error refuses it (488).
	Answer(offer []byte) ([]byte, error)
}

// Negotiator is the SDP side of one call: both, since either side may
// re-offer during the call (hold, resume, session refresh).
type Negotiator interface {
	Offerer
	Answerer
}

// Handlers receive what the far end asks for during a call. They run on
// the agent's goroutines and must return quickly; nil ones are skipped.
type Handlers struct {
	// Progress reports provisional responses of an outgoing call (180
	// ringing, 183 session progress).
	Progress func(code int, phrase string)
	// FastUpdate is a SIP INFO picture_fast_update: send a key frame.
	FastUpdate func()
	// DTMF is a digit sent by SIP INFO (application/dtmf-relay or
	// application/dtmf).
	DTMF func(digit rune, duration time.Duration)
}
