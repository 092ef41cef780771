package control

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

func richState() room.State {
	start := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	return room.State{
		Call:    room.InCall,
		CallSeq: 3,
		Meeting: room.Meeting{ID: "m-1", Title: "Weekly", URI: "https://meet.example/abc"},
		Media: room.CallMedia{Participants: 2, SendBitrate: 1_200_000, RecvBitrate: 2_150_000, Received: []room.ReceivedVideo{
			{Participant: "Alice (Oslo)#4711", Width: 1280, Height: 720, FPS: 29.6, Bitrate: 1_800_000},
			{Participant: "bob#12", Bitrate: 350_000}, // audio only so far
		}},
		MicMute:      true,
		MicSwitch:    true,
		Volume:       35,
		CameraPreset: 2,
		DisplayPower: true,
		NextMeetings: []room.Meeting{
			{ID: "a", Title: "Standup", URI: "https://x/a", Start: start, End: start.Add(15 * time.Minute)},
			{ID: "b", Title: "Ad hoc", URI: "https://x/b"},
		},
		Hardware: []room.Device{
			{Name: "mute_led", Kind: "led", State: "loaded"},
			{Name: "bme 280", Kind: "sensor", State: "failed", Reason: "no ack at 0x76"},
		},
		Env:          room.Environment{Temperature: 21.54, HaveTemperature: true, Occupied: true, HaveOccupancy: true},
		Provisioning: room.Provisioning{State: room.Enrolled, ConfigVersion: 12, Stale: true},
		Settings:     room.DefaultSettings(),
		DamagedFiles: []room.DamagedFile{{Name: "schedule.json.corrupt-20250304T083000Z", Since: start.Add(-30 * time.Minute)}},
	}
}

func specFor(t *testing.T, l Leaf) StatusSpec {
	t.Helper()
	for _, s := range vocab.Status {
		if c, ok := matchPattern(s.Path, l.Path); ok && len(c) == len(s.Path) {
			return s
		}
	}
	t.Fatalf("leaf %q matches no status path of the schema", l.Path)
	return StatusSpec{}
}

// Every leaf Flatten produces is in the schema, typed as the schema says,
// and holds a value of its value space.
func TestFlattenFitsSchema(t *testing.T) {
	for _, s := range []room.State{{}, richState()} {
		for _, l := range Flatten(s, System{SoftwareVersion: "1.2.3"}) {
			spec := specFor(t, l)
			if spec.Space.Kind != l.Kind {
				t.Errorf("%q: kind %v, schema says %v", l.Path, l.Kind, spec.Space.Kind)
			}
			if v, err := spec.Space.Canonical(l.Value); err != nil || v != l.Value {
				t.Errorf("%q = %q does not fit %s (%v)", l.Path, l.Value, spec.Space, err)
			}
		}
	}
}

