package control

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

// leavesUnder returns "path=value" for every leaf under prefix.
func leavesUnder(s room.State, prefix string) []string {
	var out []string
	for _, l := range Flatten(s, System{}) {
		if l.Path.HasPrefix(ParsePath(prefix)) {
			out = append(out, l.Path.String()+"="+l.Value)
		}
	}
	return out
}

// The ringing call is in status only while it rings; the SIP account's
// registration is always there, Off by default (schema 1.4).
func TestFlattenSIP(t *testing.T) {
	var idle room.State
	if got := leavesUnder(idle, "Call Incoming"); len(got) != 0 {
		t.Errorf("nothing ringing, yet %q", got)
	}
	want := []string{"SIP Registration Status=Off", "SIP Registration Reason=", "SIP Registration Uri="}
	if got := leavesUnder(idle, "SIP"); !slices.Equal(got, want) {
		t.Errorf("default registration\n got %q\nwant %q", got, want)
	}
	ring := room.State{
		Incoming: room.IncomingCall{ID: "c1", From: "sip:alice@example.com", Display: "Alice", Since: time.Unix(1, 0)},
		SIP:      room.SIPRegistration{Status: room.SIPFailed, Reason: "403 Forbidden: check the password", URI: "sip:room@example.com"},
	}
	want = []string{"Call Incoming Id=c1", "Call Incoming RemoteUri=sip:alice@example.com", "Call Incoming DisplayName=Alice"}
	if got := leavesUnder(ring, "Call Incoming"); !slices.Equal(got, want) {
		t.Errorf("ringing\n got %q\nwant %q", got, want)
	}
	want = []string{"SIP Registration Status=Failed", "SIP Registration Reason=403 Forbidden: check the password", "SIP Registration Uri=sip:room@example.com"}
	if got := leavesUnder(ring, "SIP"); !slices.Equal(got, want) {
		t.Errorf("failed registration\n got %q\nwant %q", got, want)
	}
	// Answered: the leaves go, and watchers hear that they went.
	want = []string{
		"Call Incoming Id=c1 gone", "Call Incoming RemoteUri=sip:alice@example.com gone", "Call Incoming DisplayName=Alice gone",
	}
	answered := ring
	answered.Incoming = room.IncomingCall{}
	if got := diffLines(ring, answered); !slices.Equal(got, want) {
		t.Errorf("diff after answer\n got %q\nwant %q", got, want)
	}
	if _, err := StatusPrefix(ParsePath("call incoming remoteuri")); err != nil {
		t.Errorf("Call Incoming RemoteUri is not a status path: %v", err)
	}
}

// Each meeting on the schedule says where it dials and why the room cannot
// join it.
func TestFlattenScheduleUriAndWhy(t *testing.T) {
	s := room.State{NextMeetings: []room.Meeting{
		{ID: "a", URI: "sip:123456789@example.webex.com", Passcode: "4711"},
		{ID: "b", Why: "a Teams meeting without a video conferencing ID, and no Teams gateway is configured"},
	}}
	got := leavesUnder(s, "Schedule Next")
	for _, w := range []string{
		"Schedule Next 1 Uri=sip:123456789@example.webex.com", "Schedule Next 1 Why=", "Schedule Next 1 Joinable=True",
		"Schedule Next 2 Uri=", "Schedule Next 2 Joinable=False",
		"Schedule Next 2 Why=a Teams meeting without a video conferencing ID, and no Teams gateway is configured",
	} {
		if !slices.Contains(got, w) {
			t.Errorf("no %q in %q", w, got)
		}
	}
	for _, l := range got {
		if strings.Contains(l, "4711") {
			t.Errorf("the passcode reached status: %q", l)
		}
	}
}

func TestParseSIPCommands(t *testing.T) {
	for _, c := range []struct {
		path string
		args []Arg
		want room.Action
		err  error
	}{
		{path: "Call Accept", want: room.AcceptIncoming{}},
		{path: "call accept", args: []Arg{{"id", "c1"}}, want: room.AcceptIncoming{ID: "c1"}},
		{path: "Call Reject", want: room.DeclineIncoming{}},
		{path: "Call Reject", args: []Arg{{"Id", "c1"}}, want: room.DeclineIncoming{ID: "c1"}},
		{path: "Call DTMFSend", args: []Arg{{"Digits", "123#"}}, want: room.SendDTMF{Digits: "123#"}},
		{path: "call dtmfsend", args: []Arg{{"digits", "*0,,4711#ABCD"}}, want: room.SendDTMF{Digits: "*0,,4711#ABCD"}},
		{path: "Call DTMFSend", err: ErrBadValue},
		{path: "Call DTMFSend", args: []Arg{{"Digits", ""}}, err: ErrBadValue},
		{path: "Call DTMFSend", args: []Arg{{"Digits", "12x"}}, err: room.ErrInvalid},
		{path: "Call DTMFSend", args: []Arg{{"Digits", strings.Repeat("1", 65)}}, err: ErrBadValue},
	} {
		cmd, err := ParseCommand(ParsePath(c.path), c.args)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s %v: err %v, want %v", c.path, c.args, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(cmd.Action, c.want) {
			t.Errorf("%s %v = %#v, %v; want %#v", c.path, c.args, cmd.Action, err, c.want)
		}
	}
}

// The events the room sends about ringing calls are in the schema, with
// the fields in the order the room sends them.
func TestSIPEventsInSchema(t *testing.T) {
	for _, in := range []room.Input{
		room.IncomingCallReported{ID: "c1", From: "sip:a@b", Display: "A"},
		room.IncomingCallGone{ID: "c1", Reason: "the caller hung up"},
	} {
		from := room.State{}
		if _, ok := in.(room.IncomingCallGone); ok {
			from.Incoming = room.IncomingCall{ID: "c1"}
		}
		_, out, err := room.Next(from, in)
		if err != nil || len(out.Events) != 1 {
			t.Fatalf("%T: %v, %d events", in, err, len(out.Events))
		}
		checkEventInSchema(t, out.Events[0])
	}
	_, out, err := room.Next(room.State{Incoming: room.IncomingCall{ID: "c1"}}, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.DeclineIncoming{}})
	if err != nil || len(out.Events) != 1 {
		t.Fatalf("decline: %v, %v", err, out.Events)
	}
	checkEventInSchema(t, out.Events[0])
}

func checkEventInSchema(t *testing.T, e room.Event) {
	t.Helper()
	spec, ok := Event(e.Name)
	if !ok {
		t.Errorf("event %s is not in the schema", e.Name)
		return
	}
	var keys []string
	for i := 0; i < len(e.Fields); i += 2 {
		keys = append(keys, e.Fields[i])
	}
	if !slices.Equal(keys, spec.Fields) {
		t.Errorf("event %s sends %q, the schema says %q", e.Name, keys, spec.Fields)
	}
}
