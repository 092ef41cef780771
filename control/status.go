package control

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roomd/roomd/room"
)

// Leaf is one status value or configuration item at its canonical path.
type Leaf struct {
	Path  Path
	Value string
	Kind  ValueKind // how the value is typed (the terminal quotes String and Time)
}

// Change is a leaf that changed between two flattenings.
type Change struct {
	Leaf
	Gone bool // the leaf no longer exists, e.g. a meeting left the schedule
}

// System is what the status tree says about the unit beyond room.State.
type System struct {
	SoftwareVersion string
}

func resolution(w, h int) string {
	if w == 0 || h == 0 {
		return ""
	}
	return strconv.Itoa(w) + "x" + strconv.Itoa(h)
}

// Flatten turns a room state into status leaves, in schema order. Optional
// leaves (sensors) appear only when the room has a reading.
func Flatten(s room.State, sys System) []Leaf {
	var out []Leaf
	add := func(path string, kind ValueKind, v string) {
		out = append(out, Leaf{Path: ParsePath(path), Value: v, Kind: kind})
	}
	addPath := func(path Path, kind ValueKind, v string) {
		out = append(out, Leaf{Path: path, Value: v, Kind: kind})
	}
	add("Audio Microphones Mute", Literal, onOffString(s.MicMute))
	add("Audio Microphones HardwareSwitch", Literal, onOffString(s.MicSwitch))
	add("Audio Volume", Integer, strconv.Itoa(s.Volume))
	add("Call State", Literal, s.Call.String())
	add("Call Reason", String, s.CallReason)
	add("Call MeetingId", String, s.Meeting.ID)
	add("Call Uri", String, s.Meeting.URI)
	add("Call End", Time, formatTime(s.Meeting.End))
	add("Call Participants", Integer, strconv.Itoa(s.Media.Participants))
	add("Call TargetBitrate", Integer, strconv.Itoa(s.Media.TargetBitrate))
	add("Call SendBitrate", Integer, strconv.Itoa(s.Media.SendBitrate))
	add("Call ReceiveBitrate", Integer, strconv.Itoa(s.Media.RecvBitrate))
	add("Call LossPercent", Decimal, strconv.FormatFloat(s.Media.LossPercent, 'f', 1, 64))
	add("Call RoundTripMillis", Integer, strconv.Itoa(s.Media.RTTMillis))
	add("Call SendFps", Integer, strconv.Itoa(int(s.Media.SendFPS+0.5)))
	add("Call SendResolution", String, resolution(s.Media.Width, s.Media.Height))
	add("Call Encoder", String, s.Media.Encoder)
	add("Call Camera", String, s.Media.Camera)
	add("Call Microphone", String, s.Media.Microphone)
	for i, rv := range s.Media.Received {
		n := strconv.Itoa(i + 1)
		addPath(Path{"Call", "Receive", n, "Participant"}, String, rv.Participant)
		addPath(Path{"Call", "Receive", n, "Width"}, Integer, strconv.Itoa(max(rv.Width, 0)))
		addPath(Path{"Call", "Receive", n, "Height"}, Integer, strconv.Itoa(max(rv.Height, 0)))
		addPath(Path{"Call", "Receive", n, "Fps"}, Integer, strconv.Itoa(max(int(rv.FPS+0.5), 0)))
		addPath(Path{"Call", "Receive", n, "Bitrate"}, Integer, strconv.Itoa(max(rv.Bitrate, 0)))
	}
	add("Call JoinOffer Id", String, s.JoinOffer.ID)
	add("Call JoinOffer Title", String, s.JoinOffer.Title)
	add("Call JoinOffer Start", Time, formatTime(s.JoinOffer.Start))
	add("Schedule StaleSince", Time, formatTime(s.ScheduleStaleSince))
	add("Video Camera Privacy", Literal, onOffString(s.CameraPrivacy))
	add("Video Camera Preset", Integer, strconv.Itoa(s.CameraPreset))
	add("Video Display Power", Literal, onOffString(s.DisplayPower))
	for i, m := range s.NextMeetings {
		n := strconv.Itoa(i + 1)
		addPath(Path{"Schedule", "Next", n, "Id"}, String, m.ID)
		addPath(Path{"Schedule", "Next", n, "Title"}, String, m.Title)
		addPath(Path{"Schedule", "Next", n, "Start"}, Time, formatTime(m.Start))
		addPath(Path{"Schedule", "Next", n, "End"}, Time, formatTime(m.End))
		addPath(Path{"Schedule", "Next", n, "Joinable"}, Literal, trueFalseString(m.URI != ""))
	}
	if s.Env.HaveTemperature {
		add("Environment Temperature", Decimal, strconv.FormatFloat(s.Env.Temperature, 'f', 1, 64))
	}
	if s.Env.HaveHumidity {
		add("Environment Humidity", Decimal, strconv.FormatFloat(s.Env.Humidity, 'f', 1, 64))
	}
	if s.Env.HaveOccupancy {
		occ := "Vacant"
		if s.Env.Occupied {
			occ = "Occupied"
		}
		add("Environment Occupancy", Literal, occ)
	}
	for _, d := range s.Hardware {
		name := pathName(d.Name)
		addPath(Path{"Hardware", "Device", name, "Kind"}, String, d.Kind)
		addPath(Path{"Hardware", "Device", name, "State"}, Literal, titleCase(d.State))
		addPath(Path{"Hardware", "Device", name, "Reason"}, String, d.Reason)
	}
	add("Provisioning State", Literal, s.Provisioning.State.String())
	add("Provisioning ConfigVersion", Integer, strconv.FormatInt(max(s.Provisioning.ConfigVersion, 0), 10))
	add("Provisioning Stale", Literal, trueFalseString(s.Provisioning.Stale))
	add("Provisioning Detail", String, s.Provisioning.Detail)
	add("Provisioning Since", Time, formatTime(s.Provisioning.Since))
	add("SystemUnit Name", String, s.Settings.Name)
	add("SystemUnit SavedState Restored", Literal, s.Restored.From.String())
	add("SystemUnit SavedState Detail", String, s.Restored.Detail)
	for i, f := range s.DamagedFiles {
		n := strconv.Itoa(i + 1)
		addPath(Path{"SystemUnit", "DamagedFile", n, "Name"}, String, f.Name)
		addPath(Path{"SystemUnit", "DamagedFile", n, "Since"}, Time, formatTime(f.Since))
	}
	add("SystemUnit Software Version", String, sys.SoftwareVersion)
	add("SystemUnit ProtocolVersion", String, SchemaVersion)
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Truncate(time.Second).Format(time.RFC3339)
}

