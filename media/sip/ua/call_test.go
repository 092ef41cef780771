package ua

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/call/provider"
)

// ringingUA returns a UA that rings and hands each inbound call to calls.
func ringingUA(t *testing.T, cfg Config) (*UA, chan *IncomingCall) {
	t.Helper()
	calls := make(chan *IncomingCall, 4)
	cfg.Inbound = Policy{Kind: PolicyRing}
	cfg.OnIncoming = func(ic *IncomingCall) { calls <- ic }
	return startUA(t, cfg), calls
}

// callBetween has caller dial callee's contact on transport tr while the
// callee accepts; it returns both ends of the call, and fails the test if
// either is missing.
func callBetween(ctx context.Context, t *testing.T, caller, callee *UA, incoming chan *IncomingCall, tr Transport) (out, in *Call) {
	t.Helper()
	accepted := make(chan *Call, 1)
	go func() {
		var c *Call
		defer func() { accepted <- c }()
		ic := nextIncoming(t, incoming)
		if ic == nil {
			return
		}
		var err error
		if c, err = ic.Accept(ctx, &pcmu{host: "127.0.0.1"}, Handlers{}); err != nil {
			t.Errorf("Accept: %v", err)
		}
	}()
	out, err := caller.Dial(ctx, callee.Contact(tr), &pcmu{host: "127.0.0.1"}, Handlers{})
	in = <-accepted
	if err != nil {
		t.Fatalf("Dial over %s: %v", tr, err)
	}
	if in == nil {
		t.Fatal("the callee has no call")
	}
	return out, in
}

func nextIncoming(t *testing.T, calls chan *IncomingCall) *IncomingCall {
	t.Helper()
	select {
	case ic := <-calls:
		return ic
	case <-time.After(5 * time.Second):
		t.Error("no inbound call")
		return nil
	}
}

