package serial_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/room"
)

var parseTable = []struct {
	line string
	want serial.Request
	err  error
}{
	{line: "xStatus", want: serial.Request{Verb: serial.XStatus}},
	{line: "xstatus audio volume", want: serial.Request{Verb: serial.XStatus, Words: []string{"audio", "volume"}}},
	{line: "  xStatus   /Audio/Volume  ", want: serial.Request{Verb: serial.XStatus, Words: []string{"Audio", "Volume"}}},
	{line: `xStatus Audio Volume |resultId="v1"`, want: serial.Request{Verb: serial.XStatus, Words: []string{"Audio", "Volume"}, ResultID: "v1"}},
	{line: `xStatus|resultId=v1`, want: serial.Request{Verb: serial.XStatus, ResultID: "v1"}},
	{line: "xCommand Audio Volume Set Level: 70", want: serial.Request{Verb: serial.XCommand, Words: []string{"Audio", "Volume", "Set"}, Args: []control.Arg{{Name: "Level", Value: "70"}}}},
	{line: "xCommand Audio Volume Set Level:70", want: serial.Request{Verb: serial.XCommand, Words: []string{"Audio", "Volume", "Set"}, Args: []control.Arg{{Name: "Level", Value: "70"}}}},
	{line: `xCommand Call Join Uri: "https://x.example/a b?c=\"d\"" Replace: True`, want: serial.Request{Verb: serial.XCommand, Words: []string{"Call", "Join"},
		Args: []control.Arg{{Name: "Uri", Value: `https://x.example/a b?c="d"`}, {Name: "Replace", Value: "True"}}}},
	{line: `xCommand Call Join Uri: https://x.example/a|resultId="j"`, want: serial.Request{Verb: serial.XCommand, Words: []string{"Call", "Join"},
		Args: []control.Arg{{Name: "Uri", Value: "https://x.example/a"}}, ResultID: "j"}},
	{line: `xCommand Call Join Title: "a|b" |resultId="j"`, want: serial.Request{Verb: serial.XCommand, Words: []string{"Call", "Join"},
		Args: []control.Arg{{Name: "Title", Value: "a|b"}}, ResultID: "j"}},
	{line: `xCommand Call Join Title: ""`, want: serial.Request{Verb: serial.XCommand, Words: []string{"Call", "Join"}, Args: []control.Arg{{Name: "Title", Value: ""}}}},
	{line: "xConfiguration", want: serial.Request{Verb: serial.XConfiguration}},
	{line: "xConfiguration Audio DefaultVolume: 75", want: serial.Request{Verb: serial.XConfiguration, Words: []string{"Audio", "DefaultVolume"}, Value: "75", Set: true}},
	{line: `xConfiguration SystemUnit Name: "Board Room"`, want: serial.Request{Verb: serial.XConfiguration, Words: []string{"SystemUnit", "Name"}, Value: "Board Room", Set: true}},
	{line: "xFeedback Register /Status/Audio/Microphones/Mute", want: serial.Request{Verb: serial.XFeedback, Words: []string{"Register", "Status", "Audio", "Microphones", "Mute"}}},
	{line: "xFeedback DeregisterAll", want: serial.Request{Verb: serial.XFeedback, Words: []string{"DeregisterAll"}}},
	{line: "xPreferences OutputMode JSON", want: serial.Request{Verb: serial.XPreferences, Words: []string{"OutputMode", "JSON"}}},
	{line: "xDocument Schema", want: serial.Request{Verb: serial.XDocument, Words: []string{"Schema"}}},
	// Cisco's Name[N] is Name N in every path; other brackets are left alone.
	{line: "xfeedback register /Status/Call/Receive[1]/Fps", want: serial.Request{Verb: serial.XFeedback, Words: []string{"register", "Status", "Call", "Receive", "1", "Fps"}}},
	{line: "xStatus Call Receive[12] Fps", want: serial.Request{Verb: serial.XStatus, Words: []string{"Call", "Receive", "12", "Fps"}}},
	{line: "xConfiguration Audio[1] DefaultVolume: 5", want: serial.Request{Verb: serial.XConfiguration, Words: []string{"Audio", "1", "DefaultVolume"}, Value: "5", Set: true}},
	{line: "xStatus [1] a[] b[x] c[1][2] d[1]e", want: serial.Request{Verb: serial.XStatus, Words: []string{"[1]", "a[]", "b[x]", "c[1][2]", "d[1]e"}}},
	// RoomOS's form of xDocument parses (the session refuses it).
	{line: `xDocument Format: "JSON" Path: "Status/Audio" Schema: "True"`, want: serial.Request{Verb: serial.XDocument,
		Args: []control.Arg{{Name: "Format", Value: "JSON"}, {Name: "Path", Value: "Status/Audio"}, {Name: "Schema", Value: "True"}}}},
	{line: "ECHO off", want: serial.Request{Verb: serial.Echo, Words: []string{"off"}}},
	{line: "bye", want: serial.Request{Verb: serial.Bye}},

	{line: "", err: serial.ErrEmpty},
	{line: "   ", err: serial.ErrEmpty},
	{line: `|resultId="x"`, err: serial.ErrEmpty, want: serial.Request{ResultID: "x"}},
	{line: "xDance", err: serial.ErrUnknownCommand},
	{line: `xDance |resultId="t"`, err: serial.ErrUnknownCommand, want: serial.Request{ResultID: "t"}},
	{line: "xStatus: Audio", err: serial.ErrSyntax},
	{line: "xStatus Audio: Volume", err: serial.ErrSyntax},
	{line: `xStatus "Audio"`, err: serial.ErrSyntax},
	{line: "xCommand Audio Volume Set Level:", err: serial.ErrSyntax},
	{line: "xCommand Audio Volume Set :5", err: serial.ErrSyntax},
	{line: `xCommand Call Join Uri: "open`, err: serial.ErrSyntax},
	{line: `xCommand Call Join Uri: "a"b`, err: serial.ErrSyntax},
	{line: `xCommand Call Join Uri: a"b"`, err: serial.ErrSyntax},
	{line: "xCommand Audio Volume Set Level: 5 6", err: serial.ErrSyntax},
	{line: "xConfiguration Audio DefaultVolume: 5 6", err: serial.ErrSyntax},
	{line: "xConfiguration /: 5", err: serial.ErrSyntax},
	{line: "xStatus |", err: serial.ErrSyntax},
	{line: `xStatus |resultId=""`, err: serial.ErrSyntax},
	{line: `xStatus |resultId="x" more`, err: serial.ErrSyntax},
	{line: `xStatus |resultId="` + strings.Repeat("x", 129) + `"`, err: serial.ErrSyntax},
	{line: "xStatus Audio\x01", err: serial.ErrSyntax},
	{line: "xStatus \xff", err: serial.ErrSyntax},
	// A line refused whole still returns a well-formed tag, so the error
	// comes back tagged; a tag that is not itself clean is not returned.
	{line: "xStatus Audio \xff Volume |resultId=\"u1\"", err: serial.ErrSyntax, want: serial.Request{ResultID: "u1"}},
	{line: "xCommand Audio Volume Set Level: \xc3\x28 | resultId = bare", err: serial.ErrSyntax, want: serial.Request{ResultID: "bare"}},
	{line: "xStatus Audio \x01 |resultId=c1", err: serial.ErrSyntax, want: serial.Request{ResultID: "c1"}},
	{line: "xStatus Audio \u0085 |resultId=c2", err: serial.ErrSyntax, want: serial.Request{ResultID: "c2"}},
	{line: "xStatus \x1b[A Audio |resultId=\"esc\"", err: serial.ErrSyntax, want: serial.Request{ResultID: "esc"}},
	{line: "xStatus \x1bOB\x1b[1;5C |resultId=\"esc2\"", err: serial.ErrSyntax, want: serial.Request{ResultID: "esc2"}},
	{line: "xStatus |resultId=\"\xff\"", err: serial.ErrSyntax},
	{line: "xStatus \xff |resultId=\"a\x01b\"", err: serial.ErrSyntax},
	{line: "xStatus \xff |resultId=\"x\" more", err: serial.ErrSyntax},
	{line: "xCommand Call Join Title: \"a |resultId=x\" \xff", err: serial.ErrSyntax},
}

