package siptest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// commandTimeout bounds one ctrl_tcp command; baresip answers at once.
const commandTimeout = 5 * time.Second

// Command runs one of baresip's long commands (those of its menu module and
// loaded modules, as `baresip -h`'s /help lists them) with params, and
// returns what it printed.
func (b *Baresip) Command(cmd, params string) (string, error) {
	if b.ctrl == nil {
		return "", errors.New("siptest: baresip is not running; Restart it first")
	}
	return b.ctrl.command(cmd, params, commandTimeout)
}

// must runs cmd and fails the test if baresip refuses it.
func (b *Baresip) must(cmd, params string) {
	b.t.Helper()
	if _, err := b.Command(cmd, params); err != nil {
		b.t.Fatalf("%v\nbaresip output:\n%s", err, b.Log())
	}
}

// Dial calls uri (with audio and video).
func (b *Baresip) Dial(uri string) { b.t.Helper(); b.must("dial", uri) }

// Hangup ends the current call (or refuses the ringing one).
func (b *Baresip) Hangup() { b.t.Helper(); b.must("hangup", "") }

// Accept answers the ringing call.
func (b *Baresip) Accept() { b.t.Helper(); b.must("accept", "") }

// Hold puts the current call on hold (re-INVITE with sendonly).
func (b *Baresip) Hold() { b.t.Helper(); b.must("hold", "") }

// Resume takes the current call off hold.
func (b *Baresip) Resume() { b.t.Helper(); b.must("resume", "") }

// ToggleMute mutes or unmutes the agent's microphone (baresip has one
// toggle).
func (b *Baresip) ToggleMute() { b.t.Helper(); b.must("mute", "") }

// SendDTMF sends digits (0-9 * # A-D) in the current call as RFC 4733
// telephone-events.
func (b *Baresip) SendDTMF(digits string) { b.t.Helper(); b.must("sndcode", digits) }

// SetAutoAnswer switches between answering at once and ringing.
func (b *Baresip) SetAutoAnswer(on bool) {
	b.t.Helper()
	mode := "manual"
	if on {
		mode = "auto"
	}
	b.must("answermode", mode)
}

// WaitEvent returns the next event, after those an earlier wait consumed,
// for which match is true, and consumes it and the events before it.
// It returns an error wrapping ErrTimeout when none comes within timeout.
func (b *Baresip) WaitEvent(timeout time.Duration, match func(Event) bool) (Event, error) {
	if b.ctrl == nil {
		return Event{}, errors.New("siptest: baresip is not running")
	}
	ev, err := b.ctrl.waitEvent(timeout, match)
	if errors.Is(err, ErrTimeout) {
		return ev, fmt.Errorf("siptest: no such baresip event within %v (seen: %s): %w", timeout, b.eventSummary(), err)
	}
	return ev, err
}

// Expect waits up to timeout for the next event of one of types and fails
// the test if none comes.
func (b *Baresip) Expect(timeout time.Duration, types ...string) Event {
	b.t.Helper()
	ev, err := b.WaitEvent(timeout, func(e Event) bool {
		for _, typ := range types {
			if e.Type == typ {
				return true
			}
		}
		return false
	})
	if err != nil {
		b.t.Fatalf("waiting for %v: %v", types, err)
	}
	return ev
}

// Events returns every event of this run so far.
func (b *Baresip) Events() []Event {
	if b.ctrl == nil {
		return nil
	}
	return b.ctrl.allEvents()
}

// DTMFReceived returns the digits baresip has received in calls, in order.
func (b *Baresip) DTMFReceived() string {
	var s strings.Builder
	for _, e := range b.Events() {
		if e.Type == EventCallDTMFStart {
			s.WriteString(e.Param)
		}
	}
	return s.String()
}

// Secured returns the media components baresip's media encryption has
// reported secure in calls (CALL_MENC events of MENC_EVENT_SECURE), in
// order, as "audio,RTP", "video,RTCP" and so on: dtls_srtp reports each
// DTLS association, one per component without rtcp-mux.
func (b *Baresip) Secured() []string {
	var out []string
	for _, e := range b.Events() {
		if e.Type != EventCallMenc {
			continue
		}
		// "0,audio,RTP": baresip 1.0.0's event number, then the
		// module's parameter.
		if ev, comp, ok := strings.Cut(e.Param, ","); ok && ev == "0" {
			out = append(out, comp)
		}
	}
	return out
}

func (b *Baresip) eventSummary() string {
	var s []string
	for _, e := range b.Events() {
		if e.Type == EventCallRTCP {
			continue
		}
		s = append(s, e.String())
	}
	return strings.Join(s, " ")
}