// TestLoopbackCall: two agents call each other without a registrar; hold
// and resume both ways, picture_fast_update both ways, BYE from the
// callee reaches the caller with a reason.
func TestLoopbackCall(t *testing.T) {
	callee, incoming := ringingUA(t, Config{User: "callee", Display: "Room B"})
	caller := startUA(t, Config{User: "caller", Display: "Room A"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var calleeFU, callerFU atomic.Int32
	var progress atomic.Int32
	var digits testtool.LockedBuffer // the DTMF the callee got
	rang := make(chan struct{})
	calleeNeg := &pcmu{host: "127.0.0.1"}
	accepted := make(chan *Call, 1)
	go func() {
		ic := nextIncoming(t, incoming)
		if ic == nil {
			accepted <- nil
			return
		}
		if ic.From != "sip:caller@127.0.0.1" || ic.Display != "Room A" {
			t.Errorf("incoming From %q display %q; want sip:caller@127.0.0.1, Room A", ic.From, ic.Display)
		}
		if !within(t, rang, 5*time.Second, "180 Ringing at the caller") {
			accepted <- nil
			return
		}
		c, err := ic.Accept(ctx, calleeNeg, Handlers{
			FastUpdate: func() { calleeFU.Add(1) },
			DTMF:       func(d rune, dur time.Duration) { fmt.Fprintf(&digits, "%c/%v ", d, dur) },
		})
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		accepted <- c
	}()
	callerNeg := &pcmu{host: "127.0.0.1"}
	c, err := caller.Dial(ctx, callee.Contact(UDP), callerNeg, Handlers{
		Progress: func(code int, _ string) {
			if progress.Swap(int32(code)) == 0 {
				close(rang)
			}
		},
		FastUpdate: func() { callerFU.Add(1) },
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	in := <-accepted
	if in == nil {
		t.Fatal("callee has no call")
	}
	if progress.Load() != 180 {
		t.Errorf("caller saw progress %d; want 180 Ringing", progress.Load())
	}
	if got := calleeNeg.answeredDirs(); !slices.Equal(got, []string{"sendrecv"}) {
		t.Errorf("callee answered %v; want [sendrecv]", got)
	}

	// Hold and resume from the caller, then from the callee.
	if err := c.Hold(ctx); err != nil {
		t.Fatalf("caller Hold: %v", err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatalf("caller Resume: %v", err)
	}
	if got := calleeNeg.answeredDirs(); !slices.Equal(got, []string{"sendrecv", "sendonly", "sendrecv"}) {
		t.Errorf("callee answered %v; want [sendrecv sendonly sendrecv]", got)
	}
	if err := in.Hold(ctx); err != nil {
		t.Fatalf("callee Hold: %v", err)
	}
	if err := in.Resume(ctx); err != nil {
		t.Fatalf("callee Resume: %v", err)
	}
	if got := callerNeg.answeredDirs(); !slices.Equal(got, []string{"sendonly", "sendrecv"}) {
		t.Errorf("caller answered %v; want [sendonly sendrecv]", got)
	}

	if err := c.SendFastUpdate(ctx); err != nil {
		t.Fatalf("caller SendFastUpdate: %v", err)
	}
	if err := in.SendFastUpdate(ctx); err != nil {
		t.Fatalf("callee SendFastUpdate: %v", err)
	}
	if calleeFU.Load() != 1 || callerFU.Load() != 1 {
		t.Errorf("fast updates: callee got %d, caller got %d; want 1 each", calleeFU.Load(), callerFU.Load())
	}
	for _, d := range "1#" {
		if err := c.SendDTMF(ctx, d, 160*time.Millisecond); err != nil {
			t.Fatalf("SendDTMF: %v", err)
		}
	}
	if err := c.SendDTMF(ctx, 'x', time.Second); err == nil {
		t.Error("SendDTMF('x') sent something that is no digit")
	}
	if got := digits.String(); got != "1/160ms #/160ms " {
		t.Errorf("callee got DTMF %q; want '1/160ms #/160ms '", got)
	}

	if err := in.Hangup(ctx); err != nil {
		t.Fatalf("callee Hangup: %v", err)
	}
	if !within(t, c.Done(), 5*time.Second, "caller's call after the callee's BYE") {
		t.FailNow()
	}
	if e := c.End(); !e.Remote || e.Reason != "the far end hung up" {
		t.Errorf("caller's end = %+v; want remote, 'the far end hung up'", e)
	}
	if e := in.End(); e.Remote || e.Reason != "the room hung up" {
		t.Errorf("callee's end = %+v; want local, 'the room hung up'", e)
	}

	// The slot is free again: the caller can call once more, and hang up.
	c2, in2 := callBetween(ctx, t, caller, callee, incoming, UDP)
	if err := c2.Hangup(ctx); err != nil {
		t.Fatalf("caller Hangup: %v", err)
	}
	within(t, in2.Done(), 5*time.Second, "callee's call after the caller's BYE")
	if e := in2.End(); !e.Remote {
		t.Errorf("callee's end = %+v; want remote", e)
	}
}

// TestDeclineAndPolicy: a declined call, a busy room, a refused offer and
// the default policy each give the caller the right reason and class.
func TestDeclineAndPolicy(t *testing.T) {
	callee, incoming := ringingUA(t, Config{})
	closed := startUA(t, Config{}) // PolicyOff
	caller := startUA(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	answer := func(f func(*IncomingCall)) {
		go func() {
			if ic := nextIncoming(t, incoming); ic != nil {
				f(ic)
			}
		}()
	}
	cases := []struct {
		name   string
		to     string
		answer func(*IncomingCall)
		kind   error
		class  error
		code   int
	}{
		{"declined", callee.Contact(UDP), func(ic *IncomingCall) { ic.Decline(false) }, ErrDeclined, provider.ErrRefused, 603},
		{"busy", callee.Contact(UDP), func(ic *IncomingCall) { ic.Decline(true) }, ErrBusy, provider.ErrFull, 486},
		{"no common codec", callee.Contact(UDP), func(ic *IncomingCall) {
			if _, err := ic.Accept(ctx, &pcmu{refuse: true}, Handlers{}); !errors.Is(err, ErrNotAcceptable) {
				t.Errorf("Accept with a refusing negotiator: %v; want ErrNotAcceptable", err)
			}
		}, ErrNotAcceptable, provider.ErrRefused, 488},
		{"inbound off", closed.Contact(UDP), nil, ErrAuth, provider.ErrRefused, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.answer != nil {
				answer(tc.answer)
			}
			_, err := caller.Dial(ctx, tc.to, &pcmu{host: "127.0.0.1"}, Handlers{})
			var ce *CallError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("Dial: %v; want a CallError with %d", err, tc.code)
			}
			if !errors.Is(err, tc.kind) || !errors.Is(Classify(err), tc.class) {
				t.Errorf("Dial: %v; want %v classified %v", err, tc.kind, tc.class)
			}
		})
	}
}

// TestCancelBeforeAnswer: the caller gives up while the room rings; the
// room's IncomingCall says so and the slot is free again.
func TestCancelBeforeAnswer(t *testing.T) {
	callee, incoming := ringingUA(t, Config{})
	caller := startUA(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	ringing := make(chan *IncomingCall, 1)
	go func() { ringing <- nextIncoming(t, incoming) }()
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := caller.Dial(ctx, callee.Contact(UDP), &pcmu{host: "127.0.0.1"}, Handlers{})
		errc <- err
	}()
	ic := <-ringing
	if ic == nil {
		t.FailNow()
	}
	cancel()
	within(t, ic.Done(), 5*time.Second, "the ringing call after CANCEL")
	if got := ic.Gone(); got != "the caller hung up" {
		t.Errorf("Gone = %q; want 'the caller hung up'", got)
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Dial after cancel: %v; want context.Canceled", err)
	}
	if _, err := ic.Accept(context.Background(), &pcmu{}, Handlers{}); !errors.Is(err, errCallGone) {
		t.Errorf("Accept after CANCEL: %v; want errCallGone", err)
	}
	if !callee.takeSlot() {
		t.Error("the callee's call slot was not freed")
	}
}

// TestRingTimeout: nobody answers; the caller gets 480 after the ring
// timeout of the callee's clock.
func TestRingTimeout(t *testing.T) {
	clock := newFakeClock()
	callee, incoming := ringingUA(t, Config{Clock: clock})
	caller := startUA(t, Config{})
	go func() {
		ic := nextIncoming(t, incoming)
		if ic == nil {
			return
		}
		for clock.pending() == 0 {
			time.Sleep(time.Millisecond)
		}
		clock.Advance(time.Minute)
		within(t, ic.Done(), 5*time.Second, "the ringing call after the ring timeout")
	}()
	_, err := caller.Dial(context.Background(), callee.Contact(UDP), &pcmu{host: "127.0.0.1"}, Handlers{})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "480") {
		t.Errorf("Dial: %v; want 480 as ErrUnreachable", err)
	}
}

// TestGlare: a re-offer that meets one of the far end's own gets 491, and
// is tried again after 2.1–4 s (RFC 3261 14.1).
func TestGlare(t *testing.T) {
	callerClock := newFakeClock()
	callee, incoming := ringingUA(t, Config{})
	caller := startUA(t, Config{Clock: callerClock})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, in := callBetween(ctx, t, caller, callee, incoming, UDP)
	in.offering.Store(true) // as if the callee's own re-INVITE were pending
	held := make(chan error, 1)
	go func() { held <- out.Hold(ctx) }()
	eventually(t, 5*time.Second, "the caller waits after 491", func() bool { return callerClock.pending() == 2 }) // and the session timer
	if d := callerClock.nextDue(); d < 2100*time.Millisecond || d > 4*time.Second {
		t.Errorf("retry in %v; want 2.1–4 s", d)
	}
	in.offering.Store(false)
	callerClock.Advance(4 * time.Second)
	if err := <-held; err != nil {
		t.Errorf("Hold after glare: %v", err)
	}
}
