package control

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/roomd/roomd/room"
)

// statusLeaf is one leaf of the status tree: where it sits, the values it
// may hold and how it is read from the room.
type statusLeaf struct {
	path     Path // canonical; a repeated group's slot holds [N] or [Name]
	space    ValueSpace
	optional bool // present only when the room has it (sensors)
	// read returns the leaf's value for item i of a repeated group (0 for
	// a single leaf); ok is false when an optional leaf is absent.
	read func(s *room.State, sys System, i int) (v string, ok bool)
}

// statusGroup is a run of leaves that come and go together: one leaf, or
// the leaves of an item the room lists (a received video, a meeting, a
// device, a damaged file), repeated once per item as [N] or [Name].
type statusGroup struct {
	leaves []statusLeaf
	slot   int                           // index of [N] or [Name] in the paths; -1 for one leaf
	count  func(*room.State) int         // how many items; nil for one leaf
	key    func(*room.State, int) string // the path element of item i
	// same reports that the items are unchanged between two states, so
	// an incremental flattening keeps the group's leaves as they were.
	same func(a, b *room.State) bool
	// listedAfter, when set, is the status path after which the schema
	// documents list this leaf (see newStatusTree).
	listedAfter string
}

// leaf is a single status leaf read from the room's state.
func leaf(path string, space ValueSpace, read func(s *room.State) string) statusGroup {
	return statusGroup{slot: -1, leaves: []statusLeaf{{path: ParsePath(path), space: space,
		read: func(s *room.State, _ System, _ int) (string, bool) { return read(s), true }}}}
}

// unit is a single text leaf about the unit rather than the room.
func unit(path string, read func(sys System) string) statusGroup {
	return statusGroup{slot: -1, leaves: []statusLeaf{{path: ParsePath(path), space: anyText,
		read: func(_ *room.State, sys System, _ int) (string, bool) { return read(sys), true }}}}
}

// listed makes the schema documents list g after the leaf at path.
func (g statusGroup) listed(after string) statusGroup {
	g.listedAfter = after
	return g
}

// sensor is an optional leaf: read's ok is false while the room has no reading.
func sensor(path string, space ValueSpace, read func(s *room.State) (string, bool)) statusGroup {
	return statusGroup{slot: -1, leaves: []statusLeaf{{path: ParsePath(path), space: space, optional: true,
		read: func(s *room.State, _ System, _ int) (string, bool) { return read(s) }}}}
}

// ringing is an optional text leaf about the call ringing the room,
// present only while one rings.
func ringing(path string, read func(room.IncomingCall) string) statusGroup {
	return sensor(path, anyText, func(s *room.State) (string, bool) { return read(s.Incoming), !s.Incoming.IsZero() })
}

// field is one leaf of a repeated group, read from one item.
type field[T any] struct {
	name  string
	space ValueSpace
	read  func(T) string
}

// each repeats fields once per item of list, under prefix (which ends in
// [N] or [Name]); key gives the element that stands for the placeholder.
func each[T comparable](prefix string, list func(*room.State) []T, key func(i int, item T) string, fields ...field[T]) statusGroup {
	pre := ParsePath(prefix)
	g := statusGroup{
		slot:  len(pre) - 1,
		count: func(s *room.State) int { return len(list(s)) },
		key:   func(s *room.State, i int) string { return key(i, list(s)[i]) },
		same:  func(a, b *room.State) bool { return slices.Equal(list(a), list(b)) },
	}
	for _, f := range fields {
		g.leaves = append(g.leaves, statusLeaf{path: append(slices.Clip(pre), f.name), space: f.space,
			read: func(s *room.State, _ System, i int) (string, bool) { return f.read(list(s)[i]), true }})
	}
	return g
}

// index is the key of [N] groups: 1, 2, …
func index[T any](i int, _ T) string { return strconv.Itoa(i + 1) }

// statusTree is the status vocabulary, declared once: Flatten walks it,
// the schema's Status list is made from it. It is built once and never
// changed.
var statusTree = newStatusTree()

