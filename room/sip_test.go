package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

var ringAt = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// ringing0 is the base state with call c1 ringing.
func ringing0() State {
	return with(func(s *State) {
		s.Incoming = IncomingCall{ID: "c1", From: "sip:alice@example.com", Display: "Alice", Since: ringAt}
	})
}

func ringingWith(f func(*State)) State { s := ringing0(); f(&s); return s }

func TestNextSIP(t *testing.T) {
	caller := Meeting{ID: "incoming-c1", URI: "sip:alice@example.com", Incoming: "c1", Title: "Alice"}
	inCall := func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 3, meet }
	tests := []struct {
		name    string
		from    State
		in      Input
		want    State
		effects []Effect
		events  []string
		err     error
	}{
		{name: "a call rings an idle room", from: base(),
			in:   IncomingCallReported{ID: "c1", From: "sip:alice@example.com", Display: "Alice", At: ringAt},
			want: ringing0(), events: []string{"IncomingCall RemoteUri=sip:alice@example.com DisplayName=Alice Id=c1"}},
		{name: "a call rings a room whose last call failed", from: with(func(s *State) { s.Call, s.CallReason = Failed, "timeout" }),
			in:   IncomingCallReported{ID: "c1", From: "sip:alice@example.com", Display: "Alice", At: ringAt},
			want: ringingWith(func(s *State) { s.Call, s.CallReason = Failed, "timeout" }), events: []string{"IncomingCall RemoteUri=sip:alice@example.com DisplayName=Alice Id=c1"}},
		{name: "a call ringing during a call is ignored", from: with(inCall),
			in: IncomingCallReported{ID: "c2", From: "sip:bob@example.com"}, want: with(inCall), err: errIncomingWhileBusy},
		{name: "a second call ringing is ignored", from: ringing0(),
			in: IncomingCallReported{ID: "c2", From: "sip:bob@example.com"}, want: ringing0(), err: errIncomingWhileBusy},
		{name: "a ring without an id is refused", from: base(), in: IncomingCallReported{From: "sip:bob@example.com"}, want: base(), err: errAny},
		{name: "caller gives up", from: ringing0(), in: IncomingCallGone{ID: "c1", Reason: "the caller hung up"},
			want: base(), events: []string{"IncomingCallCancelled Id=c1 Reason=the caller hung up"}},
		{name: "another call gone changes nothing", from: ringing0(), in: IncomingCallGone{ID: "c9"}, want: ringing0()},

		// Accepting goes through the join rule.
		{name: "kiosk accepts with the room's mic as it is", from: ringing0(), in: Command{From: panel, Do: AcceptIncoming{}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, caller, FromPanel }),
			effects: []Effect{StartCall{Seq: 1, Meeting: caller}}, events: []string{"CallJoining MeetingId=incoming-c1 By=panel"}},
		{name: "in-room serial accepts with the room's mic as it is", from: ringing0(), in: Command{From: serial, Do: AcceptIncoming{ID: "c1"}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, caller, FromSerial }),
			effects: []Effect{StartCall{Seq: 1, Meeting: caller}}, events: []string{"CallJoining MeetingId=incoming-c1 By=serial:/dev/ttyUSB0"}},
		{name: "a tablet accepts muted and private", from: ringing0(), in: Command{From: remote, Do: AcceptIncoming{}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, caller, FromRemote }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: caller, Muted: true, Private: true}},
			events:  []string{"CallJoining MeetingId=incoming-c1 By=remote:tablet"}},
		{name: "roomctl accepts muted and private", from: ringing0(), in: Command{From: socket, Do: AcceptIncoming{}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, caller, FromSocket }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: caller, Muted: true, Private: true}},
			events:  []string{"CallJoining MeetingId=incoming-c1 By=socket:1"}},
		{name: "accept with nothing ringing", from: base(), in: Command{From: panel, Do: AcceptIncoming{}}, want: base(), err: ErrInvalid},
		{name: "accept of another call", from: ringing0(), in: Command{From: panel, Do: AcceptIncoming{ID: "c2"}}, want: ringing0(), err: ErrInvalid},
		{name: "a join of a call no longer ringing", from: base(), in: Command{From: panel, Do: Join{Meeting: caller}}, want: base(), err: ErrInvalid},
		{name: "joining a meeting declines the ringing call", from: ringing0(), in: Command{From: panel, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromPanel }),
			effects: []Effect{DeclineCall{ID: "c1"}, StartCall{Seq: 1, Meeting: meet}}, events: []string{"CallJoining MeetingId=m1 By=panel"}},

		// Declining.
		{name: "decline", from: ringing0(), in: Command{From: remote, Do: DeclineIncoming{}}, want: base(),
			effects: []Effect{DeclineCall{ID: "c1"}}, events: []string{"IncomingCallDeclined Id=c1 By=remote:tablet"}},
		{name: "decline with nothing ringing", from: base(), in: Command{From: panel, Do: DeclineIncoming{}}, want: base(), err: ErrInvalid},
		{name: "decline of another call", from: ringing0(), in: Command{From: panel, Do: DeclineIncoming{ID: "c2"}}, want: ringing0(), err: ErrInvalid},

		// Tones.
		{name: "tones in a call", from: with(inCall), in: Command{From: socket, Do: SendDTMF{Digits: "123456#,,*ABCD0"}},
			want: with(inCall), effects: []Effect{SendTones{Seq: 3, Digits: "123456#,,*ABCD0"}}},
		{name: "tones while joining", from: with(func(s *State) { inCall(s); s.Call = Joining }), in: Command{From: panel, Do: SendDTMF{Digits: "1"}},
			want: with(func(s *State) { inCall(s); s.Call = Joining }), err: ErrNotInCall},
		{name: "tones idle", from: base(), in: Command{From: panel, Do: SendDTMF{Digits: "1"}}, want: base(), err: ErrNotInCall},
		{name: "lower-case letters are not tones", from: with(inCall), in: Command{From: panel, Do: SendDTMF{Digits: "12a"}}, want: with(inCall), err: ErrInvalid},
		{name: "no tones", from: with(inCall), in: Command{From: panel, Do: SendDTMF{}}, want: with(inCall), err: ErrInvalid},
		{name: "64 tones", from: with(inCall), in: Command{From: panel, Do: SendDTMF{Digits: strings.Repeat("1", 64)}},
			want: with(inCall), effects: []Effect{SendTones{Seq: 3, Digits: strings.Repeat("1", 64)}}},
		{name: "65 tones", from: with(inCall), in: Command{From: panel, Do: SendDTMF{Digits: strings.Repeat("1", 65)}}, want: with(inCall), err: ErrInvalid},

		// Registration.
		{name: "registered", from: base(), in: SIPRegistrationReported{Status: SIPRegistered, URI: "sip:room@example.com", Since: ringAt},
			want: with(func(s *State) {
				s.SIP = SIPRegistration{Status: SIPRegistered, URI: "sip:room@example.com", Since: ringAt}
			})},
		{name: "registration failed", from: base(), in: SIPRegistrationReported{Status: SIPFailed, Reason: "403 Forbidden: wrong password", URI: "sip:room@example.com"},
			want: with(func(s *State) {
				s.SIP = SIPRegistration{Status: SIPFailed, Reason: "403 Forbidden: wrong password", URI: "sip:room@example.com"}
			})},
		{name: "no status is off", from: base(), in: SIPRegistrationReported{}, want: with(func(s *State) { s.SIP.Status = SIPOff })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := checkNext(t, tt.from, tt.in, tt.want, tt.effects, tt.err)
			var events []string
			for _, e := range out.Events {
				line := e.Name
				for i := 0; i+1 < len(e.Fields); i += 2 {
					line += " " + e.Fields[i] + "=" + e.Fields[i+1]
				}
				events = append(events, line)
			}
			if !reflect.DeepEqual(events, tt.events) {
				t.Errorf("events\n got %q\nwant %q", events, tt.events)
			}
		})
	}
}

