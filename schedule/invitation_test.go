package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/meetinglink/invite"
)

// TestGoldenInvitations reads each testdata/invitations/<service>-<case>.ics
// with the calendar's own parser (and <name>.rules.json as the
// organisation's dial rules, if present) and compares what the room would
// dial with <name>.want. go test -update rewrites the .want files.
func TestGoldenInvitations(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invitations", "*.ics"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invitation fixtures: %v", err)
	}
	from := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	for _, path := range files {
		name := strings.TrimSuffix(path, ".ics")
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rules := readRules(t, name+".rules.json")
			cal, err := parseICS(data, berlin, rules)
			if err != nil {
				t.Fatal(err)
			}
			occ := cal.Occurrences(from, from.Add(24*time.Hour))
			if len(occ) != 1 || len(cal.Problems()) != 0 {
				t.Fatalf("%d occurrences, problems %q; a fixture holds one clean event", len(occ), cal.Problems())
			}
			got := wantText(t, occ[0])
			if *update {
				if err := os.WriteFile(name+".want", got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(name + ".want")
			if err != nil {
				t.Fatalf("%v (run go test -update to create it, then check it by hand)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s.want; got:\n%s", path, name, got)
			}
		})
	}
}

func readRules(t *testing.T, path string) invite.DialRules {
	t.Helper()
	var rules invite.DialRules
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return rules
	}
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := rules.Validate(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rules
}

// wantText is what a .want file says: the link as shown, what the SIP
// signalling dials (user part and DTMF, which carry the passcode), the
// passcode, and the reason. It also checks that nothing shown carries the
// passcode.
func wantText(t *testing.T, o Occurrence) []byte {
	t.Helper()
	l := o.Link
	var b strings.Builder
	fmt.Fprintf(&b, "provider: %s\nservice: %s\nuri: %s\n", l.Provider, l.Service, l.URI)
	if l.Provider == ProviderSIP && o.Joinable {
		ml, err := meetinglink.Parse(l.URI)
		if err != nil {
			t.Errorf("the shown SIP link %q does not parse: %v", l.URI, err)
		}
		ml.Secret = l.Passcode
		fmt.Fprintf(&b, "dial-user: %s\ndtmf: %s\n", ml.DialUser(), ml.DialDTMF())
	}
	fmt.Fprintf(&b, "passcode: %s\njoinable: %v\nwhy: %s\n", l.Passcode, o.Joinable, o.Why)
	if l.Passcode != "" {
		js, _ := json.Marshal(o)
		for _, s := range []string{l.URI, l.String(), fmt.Sprintf("%+v", o), string(js), o.Why} {
			if strings.Contains(s, l.Passcode) {
				t.Errorf("the passcode shows in %q", s)
			}
		}
		if m := shown(o, Config{}, false); m.Passcode != "" || strings.Contains(m.URI, l.Passcode) {
			t.Errorf("the list of next meetings carries the passcode: %v", m)
		}
	}
	return []byte(b.String())
}

// The fleet's dial rules apply to the calendars in force at once: a Zoom
// meeting without a SIP address becomes joinable by the connector rule,
// is shown without its passcode, and goes back when the rules are
// withdrawn; rules that do not validate are refused and change nothing.
func TestRunnerDialRules(t *testing.T) {
	zoom := ics(vevent("zoom", "Design review", "09:00", "10:00", "https://example.zoom.us/j/81234567890?pwd=x") +
		"\nDESCRIPTION:Meeting ID: 812 3456 7890\\nPasscode: 314159")
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeOneTouch, RoomZone: "Europe/Berlin"}, start: "07:00", fleet: zoom})
	listed := func(uri string) func() bool {
		return func() bool {
			ms := h.room.Snapshot().NextMeetings
			// The list shows the SIP address, or why the room cannot join.
			why := ""
			if uri == "" {
				why = "a Zoom meeting link without a SIP address; this organisation has no Zoom connector dial rule"
			}
			return len(ms) == 1 && ms[0].URI == uri && ms[0].Passcode == "" && ms[0].Why == why
		}
	}
	h.eventually("the Zoom meeting listed without a link", listed(""))
	rules := invite.DialRules{Zoom: invite.Rule{Dial: "{meeting}.{passcode}@zoomcrc.com"}}
	if err := h.runner.SetDialRules(&rules); err != nil {
		t.Fatal(err)
	}
	h.eventually("the Zoom meeting listed with its connector address", listed("sips:81234567890@zoomcrc.com;passcode-via=user"))
	if err := h.runner.SetDialRules(&invite.DialRules{Zoom: invite.Rule{Dial: "{passcode}@zoomcrc.com"}}); err == nil || !strings.HasPrefix(err.Error(), "schedule: invite: dial_rules.zoom") {
		t.Errorf("bad rules: %v", err)
	}
	h.eventually("bad rules change nothing", listed("sips:81234567890@zoomcrc.com;passcode-via=user"))
	if err := h.runner.SetDialRules(nil); err != nil {
		t.Fatal(err)
	}
	h.eventually("back to the configuration's rules (none)", listed(""))
	if strings.Contains(h.logs.String(), "314159") {
		t.Error("the passcode reached the log")
	}
}

func TestConfigValidatesDialRules(t *testing.T) {
	good := Config{DialRules: invite.DialRules{DefaultDomain: "video.example.com", Teams: invite.Rule{Dial: "{tenant}.{conference}@t.plcm.vc"}}}
	if err := good.Validate(); err != nil {
		t.Errorf("valid rules: %v", err)
	}
	bad := Config{DialRules: invite.DialRules{DefaultDomain: "video example", Meet: invite.Rule{DTMF: "{meeting}"}}}
	err := bad.Validate()
	for _, want := range []string{"schedule: invite: dial_rules.default_domain", "schedule: invite: dial_rules.meet"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}
