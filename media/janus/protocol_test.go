package janus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the transcripts")

// transcript reads the recorded Janus messages, one JSON object a line;
// lines starting with # are comments.
func transcript(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/janus-1.1.2.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 && l[0] != '#' {
			msgs = append(msgs, append([]byte(nil), l...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// summarize says what this package reads in one message.
func summarize(b []byte) string {
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return "undecodable"
	}
	s := []string{m.Janus}
	if m.Transaction != "" {
		s = append(s, "tx="+m.Transaction)
	}
	if m.Sender != 0 {
		s = append(s, fmt.Sprintf("sender=%d", m.Sender))
	}
	if m.Data != nil {
		s = append(s, fmt.Sprintf("id=%d", m.Data.ID))
	}
	if ev, err := m.room(); err != nil {
		s = append(s, "room-undecodable")
	} else if ev != nil {
		s = append(s, "videoroom="+ev.VideoRoom)
		if ev.ID != 0 {
			s = append(s, fmt.Sprintf("self=%d", ev.ID))
		}
		for _, p := range ev.Publishers {
			var kinds []string
			for _, st := range p.Streams {
				kinds = append(kinds, st.Type+"/"+st.Codec+"@"+st.MID)
			}
			s = append(s, fmt.Sprintf("publisher=%d:%s[%s]", p.ID, p.Display, strings.Join(kinds, ",")))
		}
		for _, f := range []struct {
			name string
			ref  feedRef
		}{{"leaving", ev.Leaving}, {"unpublished", ev.Unpublished}, {"kicked", ev.Kicked}} {
			name, r := f.name, f.ref
			switch {
			case r.Self:
				s = append(s, name+"=self")
			case r.Set:
				s = append(s, fmt.Sprintf("%s=%d", name, r.ID))
			}
		}
	}
	if m.JSEP != nil {
		s = append(s, "jsep="+m.JSEP.Type)
	}
	if err := m.failure("req"); err != nil {
		s = append(s, "err="+sentinelName(err))
	}
	if m.Reason != "" {
		s = append(s, "reason="+m.Reason)
	}
	return strings.Join(s, " ")
}

func sentinelName(err error) string {
	for name, s := range map[string]error{
		"ErrUnauthorized": ErrUnauthorized, "ErrRoomNotFound": ErrRoomNotFound,
		"ErrRoomFull": ErrRoomFull, "ErrSessionGone": ErrSessionGone,
	} {
		if errors.Is(err, s) {
			return name
		}
	}
	var je *Error
	if errors.As(err, &je) {
		return fmt.Sprintf("Error(%d)", je.Code)
	}
	return "other"
}

// The messages recorded from a real Janus decode as this package expects;
// run with -update after changing what summarize prints.
func TestTranscriptDecodes(t *testing.T) {
	var out strings.Builder
	for _, m := range transcript(t) {
		out.WriteString(summarize(m) + "\n")
	}
	const golden = "testdata/janus-1.1.2.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("decoded transcript differs from %s (rerun with -update if intended):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestErrorMapsToReasons(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
		want   error
	}{
		{433, "Unauthorized (wrong pin)", ErrUnauthorized},
		{429, "Missing mandatory element (pin)", ErrUnauthorized},
		{429, "Missing mandatory element (feed)", nil},
		{426, "No such room (999999)", ErrRoomNotFound},
		{432, "Maximum number of publishers (6) already reached", ErrRoomFull},
		{458, "No such session 1", ErrSessionGone},
		{428, "No such feed (7)", nil},
	} {
		err := &Error{Request: "join", Code: tc.code, Reason: tc.reason}
		for _, s := range []error{ErrUnauthorized, ErrRoomNotFound, ErrRoomFull, ErrSessionGone} {
			if got := errors.Is(err, s); got != (s == tc.want) {
				t.Errorf("errors.Is(%d %q, %v) = %v", tc.code, tc.reason, s, got)
			}
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "janus: ") || !strings.Contains(msg, tc.reason) {
			t.Errorf("Error() = %q, want the janus: prefix and Janus' reason", msg)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range transcript(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		summarize(b) // must not panic
		var m message
		if json.Unmarshal(b, &m) == nil {
			if err := m.failure("req"); err != nil && err.Error() == "" {
				t.Error("empty error message")
			}
		}
	})
}