// Equal sees the ringing call and the registration.
func TestStateEqualSeesSIP(t *testing.T) {
	for name, f := range map[string]func(*State){
		"incoming id":    func(s *State) { s.Incoming.ID = "x" },
		"incoming since": func(s *State) { s.Incoming.Since = ringAt.Add(time.Second) },
		"sip status":     func(s *State) { s.SIP.Status = SIPFailed },
		"sip reason":     func(s *State) { s.SIP.Reason = "x" },
		"sip uri":        func(s *State) { s.SIP.URI = "sip:x@y" },
		"sip since":      func(s *State) { s.SIP.Since = ringAt },
	} {
		if ringing0().Equal(ringingWith(f)) {
			t.Errorf("%s: Equal misses the change", name)
		}
	}
}

// sipEngine is a call engine with CallControl that records what the room
// asked of it.
type sipEngine struct {
	r        *Room
	mic      Toggle
	mu       sync.Mutex
	started  []Meeting
	micMuted []bool
	declined []string
	tones    []string
}

func (e *sipEngine) Start(_ context.Context, seq uint64, m Meeting) {
	muted, _ := e.mic.Get()
	e.mu.Lock()
	e.started, e.micMuted = append(e.started, m), append(e.micMuted, muted)
	e.mu.Unlock()
	go e.r.Report(CallReported{Seq: seq, State: InCall})
}
func (e *sipEngine) End(seq uint64) { go e.r.Report(CallReported{Seq: seq, State: Idle}) }
func (e *sipEngine) SendDTMF(seq uint64, digits string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tones = append(e.tones, digits)
	return nil
}
func (e *sipEngine) Decline(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.declined = append(e.declined, id)
}

var _ CallControl = (*sipEngine)(nil)

func runRoom(t *testing.T, calls CallEngine, mic Toggle) *Room {
	t.Helper()
	return runRoomWith(t, Options{Devices: Devices{Mic: mic, Calls: calls}})
}

