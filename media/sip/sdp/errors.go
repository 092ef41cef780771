package sdp

import (
	"errors"
	"fmt"
)

// Bounds on a far end's description, checked before parsing. Real
// descriptions are a few kilobytes with two to four m-lines.
const (
	MaxSize       = 64 << 10
	MaxMediaLines = 16
	// maxCandidates is how many ICE candidates per stream are kept.
	maxCandidates = 32
)

// Error classes callers branch on (media/sip/ua maps them to SIP status
// codes).
var (
	// ErrNotAcceptable: no common codec or encryption (SIP 488). Every
	// refusal below matches it.
	ErrNotAcceptable = errors.New("sdp: no acceptable media")
	// ErrMalformed: the description does not parse or is too large (400).
	ErrMalformed = errors.New("sdp: malformed session description")
	// ErrNoOffer: Answered was called with no offer outstanding.
	ErrNoOffer = errors.New("sdp: no offer is waiting for an answer; the far end answered twice or out of turn")
)

// refusal is a reason the far end's media cannot be taken.
type refusal string

func (r refusal) Error() string { return string(r) }

// Is makes every refusal match ErrNotAcceptable.
func (r refusal) Is(target error) bool { return target == ErrNotAcceptable }

// Refusals callers may match with errors.Is; others are formatted with
// the far end's details and match only ErrNotAcceptable.
var (
	// ErrPlainRTP: the far end can only do plain RTP and the policy
	// requires encryption.
	ErrPlainRTP error = refusal("sdp: far end offers only plain RTP and encryption is required; set the SIP encryption policy to preferred to call it unencrypted")
	// ErrNoDTLS: the far end wants DTLS-SRTP and roomd has no certificate.
	ErrNoDTLS error = refusal("sdp: far end offers only DTLS-SRTP and roomd has no DTLS certificate for this call")
	// ErrNoAudio: no usable audio stream.
	ErrNoAudio error = refusal("sdp: far end offers no audio stream roomd can use")
)

// refusef formats a refusal.
func refusef(format string, args ...any) error { return refusal(fmt.Sprintf(format, args...)) }

// malformed wraps a parse failure.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+"; the far end's SDP is broken", append([]any{ErrMalformed}, args...)...)
}
