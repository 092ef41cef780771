package feedback

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/room"
)

// surfaces is 64 panels and 4 consoles.
const surfaces = 68

// BenchmarkRoomUpdate compares, for one room update seen by 68 surfaces,
// the way feedback was made before the hub (each surface's own watch of
// the room, which the room fed a copy of its state, flattened with path
// strings parsed on every call and compared with the surface's last
// flattening) with the hub (one copy, one incremental flattening, one
// comparison, the batch queued to 68 subscribers and taken by each).
//
//	go test -run '^$' -bench RoomUpdate -benchmem ./control/feedback
func BenchmarkRoomUpdate(b *testing.B) {
	states := benchStates()
	sys := control.System{SoftwareVersion: "1.0.0"}

	b.Run("per-session", func(b *testing.B) {
		status := make([][]control.Leaf, surfaces)
		config := make([][]control.Leaf, surfaces)
		for i := range surfaces {
			status[i], config[i] = oldFlatten(states[0], sys), control.ConfigLeaves(states[0].Settings)
		}
		b.ReportAllocs()
		for n := 1; b.Loop(); n++ {
			s := states[n%len(states)]
			for i := range surfaces {
				u := cloneState(s) // the room's copy for each watcher
				ns, nc := oldFlatten(u, sys), control.ConfigLeaves(u.Settings)
				if len(control.Diff(status[i], ns))+len(control.Diff(config[i], nc)) == 0 {
					b.Fatal("no change")
				}
				status[i], config[i] = ns, nc
			}
		}
	})

	b.Run("hub", func(b *testing.B) {
		h := &Hub{sys: sys, queue: DefaultQueue, subs: map[*subscriber]struct{}{}, gen: 1, stop: func() {}}
		subs := make([]*subscriber, surfaces)
		for i := range subs {
			subs[i] = &subscriber{ch: make(chan Batch, DefaultQueue)}
			h.subs[subs[i]] = struct{}{}
		}
		var f flattener
		f.batch(room.Update{State: states[0], Initial: true}, sys)
		b.ReportAllocs()
		for n := 1; b.Loop(); n++ {
			u := room.Update{State: cloneState(states[n%len(states)])} // the room's one copy
			h.publish(1, f.batch(u, sys))
			for _, s := range subs {
				if len((<-s.ch).StatusChanges) == 0 {
					b.Fatal("no change")
				}
			}
		}
	})
}

// benchStates are two moments of a call with two people sending video,
// three meetings ahead and six devices: call figures change, as they do
// every second of a call.
func benchStates() []room.State {
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	s := room.State{
		Call:    room.InCall,
		Meeting: room.Meeting{ID: "m-1", Title: "Weekly", URI: "https://meet.example/abc", End: start.Add(time.Hour)},
		Media: room.CallMedia{Participants: 2, SendBitrate: 1_200_000, RecvBitrate: 2_150_000, SendFPS: 30, Width: 1280, Height: 720,
			Encoder: "libvpx", Received: []room.ReceivedVideo{
				{Participant: "Alice", Width: 1280, Height: 720, FPS: 29.6, Bitrate: 1_800_000},
				{Participant: "Bob", Width: 640, Height: 360, FPS: 15, Bitrate: 350_000},
			}},
		Volume:       35,
		DisplayPower: true,
		NextMeetings: []room.Meeting{
			{ID: "a", Title: "Standup", URI: "https://x/a", Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour)},
			{ID: "b", Title: "Review", URI: "https://x/b", Start: start.Add(4 * time.Hour), End: start.Add(5 * time.Hour)},
			{ID: "c", Title: "Retro", Start: start.Add(6 * time.Hour), End: start.Add(7 * time.Hour)},
		},
		Hardware: []room.Device{
			{Name: "mute_led", Kind: "led", State: "loaded"}, {Name: "call_led", Kind: "led", State: "loaded"},
			{Name: "mute_button", Kind: "button", State: "loaded"}, {Name: "display_power", Kind: "relay", State: "loaded"},
			{Name: "bme280", Kind: "sensor", State: "loaded"}, {Name: "console", Kind: "serial", State: "loaded"},
		},
		Env:      room.Environment{Temperature: 21.5, HaveTemperature: true, Humidity: 40, HaveHumidity: true},
		Settings: room.DefaultSettings(),
	}
	t := cloneState(s)
	t.Media.SendBitrate, t.Media.RecvBitrate, t.Media.RTTMillis = 1_150_000, 2_050_000, 42
	t.Media.Received[0].FPS, t.Media.Received[0].Bitrate = 28.9, 1_700_000
	return []room.State{s, t}
}

func cloneState(s room.State) room.State {
	s.NextMeetings = slices.Clone(s.NextMeetings)
	s.Hardware = slices.Clone(s.Hardware)
	s.Media.Received = slices.Clone(s.Media.Received)
	s.DamagedFiles = slices.Clone(s.DamagedFiles)
	return s
}

