package provider

import "context"

// DTMFSender is an optional interface of a Provider that can send tones
// into the call it runs (SIP: RFC 4733 events, else SIP INFO). The engine
// gives it the room's SendDTMF.
type DTMFSender interface {
	// SendDTMF sends digits (0-9 * # A-D, ',' a two-second pause) into
	// the provider's call in progress and returns when the last one has
	// been sent, or with ctx's error. The digits may be a passcode: never
	// log them.
	SendDTMF(ctx context.Context, digits string) error
}

// Decliner is an optional interface of a Provider that rings the room with
// incoming calls (SIP): Decline refuses the ringing call id.
type Decliner interface {
	Decline(id string)
}