// runRoomWith runs a room made with o until the test ends.
func runRoomWith(t *testing.T, o Options) *Room {
	t.Helper()
	r := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-r.Ready()
	return r
}

// An incoming call answered from a tablet reaches the engine as the answer
// of that call, with the microphones already muted; tones go to the engine
// with the call's seq; a declined call is declined at the engine.
func TestIncomingCallThroughTheRoom(t *testing.T) {
	ctx := context.Background()
	mic := &fakeToggle{}
	eng := &sipEngine{mic: mic}
	var logs testtool.LockedBuffer
	r := runRoomWith(t, Options{Devices: Devices{Mic: mic, Calls: eng}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	eng.r = r
	if got := r.Snapshot().SIP.Status; got != SIPOff {
		t.Fatalf("SIP status at start %q, want Off", got)
	}
	r.Report(IncomingCallReported{ID: "c1", From: "sip:alice@example.com", Display: "Alice"})
	eventually(t, "ringing", func() bool { return r.Snapshot().Incoming.ID == "c1" })
	if r.Snapshot().Incoming.Since.IsZero() {
		t.Fatal("the room did not stamp when the call started ringing")
	}
	if err := r.Do(ctx, Command{From: remote, Do: AcceptIncoming{ID: "c1"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in call", func() bool { return r.Snapshot().Call == InCall })
	eng.mu.Lock()
	if len(eng.started) != 1 || eng.started[0].Incoming != "c1" || eng.started[0].URI != "sip:alice@example.com" || !eng.micMuted[0] {
		t.Errorf("engine started %+v with mic muted %v", eng.started, eng.micMuted)
	}
	eng.mu.Unlock()
	if s := r.Snapshot(); !s.Incoming.IsZero() || !s.MicMute || !s.CameraPrivacy {
		t.Errorf("after accept: incoming %+v mute %v privacy %v", s.Incoming, s.MicMute, s.CameraPrivacy)
	}
	// A call ringing now is ignored: the engine answers busy.
	r.Report(IncomingCallReported{ID: "c2", From: "sip:bob@example.com"})
	if err := r.Do(ctx, Command{From: socket, Do: SendDTMF{Digits: "123#"}}); err != nil {
		t.Fatal(err)
	}
	if s := r.Snapshot(); !s.Incoming.IsZero() {
		t.Errorf("a call ringing during a call is shown: %+v", s.Incoming)
	}
	if l := logs.String(); !strings.Contains(l, "incoming call ignored: call c2 from sip:bob@example.com rang while the room is InCall") || strings.Contains(l, "123#") {
		t.Errorf("the log does not say why c2 was ignored, or holds the tones:\n%s", l)
	}
	// A retry after the call calls back rather than answering again.
	if err := r.Do(ctx, Command{From: panel, Do: Leave{}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "idle", func() bool { return r.Snapshot().Call == Idle })
	if err := r.Do(ctx, Command{From: panel, Do: Rejoin{}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in call again", func() bool { return r.Snapshot().Call == InCall })
	if err := r.Do(ctx, Command{From: panel, Do: Leave{}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "idle again", func() bool { return r.Snapshot().Call == Idle })
	r.Report(IncomingCallReported{ID: "c3", From: "sip:carol@example.com"})
	eventually(t, "ringing again", func() bool { return r.Snapshot().Incoming.ID == "c3" })
	if err := r.Do(ctx, Command{From: panel, Do: DeclineIncoming{}}); err != nil {
		t.Fatal(err)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if !reflect.DeepEqual(eng.tones, []string{"123#"}) || !reflect.DeepEqual(eng.declined, []string{"c3"}) {
		t.Errorf("tones %q declined %q", eng.tones, eng.declined)
	}
	if len(eng.started) != 2 || eng.started[1].Incoming != "" || eng.started[1].URI != "sip:alice@example.com" {
		t.Errorf("the retry started %+v, want a call back to alice", eng.started)
	}
}

// An engine without CallControl refuses tones with a clear error.
func TestTonesNeedCallControl(t *testing.T) {
	eng := &fakeEngine{}
	r := runRoom(t, eng, nil)
	eng.r = r
	ctx := context.Background()
	if err := r.Do(ctx, Command{From: panel, Do: Join{Meeting: meet}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "in call", func() bool { return r.Snapshot().Call == InCall })
	err := r.Do(ctx, Command{From: panel, Do: SendDTMF{Digits: "1"}})
	if !errors.Is(err, ErrNoTones) || !strings.Contains(err.Error(), "this call cannot send tones") {
		t.Fatalf("err = %v, want ErrNoTones", err)
	}
}

// Tones are often a passcode: they never reach a log through %v.
func TestTonesStayOutOfLogs(t *testing.T) {
	for _, v := range []any{SendDTMF{Digits: "9876#"}, SendTones{Seq: 1, Digits: "9876#"}} {
		if s := fmtV(v); strings.Contains(s, "9876") {
			t.Errorf("%T prints its digits: %s", v, s)
		}
	}
}

func fmtV(v any) string { return fmt.Sprintf("%T%+v", v, v) }
