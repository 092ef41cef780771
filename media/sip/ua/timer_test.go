package ua

import (
	"context"
	"testing"
	"time"
)

// TestSessionTimer: the caller refreshes every half interval (UPDATE,
// since the callee allows it), which restarts the callee's expiry; when
// refreshes stop, the callee ends the call with BYE (RFC 4028 section 10).
func TestSessionTimer(t *testing.T) {
	calleeClock, callerClock := newFakeClock(), newFakeClock()
	callee, incoming := ringingUA(t, Config{Clock: calleeClock, SessionExpires: 90 * time.Second})
	caller := startUA(t, Config{Clock: callerClock, SessionExpires: 90 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, in := callBetween(ctx, t, caller, callee, incoming, UDP)
	if got := callerClock.nextDue(); got != 45*time.Second {
		t.Errorf("caller refreshes in %v; want 45s (half of 90s)", got)
	}
	if got := calleeClock.nextDue(); got != 60*time.Second {
		t.Errorf("callee expires the session in %v; want 60s (90s less a third)", got)
	}

	calleeClock.Advance(50 * time.Second)
	callerClock.Advance(45 * time.Second)
	eventually(t, 5*time.Second, "the callee hears the refresh", func() bool { return calleeClock.nextDue() == 60*time.Second })
	eventually(t, 5*time.Second, "the caller re-arms", func() bool { return callerClock.nextDue() == 45*time.Second })

	calleeClock.Advance(60 * time.Second) // no refresh this time
	if !within(t, out.Done(), 5*time.Second, "the caller's call after the callee's BYE") {
		t.FailNow()
	}
	within(t, in.Done(), 5*time.Second, "the callee's call")
	if e := in.End(); e.Reason != "the far end stopped refreshing the session" {
		t.Errorf("callee's end %+v; want the far end stopped refreshing the session", e)
	}
	if e := out.End(); !e.Remote {
		t.Errorf("caller's end %+v; want remote", e)
	}
}

func TestParseSessionExpires(t *testing.T) {
	for _, tc := range []struct {
		in   string
		d    time.Duration
		who  string
		okay bool
	}{
		{"1800", 1800 * time.Second, "", true},
		{"90;refresher=uac", 90 * time.Second, "uac", true},
		{" 600 ; Refresher=UAS", 600 * time.Second, "uas", true},
		{"x;refresher=uac", 0, "", false},
		{"-5", 0, "", false},
		{"", 0, "", false},
	} {
		d, who, ok := parseSessionExpires(tc.in)
		if d != tc.d || who != tc.who || ok != tc.okay {
			t.Errorf("parseSessionExpires(%q) = %v, %q, %v; want %v, %q, %v", tc.in, d, who, ok, tc.d, tc.who, tc.okay)
		}
	}
}