// titleCase turns the hal's "loaded" into the schema's "Loaded".
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Diff returns the leaves of next whose value differs from prev or that prev
// lacks, in next's order, followed by the leaves of prev that next lacks
// (Gone set).
func Diff(prev, next []Leaf) []Change {
	old := make(map[string]string, len(prev))
	for _, l := range prev {
		old[l.Path.String()] = l.Value
	}
	var out []Change
	seen := make(map[string]bool, len(next))
	for _, l := range next {
		k := l.Path.String()
		seen[k] = true
		if v, ok := old[k]; !ok || v != l.Value {
			out = append(out, Change{Leaf: l})
		}
	}
	for _, l := range prev {
		if !seen[l.Path.String()] {
			out = append(out, Change{Leaf: l, Gone: true})
		}
	}
	return out
}

// DiffStates is Diff(Flatten(prev, sys), Flatten(next, sys)).
func DiffStates(prev, next room.State, sys System) []Change {
	return Diff(Flatten(prev, sys), Flatten(next, sys))
}

// StatusPrefix checks that p names a status leaf or a subtree of them
// ("Audio", "Schedule Next 1", "Hardware Device mute_led State") and returns
// it in canonical case. An empty path is the whole tree.
func StatusPrefix(p Path) (Path, error) {
	for _, s := range vocab.Status {
		if c, ok := matchPattern(s.Path, p); ok {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: no status at %q", ErrUnknownPath, p.String())
}

// Select returns the leaves under prefix (compared ignoring case).
func Select(leaves []Leaf, prefix Path) []Leaf {
	var out []Leaf
	for _, l := range leaves {
		if l.Path.HasPrefix(prefix) {
			out = append(out, l)
		}
	}
	return out
}
