package provider

import "errors"

// Ends of a call that are not join failures: a provider wraps its own
// error with one of them (Classify), and the engine shows the provider's
// message as the reason.
var (
	// ErrEnded: the far end ended the call (a SIP BYE); the room goes
	// back to idle and does not rejoin.
	ErrEnded = errors.New("call: the far end ended the call")
	// ErrMediaLost: the far end's media stopped and did not come back;
	// the call fails with the provider's reason.
	ErrMediaLost = errors.New("call: no media from the far end; check the network and the far end")
)