// newStatusTree declares every status leaf in the order status reports
// them (xStatus, feedback, the panel).
func newStatusTree() []statusGroup {
	count := integer(0, math.MaxInt32)
	return []statusGroup{
		leaf("Audio Microphones Mute", onOff, func(s *room.State) string { return onOffString(s.MicMute) }),
		leaf("Audio Microphones HardwareSwitch", onOff, func(s *room.State) string { return onOffString(s.MicSwitch) }),
		leaf("Audio Volume", integer(0, 100), func(s *room.State) string { return strconv.Itoa(s.Volume) }),
		leaf("Call State", literal("Idle", "Joining", "InCall", "Reconnecting", "Leaving", "Failed"),
			func(s *room.State) string { return s.Call.String() }),
		leaf("Call Reason", anyText, func(s *room.State) string { return s.CallReason }),
		leaf("Call MeetingId", anyText, func(s *room.State) string { return s.Meeting.ID }),
		leaf("Call Uri", anyText, func(s *room.State) string { return s.Meeting.URI }),
		leaf("Call End", anyTime, func(s *room.State) string { return formatTime(s.Meeting.End) }),
		leaf("Call Protocol", anyText, func(s *room.State) string { return s.Media.Protocol }),
		leaf("Call Encryption", anyText, func(s *room.State) string { return s.Media.Encryption }),
		leaf("Call Participants", count, func(s *room.State) string { return strconv.Itoa(s.Media.Participants) }),
		leaf("Call TargetBitrate", count, func(s *room.State) string { return strconv.Itoa(s.Media.TargetBitrate) }),
		leaf("Call SendBitrate", count, func(s *room.State) string { return strconv.Itoa(s.Media.SendBitrate) }),
		leaf("Call ReceiveBitrate", count, func(s *room.State) string { return strconv.Itoa(s.Media.RecvBitrate) }),
		leaf("Call LossPercent", decimal, func(s *room.State) string { return strconv.FormatFloat(s.Media.LossPercent, 'f', 1, 64) }),
		leaf("Call RoundTripMillis", count, func(s *room.State) string { return strconv.Itoa(s.Media.RTTMillis) }),
		leaf("Call SendFps", integer(0, 120), func(s *room.State) string { return strconv.Itoa(int(s.Media.SendFPS + 0.5)) }),
		leaf("Call SendResolution", anyText, func(s *room.State) string { return resolution(s.Media.Width, s.Media.Height) }),
		leaf("Call Encoder", anyText, func(s *room.State) string { return s.Media.Encoder }),
		leaf("Call Camera", anyText, func(s *room.State) string { return s.Media.Camera }),
		leaf("Call Microphone", anyText, func(s *room.State) string { return s.Media.Microphone }),
		each("Call Receive [N]", func(s *room.State) []room.ReceivedVideo { return s.Media.Received }, index,
			field[room.ReceivedVideo]{"Participant", anyText, func(v room.ReceivedVideo) string { return v.Participant }},
			field[room.ReceivedVideo]{"Width", count, func(v room.ReceivedVideo) string { return strconv.Itoa(max(v.Width, 0)) }},
			field[room.ReceivedVideo]{"Height", count, func(v room.ReceivedVideo) string { return strconv.Itoa(max(v.Height, 0)) }},
			field[room.ReceivedVideo]{"Fps", count, func(v room.ReceivedVideo) string { return strconv.Itoa(max(int(v.FPS+0.5), 0)) }},
			field[room.ReceivedVideo]{"Bitrate", count, func(v room.ReceivedVideo) string { return strconv.Itoa(max(v.Bitrate, 0)) }}),
		leaf("Call JoinOffer Id", anyText, func(s *room.State) string { return s.JoinOffer.ID }),
		leaf("Call JoinOffer Title", anyText, func(s *room.State) string { return s.JoinOffer.Title }),
		leaf("Call JoinOffer Start", anyTime, func(s *room.State) string { return formatTime(s.JoinOffer.Start) }),
		// Present only while a call rings the room (schema 1.4).
		ringing("Call Incoming Id", func(c room.IncomingCall) string { return c.ID }),
		ringing("Call Incoming RemoteUri", func(c room.IncomingCall) string { return c.From }),
		ringing("Call Incoming DisplayName", func(c room.IncomingCall) string { return c.Display }),
		// Reported here, but listed after the Video leaves in the schema
		// documents since schema 1.1; both orders are pinned (transcripts,
		// testdata/schema-*.json).
		leaf("Schedule StaleSince", anyTime, func(s *room.State) string { return formatTime(s.ScheduleStaleSince) }).
			listed("Video Display Power"),
		leaf("Video Camera Privacy", onOff, func(s *room.State) string { return onOffString(s.CameraPrivacy) }),
		leaf("Video Camera Preset", integer(0, 15), func(s *room.State) string { return strconv.Itoa(s.CameraPreset) }),
		leaf("Video Display Power", onOff, func(s *room.State) string { return onOffString(s.DisplayPower) }),
		each("Schedule Next [N]", func(s *room.State) []room.Meeting { return s.NextMeetings }, index,
			field[room.Meeting]{"Id", anyText, func(m room.Meeting) string { return m.ID }},
			field[room.Meeting]{"Title", anyText, func(m room.Meeting) string { return m.Title }},
			field[room.Meeting]{"Start", anyTime, func(m room.Meeting) string { return formatTime(m.Start) }},
			field[room.Meeting]{"End", anyTime, func(m room.Meeting) string { return formatTime(m.End) }},
			field[room.Meeting]{"Joinable", trueFalse, func(m room.Meeting) string { return trueFalseString(m.URI != "") }},
			// The link without its passcode, and why the room cannot
			// join it ("" when it can) (schema 1.4).
			field[room.Meeting]{"Uri", anyText, func(m room.Meeting) string { return m.URI }},
			field[room.Meeting]{"Why", anyText, func(m room.Meeting) string { return m.Why }}),
		sensor("Environment Temperature", decimal, func(s *room.State) (string, bool) {
			return strconv.FormatFloat(s.Env.Temperature, 'f', 1, 64), s.Env.HaveTemperature
		}),
		sensor("Environment Humidity", decimal, func(s *room.State) (string, bool) {
			return strconv.FormatFloat(s.Env.Humidity, 'f', 1, 64), s.Env.HaveHumidity
		}),
		sensor("Environment Occupancy", literal("Occupied", "Vacant"), func(s *room.State) (string, bool) {
			if s.Env.Occupied {
				return "Occupied", s.Env.HaveOccupancy
			}
			return "Vacant", s.Env.HaveOccupancy
		}),
		each("Hardware Device [Name]", func(s *room.State) []room.Device { return s.Hardware },
			func(_ int, d room.Device) string { return pathName(d.Name) },
			field[room.Device]{"Kind", anyText, func(d room.Device) string { return d.Kind }},
			field[room.Device]{"State", literal("Loaded", "Skipped", "Failed"), func(d room.Device) string { return titleCase(d.State) }},
			field[room.Device]{"Reason", anyText, func(d room.Device) string { return d.Reason }}),
		leaf("Provisioning State", literal("Unenrolled", "Pending", "Enrolled", "Failed", "Revoked"),
			func(s *room.State) string { return s.Provisioning.State.String() }),
		leaf("Provisioning ConfigVersion", integer(0, math.MaxInt64),
			func(s *room.State) string { return strconv.FormatInt(max(s.Provisioning.ConfigVersion, 0), 10) }),
		leaf("Provisioning Stale", trueFalse, func(s *room.State) string { return trueFalseString(s.Provisioning.Stale) }),
		leaf("Provisioning Detail", anyText, func(s *room.State) string { return s.Provisioning.Detail }),
		leaf("Provisioning Since", anyTime, func(s *room.State) string { return formatTime(s.Provisioning.Since) }),
		leaf("SIP Registration Status", literal(room.SIPOff, room.SIPRegistering, room.SIPRegistered, room.SIPFailed),
			func(s *room.State) string { return cmp.Or(s.SIP.Status, room.SIPOff) }),
		leaf("SIP Registration Reason", anyText, func(s *room.State) string { return s.SIP.Reason }),
		leaf("SIP Registration Uri", anyText, func(s *room.State) string { return s.SIP.URI }),
		// The fleet's room directory, the panel's "Call a room" list
		// (schema 1.4).
		each("Directory Entry [N]", func(s *room.State) []room.DirectoryEntry { return s.Directory }, index,
			field[room.DirectoryEntry]{"Name", anyText, func(e room.DirectoryEntry) string { return e.Name }},
			field[room.DirectoryEntry]{"Uri", anyText, func(e room.DirectoryEntry) string { return e.URI }}),
		leaf("SystemUnit Name", anyText, func(s *room.State) string { return s.Settings.Name }),
		leaf("SystemUnit SavedState Restored", literal("None", "Saved", "Repaired", "Previous", "Damaged"),
			func(s *room.State) string { return s.Restored.From.String() }),
		leaf("SystemUnit SavedState Detail", anyText, func(s *room.State) string { return s.Restored.Detail }),
		each("SystemUnit DamagedFile [N]", func(s *room.State) []room.DamagedFile { return s.DamagedFiles }, index,
			field[room.DamagedFile]{"Name", anyText, func(f room.DamagedFile) string { return f.Name }},
			field[room.DamagedFile]{"Since", anyTime, func(f room.DamagedFile) string { return formatTime(f.Since) }}),
		unit("SystemUnit Software Version", func(sys System) string { return sys.SoftwareVersion }),
		unit("SystemUnit ProtocolVersion", func(System) string { return SchemaVersion }),
	}
}

