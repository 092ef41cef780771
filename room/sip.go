package room

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// CallControl is optional: a [CallEngine] that also implements it can send
// DTMF tones into a call and decline ringing incoming calls. The room checks
// for it by type assertion; an engine without it cannot send tones, and a
// call it lets ring is never answered.
//
// Both methods must not block: the engine reports what followed with
// Room.Report.
type CallControl interface {
	// SendDTMF sends digits into the call the room started with seq:
	// 0-9 * # A-D, ',' a pause. The room has validated them.
	SendDTMF(seq uint64, digits string) error
	// Decline refuses the ringing incoming call id (the engine answers
	// 603 Decline, or 486 Busy Here when the room is in a call).
	Decline(id string)
}

// ErrNoTones refuses a [SendDTMF] when the call engine in use has no
// [CallControl]. It wraps ErrInvalid.
var ErrNoTones = fmt.Errorf("%w: this call cannot send tones", ErrInvalid)

// MaxDTMFDigits is the longest digit string a [SendDTMF] may carry.
const MaxDTMFDigits = 64

// dtmfDigits are the characters a DTMF string may hold: RFC 4733 events
// 0-15 and ',' for a pause.
const dtmfDigits = "0123456789*#ABCD,"

// ValidDTMF checks a digit string for [SendDTMF]: 1 to [MaxDTMFDigits] of
// 0-9 * # A-D and ',' (a pause).
func ValidDTMF(digits string) error {
	if digits == "" || len(digits) > MaxDTMFDigits {
		return fmt.Errorf("%w: send 1 to %d tones", ErrInvalid, MaxDTMFDigits)
	}
	if i := strings.IndexFunc(digits, func(r rune) bool { return !strings.ContainsRune(dtmfDigits, r) }); i >= 0 {
		return fmt.Errorf("%w: %q is not a tone; use 0-9 * # A-D and ',' for a pause", ErrInvalid, digits[i:i+1])
	}
	return nil
}

// IncomingCall is a call ringing the room, shown on the panel's
// incoming-call sheet until someone accepts or declines it or the caller
// gives up.
type IncomingCall struct {
	ID      string    // the engine's identifier for the ringing call
	From    string    // the caller's SIP URI
	Display string    // the caller's display name, "" if it sent none
	Since   time.Time // when it started ringing
}

// IsZero reports whether no call is ringing.
func (c IncomingCall) IsZero() bool { return c.ID == "" }

// SIP registration statuses, as in xStatus SIP Registration Status.
const (
	SIPOff         = "Off"         // no account is configured, or registration is switched off
	SIPRegistering = "Registering" // a REGISTER is under way
	SIPRegistered  = "Registered"  // the registrar accepted the room
	SIPFailed      = "Failed"      // the last attempt failed; Reason says why
)

// SIPRegistration is the room's SIP account as the call engine last
// reported it.
type SIPRegistration struct {
	Status string    // SIPOff, SIPRegistering, SIPRegistered or SIPFailed
	Reason string    // why it failed, "" otherwise
	URI    string    // the address of record, e.g. sip:room@example.com
	Since  time.Time // when Status last changed
}

// SIP actions.
type (
	// AcceptIncoming answers the ringing incoming call: it becomes a
	// [Join] of the caller from the surface that accepts, so a call
	// answered from outside the room starts muted and private like any
	// other join from outside. ID, when set, must name the ringing call.
	AcceptIncoming struct{ ID string }
	// DeclineIncoming refuses the ringing incoming call. ID, when set,
	// must name the ringing call.
	DeclineIncoming struct{ ID string }
	// SendDTMF sends tones into the call (an IVR's meeting ID or
	// passcode): 0-9 * # A-D, ',' a pause; see [ValidDTMF].
	SendDTMF struct{ Digits string }
)

func (AcceptIncoming) action()  {}
func (DeclineIncoming) action() {}
func (SendDTMF) action()        {}

// String keeps the tones out of logs: they are often a passcode.
func (SendDTMF) String() string { return "SendDTMF{Digits:<redacted>}" }

// SIP reports the call engine sends with Room.Report.
type (
	// IncomingCallReported says a call is ringing. From is the caller's
	// SIP URI, Display its name. At is when it started ringing; zero
	// means when the room received the report.
	IncomingCallReported struct {
		ID, From, Display string
		At                time.Time
	}
	// IncomingCallGone says the ringing call ID stopped ringing: the
	// caller gave up, or the ring timed out (Reason says which).
	IncomingCallGone struct{ ID, Reason string }
	// SIPRegistrationReported is the SIP account's registration state.
	// Status is SIPOff, SIPRegistering, SIPRegistered or SIPFailed; an
	// empty Status means SIPOff.
	SIPRegistrationReported struct {
		Status, Reason, URI string
		Since               time.Time
	}
)

func (IncomingCallReported) input()    {}
func (IncomingCallGone) input()        {}
func (SIPRegistrationReported) input() {}

func (IncomingCallReported) report()    {}
func (IncomingCallGone) report()        {}
func (SIPRegistrationReported) report() {}