func TestParse(t *testing.T) {
	for _, c := range parseTable {
		got, err := serial.Parse(c.line)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Parse(%q) error = %v, want %v", c.line, err, c.err)
			}
			if got.ResultID != c.want.ResultID {
				t.Errorf("Parse(%q) ResultID = %q, want %q", c.line, got.ResultID, c.want.ResultID)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %#v, %v\nwant %#v", c.line, got, err, c.want)
			continue
		}
		again, err := serial.Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("Parse(%q).String() = %q reads back as %#v, %v", c.line, got.String(), again, err)
		}
	}
}

func TestRequestString(t *testing.T) {
	for in, want := range map[string]string{
		`xstatus /audio/volume |resultid = x`:           `xStatus audio volume |resultId="x"`,
		`xcommand call join uri:https://a.example/?x=1`: `xCommand call join uri: https://a.example/?x=1`,
		`xCommand Call Join Title: "a \\ b"`:            `xCommand Call Join Title: "a \\ b"`,
		`xconfiguration audio/defaultvolume:5`:          `xConfiguration audio defaultvolume: 5`,
		`xFeedback register status audio`:               `xFeedback register /status/audio`,
		`xCommand Call Join Title: ""`:                  `xCommand Call Join Title: ""`,
		`XPREFERENCES OUTPUTMODE JSON |resultId="a b"`:  `xPreferences OUTPUTMODE JSON |resultId="a b"`,
	} {
		r, err := serial.Parse(in)
		if err != nil || r.String() != want {
			t.Errorf("Parse(%q).String() = %q, %v; want %q", in, r.String(), err, want)
		}
	}
}