// statusSpecs lists the tree's leaves for the schema: in the order the
// tree reports them, except where a leaf says it is listed elsewhere.
func statusSpecs(tree []statusGroup) []StatusSpec {
	var out []StatusSpec
	type move struct {
		spec  StatusSpec
		after string
	}
	var moves []move
	for _, g := range tree {
		for _, l := range g.leaves {
			space := l.space
			space.Values = slices.Clone(space.Values)
			spec := StatusSpec{Path: slices.Clone(l.path), Space: space, Optional: l.optional}
			if g.listedAfter != "" {
				moves = append(moves, move{spec, g.listedAfter})
				continue
			}
			out = append(out, spec)
		}
	}
	for _, m := range moves {
		i := slices.IndexFunc(out, func(s StatusSpec) bool { return s.Path.String() == m.after })
		out = slices.Insert(out, i+1, m.spec)
	}
	return out
}

// appendGroup appends g's leaves for state s to out.
func appendGroup(out []Leaf, g *statusGroup, s *room.State, sys System) []Leaf {
	if g.count == nil {
		for _, l := range g.leaves {
			if v, ok := l.read(s, sys, 0); ok {
				out = append(out, Leaf{Path: l.path, Value: v, Kind: l.space.Kind})
			}
		}
		return out
	}
	for i := range g.count(s) {
		k := g.key(s, i)
		for _, l := range g.leaves {
			v, _ := l.read(s, sys, i)
			p := slices.Clone(l.path)
			p[g.slot] = k
			out = append(out, Leaf{Path: p, Value: v, Kind: l.space.Kind})
		}
	}
	return out
}