// oldFlatten is control.Flatten as it was before the status tree (commit
// e0eb9f5^), kept here only to measure against: every leaf's path parsed
// from its string on every call.
func oldFlatten(s room.State, sys control.System) []control.Leaf {
	var out []control.Leaf
	add := func(path string, kind control.ValueKind, v string) {
		out = append(out, control.Leaf{Path: control.ParsePath(path), Value: v, Kind: kind})
	}
	addPath := func(path control.Path, kind control.ValueKind, v string) {
		out = append(out, control.Leaf{Path: path, Value: v, Kind: kind})
	}
	onOff := func(b bool) string {
		if b {
			return "On"
		}
		return "Off"
	}
	trueFalse := func(b bool) string {
		if b {
			return "True"
		}
		return "False"
	}
	ftime := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Truncate(time.Second).Format(time.RFC3339)
	}
	res := func(w, h int) string {
		if w == 0 || h == 0 {
			return ""
		}
		return strconv.Itoa(w) + "x" + strconv.Itoa(h)
	}
	const lit, num, dec, str, tim = control.Literal, control.Integer, control.Decimal, control.String, control.Time
	add("Audio Microphones Mute", lit, onOff(s.MicMute))
	add("Audio Microphones HardwareSwitch", lit, onOff(s.MicSwitch))
	add("Audio Volume", num, strconv.Itoa(s.Volume))
	add("Call State", lit, s.Call.String())
	add("Call Reason", str, s.CallReason)
	add("Call MeetingId", str, s.Meeting.ID)
	add("Call Uri", str, s.Meeting.URI)
	add("Call End", tim, ftime(s.Meeting.End))
	add("Call Protocol", str, s.Media.Protocol)
	add("Call Encryption", str, s.Media.Encryption)
	add("Call Participants", num, strconv.Itoa(s.Media.Participants))
	add("Call TargetBitrate", num, strconv.Itoa(s.Media.TargetBitrate))
	add("Call SendBitrate", num, strconv.Itoa(s.Media.SendBitrate))
	add("Call ReceiveBitrate", num, strconv.Itoa(s.Media.RecvBitrate))
	add("Call LossPercent", dec, strconv.FormatFloat(s.Media.LossPercent, 'f', 1, 64))
	add("Call RoundTripMillis", num, strconv.Itoa(s.Media.RTTMillis))
	add("Call SendFps", num, strconv.Itoa(int(s.Media.SendFPS+0.5)))
	add("Call SendResolution", str, res(s.Media.Width, s.Media.Height))
	add("Call Encoder", str, s.Media.Encoder)
	add("Call Camera", str, s.Media.Camera)
	add("Call Microphone", str, s.Media.Microphone)
	for i, rv := range s.Media.Received {
		n := strconv.Itoa(i + 1)
		addPath(control.Path{"Call", "Receive", n, "Participant"}, str, rv.Participant)
		addPath(control.Path{"Call", "Receive", n, "Width"}, num, strconv.Itoa(max(rv.Width, 0)))
		addPath(control.Path{"Call", "Receive", n, "Height"}, num, strconv.Itoa(max(rv.Height, 0)))
		addPath(control.Path{"Call", "Receive", n, "Fps"}, num, strconv.Itoa(max(int(rv.FPS+0.5), 0)))
		addPath(control.Path{"Call", "Receive", n, "Bitrate"}, num, strconv.Itoa(max(rv.Bitrate, 0)))
	}
	add("Call JoinOffer Id", str, s.JoinOffer.ID)
	add("Call JoinOffer Title", str, s.JoinOffer.Title)
	add("Call JoinOffer Start", tim, ftime(s.JoinOffer.Start))
	if !s.Incoming.IsZero() { // schema 1.4
		add("Call Incoming Id", str, s.Incoming.ID)
		add("Call Incoming RemoteUri", str, s.Incoming.From)
		add("Call Incoming DisplayName", str, s.Incoming.Display)
	}
	add("Schedule StaleSince", tim, ftime(s.ScheduleStaleSince))
	add("Video Camera Privacy", lit, onOff(s.CameraPrivacy))
	add("Video Camera Preset", num, strconv.Itoa(s.CameraPreset))
	add("Video Display Power", lit, onOff(s.DisplayPower))
	for i, m := range s.NextMeetings {
		n := strconv.Itoa(i + 1)
		addPath(control.Path{"Schedule", "Next", n, "Id"}, str, m.ID)
		addPath(control.Path{"Schedule", "Next", n, "Title"}, str, m.Title)
		addPath(control.Path{"Schedule", "Next", n, "Start"}, tim, ftime(m.Start))
		addPath(control.Path{"Schedule", "Next", n, "End"}, tim, ftime(m.End))
		addPath(control.Path{"Schedule", "Next", n, "Joinable"}, lit, trueFalse(m.URI != ""))
		addPath(control.Path{"Schedule", "Next", n, "Uri"}, str, m.URI)
		addPath(control.Path{"Schedule", "Next", n, "Why"}, str, m.Why)
	}
	if s.Env.HaveTemperature {
		add("Environment Temperature", dec, strconv.FormatFloat(s.Env.Temperature, 'f', 1, 64))
	}
	if s.Env.HaveHumidity {
		add("Environment Humidity", dec, strconv.FormatFloat(s.Env.Humidity, 'f', 1, 64))
	}
	if s.Env.HaveOccupancy {
		occ := "Vacant"
		if s.Env.Occupied {
			occ = "Occupied"
		}
		add("Environment Occupancy", lit, occ)
	}
	for _, d := range s.Hardware {
		name := strings.NewReplacer(" ", "_", "/", "_", ":", "_", `"`, "_", "|", "_", `\`, "_").Replace(d.Name)
		addPath(control.Path{"Hardware", "Device", name, "Kind"}, str, d.Kind)
		addPath(control.Path{"Hardware", "Device", name, "State"}, lit, strings.ToUpper(d.State[:1])+d.State[1:])
		addPath(control.Path{"Hardware", "Device", name, "Reason"}, str, d.Reason)
	}
	add("Provisioning State", lit, s.Provisioning.State.String())
	add("Provisioning ConfigVersion", num, strconv.FormatInt(max(s.Provisioning.ConfigVersion, 0), 10))
	add("Provisioning Stale", lit, trueFalse(s.Provisioning.Stale))
	add("Provisioning Detail", str, s.Provisioning.Detail)
	add("Provisioning Since", tim, ftime(s.Provisioning.Since))
	sip := s.SIP.Status
	if sip == "" {
		sip = room.SIPOff
	}
	add("SIP Registration Status", lit, sip)
	add("SIP Registration Reason", str, s.SIP.Reason)
	add("SIP Registration Uri", str, s.SIP.URI)
	for i, e := range s.Directory {
		n := strconv.Itoa(i + 1)
		addPath(control.Path{"Directory", "Entry", n, "Name"}, str, e.Name)
		addPath(control.Path{"Directory", "Entry", n, "Uri"}, str, e.URI)
	}
	add("SystemUnit Name", str, s.Settings.Name)
	add("SystemUnit SavedState Restored", lit, s.Restored.From.String())
	add("SystemUnit SavedState Detail", str, s.Restored.Detail)
	for i, f := range s.DamagedFiles {
		n := strconv.Itoa(i + 1)
		addPath(control.Path{"SystemUnit", "DamagedFile", n, "Name"}, str, f.Name)
		addPath(control.Path{"SystemUnit", "DamagedFile", n, "Since"}, tim, ftime(f.Since))
	}
	add("SystemUnit Software Version", str, sys.SoftwareVersion)
	add("SystemUnit ProtocolVersion", str, control.SchemaVersion)
	return out
}

// The copy measured against is the flattening it stands for, leaf for leaf
// and in the same order.
func TestOldFlattenIsFlatten(t *testing.T) {
	sys := control.System{SoftwareVersion: "1.0.0"}
	more := benchStates()[1]
	more.Env.Occupied, more.Env.HaveOccupancy = true, true
	more.ScheduleStaleSince = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	more.DamagedFiles = []room.DamagedFile{{Name: "room.json.corrupt-20261207T080000Z", Since: more.ScheduleStaleSince}}
	more.Media.Protocol, more.Media.Encryption = "SIP", "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)"
	more.Directory = []room.DirectoryEntry{{Name: "Fjord", URI: "sip:fjord@rooms.example.com"}}
	more.Restored = room.Restored{From: room.RestoreDamaged, Detail: "room.json is damaged"}
	more.Provisioning = room.Provisioning{State: room.Enrolled, ConfigVersion: 4, Stale: true}
	more.Incoming = room.IncomingCall{ID: "c1", From: "sip:alice@example.com", Display: "Alice"}
	more.SIP = room.SIPRegistration{Status: room.SIPRegistered, URI: "sip:room@example.com"}
	for _, s := range append(benchStates(), more, room.State{}) {
		old, now := oldFlatten(s, sys), control.Flatten(s, sys)
		if !slices.EqualFunc(old, now, func(a, b control.Leaf) bool {
			return a.Value == b.Value && a.Kind == b.Kind && slices.Equal(a.Path, b.Path)
		}) {
			t.Errorf("the benchmark's copy of the old Flatten differs:\n old %v\n now %v", old, now)
		}
	}
}