// seedLines are the table's lines and every request sent in a transcript.
func seedLines(t testing.TB) []string {
	var lines []string
	for _, c := range parseTable {
		lines = append(lines, c.line)
	}
	files, _ := filepath.Glob("testdata/*.txt")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(l, "> "); ok {
				lines = append(lines, s)
			}
			// Raw bytes (escape sequences, bad UTF-8), as lines.
			if q, ok := strings.CutPrefix(l, ">q "); ok {
				if s, err := strconv.Unquote(q); err == nil {
					lines = append(lines, strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' })...)
				}
			}
		}
	}
	return lines
}

// FuzzParse: the parser never panics, and any request it accepts renders
// to a line that parses back to the same request; checking it against the
// schema never panics either. A tag it returns is safe to repeat, and a
// well-formed tag after any line without quotes or '|' always comes back,
// whatever is wrong with the line (bad UTF-8, escape sequences).
func FuzzParse(f *testing.F) {
	for _, l := range seedLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if !strings.ContainsAny(line, `"|`) {
			if r, _ := serial.Parse(line + ` |resultId="fz"`); r.ResultID != "fz" {
				t.Fatalf("Parse(%q + tag) lost the tag: %#v", line, r)
			}
		}
		r, err := serial.Parse(line)
		if id := r.ResultID; id != "" && (!utf8.ValidString(id) || len(id) > 128 || strings.ContainsAny(id, "\"\\") ||
			strings.ContainsFunc(id, unicode.IsControl)) {
			t.Fatalf("Parse(%q) returned a tag that cannot be repeated: %q", line, id)
		}
		if err != nil {
			if r.Verb != 0 || r.Words != nil || r.Args != nil {
				t.Fatalf("Parse(%q) failed (%v) but returned %#v", line, err, r)
			}
			return
		}
		s := r.String()
		again, err := serial.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v renders as %q, which does not parse: %v", line, r, s, err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("Parse(%q) = %#v renders as %q, which parses as %#v", line, r, s, again)
		}
		switch p := control.Path(r.Words); r.Verb {
		case serial.XCommand:
			control.ParseCommand(p, r.Args)
		case serial.XStatus:
			control.StatusPrefix(p)
		case serial.XConfiguration:
			if r.Set {
				control.SetConfig(room.DefaultSettings(), p, r.Value)
			}
			control.ConfigPrefix(p)
		}
	})
}
