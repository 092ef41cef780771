package ua

import (
	"errors"
	"fmt"

	"github.com/roomd/roomd/media/call/provider"
)

// Why a call failed, as this package sees it; Classify maps them onto the
// provider failure classes. Match them with errors.Is.
var (
	// ErrNotFound: no such user or meeting at that address (404, 410, 484, 604).
	ErrNotFound = errors.New("sip: no one answers to that address")
	// ErrBusy: the far end is busy (486, 600).
	ErrBusy = errors.New("sip: the far end is busy")
	// ErrDeclined: the far end declined the call (603).
	ErrDeclined = errors.New("sip: the far end declined the call")
	// ErrNotAcceptable: no common codec or encryption (488, 606, 415, or
	// an answer the Negotiator refused).
	ErrNotAcceptable = errors.New("sip: no common codec or encryption")
	// ErrUnreachable: nothing answered in time, or the far end is not
	// reachable now (408, 480, 503, 504, transport errors).
	ErrUnreachable = errors.New("sip: the far end is unreachable")
	// ErrAuth: a proxy or the far end refused the room's credentials
	// (401/407 after authenticating, 403).
	ErrAuth = errors.New("sip: the credentials were refused")
	// ErrRefused: any other final refusal (other 4xx, 6xx, too many
	// redirects).
	ErrRefused = errors.New("sip: the call was refused")
	// ErrServer: the far end or a proxy failed (other 5xx); worth a retry.
	ErrServer = errors.New("sip: the far end's server failed")
)

var classes = provider.Classes{
	{Own: ErrNotFound, Class: provider.ErrNotFound},
	{Own: ErrBusy, Class: provider.ErrFull},
	{Own: ErrDeclined, Class: provider.ErrRefused},
	{Own: ErrNotAcceptable, Class: provider.ErrRefused},
	{Own: ErrUnreachable, Class: provider.ErrUnreachable},
	{Own: ErrAuth, Class: provider.ErrRefused},
	{Own: ErrRefused, Class: provider.ErrRefused},
	// ErrServer stays unclassified: the engine retries it with backoff.
}

// Classify marks err with the provider failure class of its cause (see
// the sentinel errors above); other errors stay as they are.
func Classify(err error) error { return classes.Classify(err) }

// CallError is a call's final failure: the SIP status (0 when no response
// came), a reason a person in the room understands, and the sentinel
// error it is one of.
type CallError struct {
	Code   int    // SIP status code, 0 for timeouts and transport errors
	Phrase string // the far end's reason phrase
	Reason string // what the room shows
	Kind   error  // one of ErrNotFound, ErrBusy ...
	Err    error  // the underlying error, if any
}

func (e *CallError) Error() string {
	msg := "sip: " + e.Reason
	if e.Code != 0 {
		msg += fmt.Sprintf(" (%d %s)", e.Code, e.Phrase)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the sentinel and the underlying error.
func (e *CallError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// statusReasons is the user-facing reason for the common final statuses;
// reasonFor falls back on the class of the status.
var statusReasons = map[int]struct {
	kind   error
	reason string
}{
	401: {ErrAuth, "the far end refused the room's credentials; check the SIP account"},
	403: {ErrAuth, "the far end or its proxy forbids this call; check the address and the SIP account"},
	404: {ErrNotFound, "no one answers to that address; check the address"},
	407: {ErrAuth, "the proxy refused the room's credentials; check the SIP account"},
	408: {ErrUnreachable, "the far end did not answer in time; check the address and the network"},
	410: {ErrNotFound, "that address is gone; check the address"},
	415: {ErrNotAcceptable, "no common codec or encryption"},
	480: {ErrUnreachable, "the far end is unavailable now; try again later"},
	484: {ErrNotFound, "the address is incomplete; check the address"},
	486: {ErrBusy, "the far end is busy; try again later"},
	487: {ErrRefused, "the call was cancelled"},
	488: {ErrNotAcceptable, "no common codec or encryption"},
	500: {ErrServer, "the far end's server failed; try again later"},
	503: {ErrUnreachable, "the far end's service is unavailable; try again later"},
	504: {ErrUnreachable, "a proxy on the way timed out; check the address and the network"},
	600: {ErrBusy, "the far end is busy everywhere; try again later"},
	603: {ErrDeclined, "the far end declined the call"},
	604: {ErrNotFound, "that address does not exist anywhere; check the address"},
	606: {ErrNotAcceptable, "no common codec or encryption"},
}

// reasonFor explains a final non-2xx status.
func reasonFor(code int, phrase string) *CallError {
	if r, ok := statusReasons[code]; ok {
		return &CallError{Code: code, Phrase: phrase, Reason: r.reason, Kind: r.kind}
	}
	e := &CallError{Code: code, Phrase: phrase}
	switch {
	case code >= 300 && code < 400:
		e.Kind, e.Reason = ErrRefused, "the far end redirected the call too many times"
	case code >= 400 && code < 500:
		e.Kind, e.Reason = ErrRefused, "the far end refused the call"
	case code >= 500 && code < 600:
		e.Kind, e.Reason = ErrServer, "the far end's server failed; try again later"
	default:
		e.Kind, e.Reason = ErrRefused, "the far end refused the call everywhere"
	}
	return e
}