func TestFlatten(t *testing.T) {
	got := map[string]string{}
	var order []string
	for _, l := range Flatten(richState(), System{SoftwareVersion: "1.2.3"}) {
		got[l.Path.String()] = l.Value
		order = append(order, l.Path.String())
	}
	want := map[string]string{
		"Audio Microphones Mute":           "On",
		"Audio Microphones HardwareSwitch": "On",
		"Audio Volume":                     "35",
		"Call State":                       "InCall",
		"Call Uri":                         "https://meet.example/abc",
		"Call ReceiveBitrate":              "2150000",
		"Call Receive 1 Participant":       "Alice (Oslo)#4711",
		"Call Receive 1 Width":             "1280",
		"Call Receive 1 Height":            "720",
		"Call Receive 1 Fps":               "30",
		"Call Receive 1 Bitrate":           "1800000",
		"Call Receive 2 Participant":       "bob#12",
		"Call Receive 2 Width":             "0",
		"Call Receive 2 Height":            "0",
		"Call Receive 2 Fps":               "0",
		"Call Receive 2 Bitrate":           "350000",
		"Video Camera Preset":              "2",
		"Video Display Power":              "On",
		"Schedule Next 1 Start":            "2025-03-04T09:00:00Z",
		"Schedule Next 1 End":              "2025-03-04T09:15:00Z",
		"Schedule Next 2 Start":            "",
		"Environment Temperature":          "21.5",
		"Environment Occupancy":            "Occupied",
		"Hardware Device mute_led State":   "Loaded",
		"Hardware Device bme_280 Reason":   "no ack at 0x76",
		"Provisioning State":               "Enrolled",
		"Provisioning ConfigVersion":       "12",
		"Provisioning Stale":               "True",
		"SystemUnit Name":                  "Meeting Room",
		"SystemUnit Software Version":      "1.2.3",
		"SystemUnit ProtocolVersion":       SchemaVersion,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["Call Receive 3 Participant"]; ok {
		t.Error("a third received participant in a call with two")
	}
	if _, ok := got["Environment Humidity"]; ok {
		t.Error("Environment Humidity present without a reading")
	}
	if order[0] != "Audio Microphones Mute" || order[len(order)-1] != "SystemUnit ProtocolVersion" {
		t.Errorf("order: first %q last %q", order[0], order[len(order)-1])
	}
}

func TestDiff(t *testing.T) {
	a := richState()
	b := richState()
	b.MicMute = false
	b.NextMeetings = b.NextMeetings[:1]
	b.Env.HaveHumidity, b.Env.Humidity = true, 40
	got := diffLines(a, b)
	want := []string{
		"Audio Microphones Mute=Off",
		"Environment Humidity=40.0",
		"Schedule Next 2 Id=b gone",
		"Schedule Next 2 Title=Ad hoc gone",
		"Schedule Next 2 Start= gone",
		"Schedule Next 2 End= gone", "Schedule Next 2 Joinable=True gone",
		"Schedule Next 2 Uri=https://x/b gone", "Schedule Next 2 Why= gone",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	if d := DiffStates(a, a, System{}); len(d) != 0 {
		t.Errorf("Diff of equal states: %v", d)
	}
}

// A participant who leaves takes its leaves along (ghosts), and the one
// after it moves up; outside a call there are none.
func TestDiffReceivedVideo(t *testing.T) {
	a := richState()
	b := richState()
	b.Media.Received = b.Media.Received[1:]
	b.Media.Participants, b.Media.RecvBitrate = 1, 350_000
	got := diffLines(a, b)
	want := []string{
		"Call Participants=1",
		"Call ReceiveBitrate=350000",
		"Call Receive 1 Participant=bob#12",
		"Call Receive 1 Width=0",
		"Call Receive 1 Height=0",
		"Call Receive 1 Fps=0",
		"Call Receive 1 Bitrate=350000",
		"Call Receive 2 Participant=bob#12 gone",
		"Call Receive 2 Width=0 gone",
		"Call Receive 2 Height=0 gone",
		"Call Receive 2 Fps=0 gone",
		"Call Receive 2 Bitrate=350000 gone",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	for _, l := range Flatten(room.State{}, System{}) {
		if l.Path.HasPrefix(ParsePath("Call Receive")) {
			t.Errorf("%s outside a call", l.Path)
		}
	}
}

func TestStatusPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"audio":                          "Audio",
		"AUDIO microphones mute":         "Audio Microphones Mute",
		"/Audio/Volume":                  "Audio Volume",
		"schedule next 01 id":            "Schedule Next 1 Id",
		"call receive 2 fps":             "Call Receive 2 Fps",
		"call receivebitrate":            "Call ReceiveBitrate",
		"hardware device Mute_LED state": "Hardware Device Mute_LED State",
		"systemunit software":            "SystemUnit Software",
	} {
		got, err := StatusPrefix(ParsePath(in))
		if err != nil || got.String() != want {
			t.Errorf("StatusPrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Audio Volume Level", "Foo", "Schedule Next 0", "Schedule Next x", "Call Uri x"} {
		if _, err := StatusPrefix(ParsePath(in)); !errors.Is(err, ErrUnknownPath) {
			t.Errorf("StatusPrefix(%q) = %v; want ErrUnknownPath", in, err)
		}
	}
	leaves := Flatten(richState(), System{})
	if got := Select(leaves, ParsePath("hardware device MUTE_LED")); len(got) != 3 || got[0].Path.String() != "Hardware Device mute_led Kind" {
		t.Errorf("Select device: %v", got)
	}
	if got := Select(leaves, nil); len(got) != len(leaves) {
		t.Errorf("Select(nil) = %d leaves, want %d", len(got), len(leaves))
	}
}

func TestValueSpaceCanonical(t *testing.T) {
	for _, c := range []struct {
		space   ValueSpace
		in, out string
		bad     bool
	}{
		{space: onOff, in: "on", out: "On"},
		{space: onOff, in: "OFF", out: "Off"},
		{space: onOff, in: "yes", bad: true},
		{space: integer(0, 100), in: "050", out: "50"},
		{space: integer(0, 100), in: "101", bad: true},
		{space: integer(0, 100), in: "-1", bad: true},
		{space: integer(0, 100), in: "1.5", bad: true},
		{space: text(1, 4), in: "", bad: true},
		{space: text(1, 4), in: "abcde", bad: true},
		{space: text(1, 4), in: "a\x01", bad: true},
		{space: text(0, 4), in: "", out: ""},
		{space: anyTime, in: "2025-01-02T03:04:05Z", out: "2025-01-02T03:04:05Z"},
		{space: anyTime, in: "tomorrow", bad: true},
		{space: decimal, in: "NaN", bad: true},
	} {
		got, err := c.space.Canonical(c.in)
		if c.bad {
			if !errors.Is(err, ErrBadValue) {
				t.Errorf("%s.Canonical(%q) = %q, %v; want ErrBadValue", c.space, c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.out {
			t.Errorf("%s.Canonical(%q) = %q, %v; want %q", c.space, c.in, got, err, c.out)
		}
	}
	if s := integer(0, 100).String(); s != "Integer 0..100" {
		t.Errorf("String() = %q", s)
	}
	if s := (ValueKind(9)).String(); !strings.Contains(s, "9") {
		t.Errorf("ValueKind(9).String() = %q", s)
	}
}

// diffLines renders DiffStates(a, b) one "Path=Value" line per change,
// with " gone" after a leaf that disappears.
func diffLines(a, b room.State) []string {
	var out []string
	for _, c := range DiffStates(a, b, System{}) {
		s := c.Path.String() + "=" + c.Value
		if c.Gone {
			s += " gone"
		}
		out = append(out, s)
	}
	return out
}

// A revoked or failed provisioning state reaches status with its time and
// reason (issue 12 rows 2 and 13).
func TestFlattenProvisioningFailedAndRevoked(t *testing.T) {
	at := time.Date(2026, 12, 7, 4, 40, 0, 0, time.UTC)
	for _, c := range []struct {
		p     room.Provisioning
		state string
	}{
		{room.Provisioning{State: room.Revoked, ConfigVersion: 7, Since: at, Detail: "the fleet revoked this device"}, "Revoked"},
		{room.Provisioning{State: room.ProvisioningFailed, Since: at, Detail: "enrollment.json is damaged"}, "Failed"},
	} {
		leaves := map[string]string{}
		for _, l := range Flatten(room.State{Provisioning: c.p}, System{}) {
			leaves[l.Path.String()] = l.Value
		}
		if leaves["Provisioning State"] != c.state || leaves["Provisioning Since"] != "2026-12-07T04:40:00Z" || leaves["Provisioning Detail"] != c.p.Detail {
			t.Errorf("%v: State %q Since %q Detail %q", c.p, leaves["Provisioning State"], leaves["Provisioning Since"], leaves["Provisioning Detail"])
		}
	}
}

// How the room's saved state was read at start reaches status, so the
// console and the panel can say why the room started muted and private.
func TestFlattenSavedState(t *testing.T) {
	for _, r := range []room.Restored{
		{},
		{From: room.RestoreDamaged, Detail: "room.json is damaged; kept as room.json.corrupt-20261207T043000Z"},
		{From: room.RestorePrevious, Detail: "room.json is missing but room.json.prev is there"},
	} {
		leaves := map[string]string{}
		for _, l := range Flatten(room.State{Restored: r}, System{}) {
			leaves[l.Path.String()] = l.Value
		}
		if leaves["SystemUnit SavedState Restored"] != r.From.String() || leaves["SystemUnit SavedState Detail"] != r.Detail {
			t.Errorf("%+v: leaves %q %q", r, leaves["SystemUnit SavedState Restored"], leaves["SystemUnit SavedState Detail"])
		}
	}
}

// Every damaged file set aside in the state directory reaches status, in
// the room's order (newest first), and one a person removed goes away.
func TestFlattenDamagedFiles(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	tokens := room.DamagedFile{Name: "panel-tokens.json.corrupt-20261207T050100Z", Since: t0.Add(time.Minute)}
	root := room.DamagedFile{Name: "provisioning/root.current.corrupt-20261207T050000Z", Since: t0}
	two := room.State{DamagedFiles: []room.DamagedFile{tokens, root}}
	var got []string
	for _, l := range Flatten(two, System{}) {
		if l.Path.HasPrefix(Path{"SystemUnit", "DamagedFile"}) {
			got = append(got, l.Path.String()+"="+l.Value)
		}
	}
	want := []string{
		"SystemUnit DamagedFile 1 Name=panel-tokens.json.corrupt-20261207T050100Z",
		"SystemUnit DamagedFile 1 Since=2026-12-07T05:01:00Z",
		"SystemUnit DamagedFile 2 Name=provisioning/root.current.corrupt-20261207T050000Z",
		"SystemUnit DamagedFile 2 Since=2026-12-07T05:00:00Z",
	}
	if !slices.Equal(got, want) {
		t.Errorf("leaves\n got %q\nwant %q", got, want)
	}
	for _, l := range Flatten(room.State{}, System{}) {
		if l.Path.HasPrefix(Path{"SystemUnit", "DamagedFile"}) {
			t.Errorf("with nothing damaged: %v", l)
		}
	}
	// The tokens file removed: the root moves up, its old place is gone.
	one := room.State{DamagedFiles: []room.DamagedFile{root}}
	want = []string{
		"SystemUnit DamagedFile 1 Name=provisioning/root.current.corrupt-20261207T050000Z",
		"SystemUnit DamagedFile 1 Since=2026-12-07T05:00:00Z",
		"SystemUnit DamagedFile 2 Name=provisioning/root.current.corrupt-20261207T050000Z gone",
		"SystemUnit DamagedFile 2 Since=2026-12-07T05:00:00Z gone",
	}
	if got := diffLines(two, one); !slices.Equal(got, want) {
		t.Errorf("diff\n got %q\nwant %q", got, want)
	}
}
