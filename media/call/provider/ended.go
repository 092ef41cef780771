package provider

import "errors"

// Ends of a call that are not join failures: a provider wraps its own
// error with one of them (Classify), and the engine shows the provider's
// reason (WithReason, else the error's message).
var (
	// ErrEnded: the far end ended the call (a SIP BYE); the room goes
	// back to idle and does not rejoin.
	ErrEnded = errors.New("call: the far end ended the call")
	// ErrMediaLost: the far end's media stopped and calling back did not
	// bring it back; the call fails with the provider's reason.
	ErrMediaLost = errors.New("call: no media from the far end; check the network and the far end")
)

// WithReason returns err with why, the words the room shows for it (a SIP
// status's meaning: "the far end declined the call"), instead of its
// class's general reason. errors.Is and errors.As still see err's chain.
func WithReason(err error, why string) error {
	if err == nil || why == "" {
		return err
	}
	return reasoned{err: err, why: why}
}

// ReasonOf is the reason WithReason gave err, or "".
func ReasonOf(err error) string {
	var r reasoned
	if errors.As(err, &r) {
		return r.why
	}
	return ""
}

type reasoned struct {
	err error
	why string
}

func (r reasoned) Error() string { return r.err.Error() }
func (r reasoned) Unwrap() error { return r.err }