// SIP effects.
type (
	// DeclineCall asks the engine to refuse the ringing call ID.
	DeclineCall struct{ ID string }
	// SendTones asks the engine to send Digits into call Seq.
	SendTones struct {
		Seq    uint64
		Digits string
	}
)

func (DeclineCall) effect() {}
func (SendTones) effect()   {}

// String keeps the tones out of logs.
func (e SendTones) String() string { return fmt.Sprintf("SendTones{Seq:%d Digits:<redacted>}", e.Seq) }

// IncomingMeetingPrefix starts the Meeting.ID of an answered incoming call.
const IncomingMeetingPrefix = "incoming-"

// errIncomingWhileBusy is what Next says about a call that rings while the
// room is in a call or another call rings; the room logs it, the engine
// has already answered busy.
var errIncomingWhileBusy = errors.New("room: incoming call ignored")

// sipReport applies the SIP reports.
func sipReport(s State, in Input) (State, Outcome, error) {
	var out Outcome
	switch in := in.(type) {
	case IncomingCallReported:
		if in.ID == "" {
			return s, out, fmt.Errorf("room: the call engine reported an incoming call without an ID")
		}
		if s.Call.Active() {
			return s, out, fmt.Errorf("%w: call %s from %s rang while the room is %s (the engine answers busy)", errIncomingWhileBusy, in.ID, in.From, s.Call)
		}
		if !s.Incoming.IsZero() && s.Incoming.ID != in.ID {
			return s, out, fmt.Errorf("%w: call %s from %s rang while call %s still rings", errIncomingWhileBusy, in.ID, in.From, s.Incoming.ID)
		}
		s.Incoming = IncomingCall{ID: in.ID, From: in.From, Display: in.Display, Since: in.At}
		out.Events = append(out.Events, Event{Name: "IncomingCall", Fields: []string{"RemoteUri", in.From, "DisplayName", in.Display, "Id", in.ID}})
	case IncomingCallGone:
		if s.Incoming.IsZero() || s.Incoming.ID != in.ID {
			return s, out, nil // answered, declined or never shown
		}
		s.Incoming = IncomingCall{}
		out.Events = append(out.Events, Event{Name: "IncomingCallCancelled", Fields: []string{"Id", in.ID, "Reason", in.Reason}})
	case SIPRegistrationReported:
		st := in.Status
		if st == "" {
			st = SIPOff
		}
		s.SIP = SIPRegistration{Status: st, Reason: in.Reason, URI: in.URI, Since: in.Since}
	}
	return s, out, nil
}

// ringing returns the ringing call id names, or an error.
func ringing(s State, id string) (IncomingCall, error) {
	if s.Incoming.IsZero() {
		return IncomingCall{}, fmt.Errorf("%w: no call is ringing", ErrInvalid)
	}
	if id != "" && id != s.Incoming.ID {
		return IncomingCall{}, fmt.Errorf("%w: call %s is not ringing (call %s is)", ErrInvalid, id, s.Incoming.ID)
	}
	return s.Incoming, nil
}

// sipCommand carries out the SIP actions.
func sipCommand(s State, c Command) (State, Outcome, error) {
	refuse := func(err error) (State, Outcome, error) { return s, Outcome{}, err }
	switch a := c.Do.(type) {
	case AcceptIncoming:
		ic, err := ringing(s, a.ID)
		if err != nil {
			return refuse(err)
		}
		// The same path as any join: the surface decides whether the
		// call starts muted and private.
		m := Meeting{ID: IncomingMeetingPrefix + ic.ID, URI: ic.From, Incoming: ic.ID, Title: ic.Display}
		return command(s, Command{From: c.From, Do: Join{Meeting: m}})
	case DeclineIncoming:
		ic, err := ringing(s, a.ID)
		if err != nil {
			return refuse(err)
		}
		s.Incoming = IncomingCall{}
		return s, Outcome{
			Effects: []Effect{DeclineCall{ID: ic.ID}},
			Events:  []Event{{Name: "IncomingCallDeclined", Fields: []string{"Id", ic.ID, "By", c.From.String()}}},
		}, nil
	case SendDTMF:
		if err := ValidDTMF(a.Digits); err != nil {
			return refuse(err)
		}
		if s.Call != InCall {
			return refuse(fmt.Errorf("%w: tones go into a connected call (the room is %s)", ErrNotInCall, s.Call))
		}
		return s, Outcome{Effects: []Effect{SendTones{Seq: s.CallSeq, Digits: a.Digits}}}, nil
	}
	return refuse(fmt.Errorf("%w: unknown action %T", ErrInvalid, c.Do))
}

// Equal reports whether two incoming calls are the same, ringing since the
// same instant.
func (c IncomingCall) Equal(o IncomingCall) bool {
	return c.ID == o.ID && c.From == o.From && c.Display == o.Display && c.Since.Equal(o.Since)
}

// Equal reports whether two registrations say the same.
func (r SIPRegistration) Equal(o SIPRegistration) bool {
	return r.Status == o.Status && r.Reason == o.Reason && r.URI == o.URI && r.Since.Equal(o.Since)
}
