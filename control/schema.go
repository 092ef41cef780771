package control

import (
	"slices"
	"strconv"
	"strings"

	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/room"
)

// SchemaVersion names the vocabulary below. Bump it (minor for additions,
// major for removals or renames) with every change to a path, parameter,
// value space or event, and add testdata/schema-<version>.json.
const SchemaVersion = "1.4"

// StatusSpec describes one status leaf.
type StatusSpec struct {
	Path     Path // may hold the placeholders [N] and [Name]
	Space    ValueSpace
	Optional bool // present only when the room has it (sensors)
}

// ParamSpec describes one command parameter.
type ParamSpec struct {
	Name     string
	Space    ValueSpace
	Required bool
	Default  string // used when an optional parameter is left out
}

// CommandSpec describes one command.
type CommandSpec struct {
	Path   Path
	Result string // name of the result, e.g. "VolumeSetResult"
	Params []ParamSpec
	// action builds the room action from canonical arguments (defaults filled in).
	action func(args map[string]string) room.Action
	// check, when set, refuses arguments that each fit their space but
	// must not reach the room (a meeting link with a password in it).
	check func(args map[string]string) error
}

// ConfigSpec describes one configuration item kept in room.Settings.
type ConfigSpec struct {
	Path  Path
	Space ValueSpace
	get   func(room.Settings) string
	set   func(*room.Settings, string) // the value is canonical
}

// EventSpec describes one event the room announces.
type EventSpec struct {
	Name   string
	Fields []string // keys, in the order the room sends them
}

// Schema is the whole vocabulary.
type Schema struct {
	Version  string
	Status   []StatusSpec
	Commands []CommandSpec
	Config   []ConfigSpec
	Events   []EventSpec
}

// vocab is built once and never changed.
var vocab = newSchema()

// Vocabulary returns a copy of the schema.
func Vocabulary() Schema { return newSchema() }

func p(s string) Path { return ParsePath(s) }

func onOffString(b bool) string {
	if b {
		return "On"
	}
	return "Off"
}

func trueFalseString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func newSchema() Schema {
	return Schema{
		Version: SchemaVersion,
		Status:  statusSpecs(statusTree),
		Commands: []CommandSpec{
			{Path: p("Audio Microphones Mute"), Result: "MicrophonesMuteResult",
				action: func(map[string]string) room.Action { return room.SetMicMute{Mute: true} }},
			{Path: p("Audio Microphones Unmute"), Result: "MicrophonesUnmuteResult",
				action: func(map[string]string) room.Action { return room.SetMicMute{Mute: false} }},
			{Path: p("Audio Microphones ToggleMute"), Result: "MicrophonesToggleMuteResult",
				action: func(map[string]string) room.Action { return room.ToggleMicMute{} }},
			{Path: p("Audio Volume Set"), Result: "VolumeSetResult",
				Params: []ParamSpec{{Name: "Level", Space: integer(0, 100), Required: true}},
				action: func(a map[string]string) room.Action { return room.SetVolume{Level: atoi(a["Level"])} }},
			{Path: p("Audio Volume Increase"), Result: "VolumeIncreaseResult",
				action: func(map[string]string) room.Action { return room.StepVolume{Steps: 1} }},
			{Path: p("Audio Volume Decrease"), Result: "VolumeDecreaseResult",
				action: func(map[string]string) room.Action { return room.StepVolume{Steps: -1} }},
			{Path: p("Video Camera Privacy Set"), Result: "PrivacySetResult",
				Params: []ParamSpec{{Name: "Mode", Space: onOff, Required: true}},
				action: func(a map[string]string) room.Action { return room.SetCameraPrivacy{On: a["Mode"] == "On"} }},
			{Path: p("Video Camera Preset Activate"), Result: "PresetActivateResult",
				Params: []ParamSpec{{Name: "PresetId", Space: integer(1, 15), Required: true}},
				action: func(a map[string]string) room.Action { return room.ActivateCameraPreset{ID: atoi(a["PresetId"])} }},
			{Path: p("Video Display Power Set"), Result: "PowerSetResult",
				Params: []ParamSpec{{Name: "Mode", Space: onOff, Required: true}},
				action: func(a map[string]string) room.Action { return room.SetDisplayPower{On: a["Mode"] == "On"} }},
			{Path: p("Call Join"), Result: "CallJoinResult",
				Params: []ParamSpec{
					{Name: "Uri", Space: text(1, 2048), Required: true},
					{Name: "MeetingId", Space: text(0, 128)},
					{Name: "Title", Space: text(0, 256)},
					{Name: "Replace", Space: trueFalse, Default: "False"},
					{Name: "Passcode", Space: text(0, 64)},
				},
				check: checkJoinLink,
				action: func(a map[string]string) room.Action {
					m := room.Meeting{ID: a["MeetingId"], Title: a["Title"], URI: a["Uri"], Passcode: a["Passcode"]}
					// A link typed with its PIN in it (…&pin=1234) is split the
					// way calendar links are, so the PIN never shows in status.
					if l, err := meetinglink.Parse(m.URI); err == nil && l.Secret != "" {
						m.URI = l.URI
						if m.Passcode == "" {
							m.Passcode = l.Secret
						}
					}
					return room.Join{Meeting: m, Replace: a["Replace"] == "True"}
				}},
			{Path: p("Call JoinOffered"), Result: "CallJoinOfferedResult",
				action: func(map[string]string) room.Action { return room.JoinOffered{} }},
			{Path: p("Call Extend"), Result: "CallExtendResult",
				Params: []ParamSpec{{Name: "Minutes", Space: integer(1, 240), Required: true}},
				action: func(a map[string]string) room.Action { return room.ExtendMeeting{Minutes: atoi(a["Minutes"])} }},
			{Path: p("Provisioning Enroll"), Result: "ProvisioningEnrollResult",
				Params: []ParamSpec{{Name: "ActivationCode", Space: text(8, 40), Required: true}},
				action: func(a map[string]string) room.Action { return room.Enroll{Code: a["ActivationCode"]} }},
			{Path: p("Provisioning PollNow"), Result: "ProvisioningPollNowResult",
				action: func(map[string]string) room.Action { return room.PollNow{} }},
			{Path: p("Call Leave"), Result: "CallLeaveResult",
				action: func(map[string]string) room.Action { return room.Leave{} }},
			// Schema 1.4: the call ringing the room, and tones into a call.
			{Path: p("Call Accept"), Result: "CallAcceptResult",
				Params: []ParamSpec{{Name: "Id", Space: text(0, 128)}},
				action: func(a map[string]string) room.Action { return room.AcceptIncoming{ID: a["Id"]} }},
			{Path: p("Call Reject"), Result: "CallRejectResult",
				Params: []ParamSpec{{Name: "Id", Space: text(0, 128)}},
				action: func(a map[string]string) room.Action { return room.DeclineIncoming{ID: a["Id"]} }},
			{Path: p("Call DTMFSend"), Result: "CallDTMFSendResult",
				Params: []ParamSpec{{Name: "Digits", Space: text(1, room.MaxDTMFDigits), Required: true}},
				check:  func(a map[string]string) error { return room.ValidDTMF(a["Digits"]) },
				action: func(a map[string]string) room.Action { return room.SendDTMF{Digits: a["Digits"]} }},
		},
		Config: []ConfigSpec{
			{Path: p("SystemUnit Name"), Space: text(1, 64),
				get: func(s room.Settings) string { return s.Name },
				set: func(s *room.Settings, v string) { s.Name = v }},
			{Path: p("Audio DefaultVolume"), Space: integer(0, 100),
				get: func(s room.Settings) string { return strconv.Itoa(s.DefaultVolume) },
				set: func(s *room.Settings, v string) { s.DefaultVolume = atoi(v) }},
			{Path: p("Audio VolumeStep"), Space: integer(1, 50),
				get: func(s room.Settings) string { return strconv.Itoa(s.VolumeStep) },
				set: func(s *room.Settings, v string) { s.VolumeStep = atoi(v) }},
			{Path: p("Audio Microphones MuteOnJoin"), Space: onOff,
				get: func(s room.Settings) string { return onOffString(s.MuteOnJoin) },
				set: func(s *room.Settings, v string) { s.MuteOnJoin = v == "On" }},
			{Path: p("Audio Microphones UnmutePolicy"), Space: literal("InRoom", "Anyone"),
				get: func(s room.Settings) string { return s.Unmute.String() },
				set: func(s *room.Settings, v string) {
					s.Unmute = room.UnmuteInRoom
					if v == "Anyone" {
						s.Unmute = room.UnmuteAnyone
					}
				}},
			{Path: p("Video Camera Presets"), Space: integer(0, 15),
				get: func(s room.Settings) string { return strconv.Itoa(s.Presets) },
				set: func(s *room.Settings, v string) { s.Presets = atoi(v) }},
		},
		Events: []EventSpec{
			{Name: "CallJoining", Fields: []string{"MeetingId", "By"}},
			{Name: "CallConnected", Fields: []string{"MeetingId"}},
			{Name: "CallReconnecting", Fields: []string{"Reason"}},
			{Name: "CallFailed", Fields: []string{"Reason"}},
			{Name: "CallEnded", Fields: []string{"MeetingId"}},
			{Name: "CommandRefused", Fields: []string{"By", "Reason"}},
			{Name: "JoinOffered", Fields: []string{"MeetingId", "Start"}},
			{Name: "MeetingExtended", Fields: []string{"MeetingId", "End"}},
			{Name: "IncomingCall", Fields: []string{"RemoteUri", "DisplayName", "Id"}},
			{Name: "IncomingCallCancelled", Fields: []string{"Id", "Reason"}},
			{Name: "IncomingCallDeclined", Fields: []string{"Id", "By"}},
		},
	}
}

// Document is the schema as clients receive it (xDocument Schema, the
// panel's /schema). Its JSON form is pinned per version by a golden file.
type Document struct {
	SchemaVersion string       `json:"SchemaVersion"`
	Status        []DocLeaf    `json:"Status"`
	Commands      []DocCommand `json:"Commands"`
	Configuration []DocLeaf    `json:"Configuration"`
	Events        []DocEvent   `json:"Events"`
}

// DocLeaf is one status leaf or configuration item.
type DocLeaf struct {
	Path       string `json:"Path"`
	ValueSpace string `json:"ValueSpace"`
	Optional   bool   `json:"Optional,omitempty"`
}

// DocCommand is one command with its parameters.
type DocCommand struct {
	Path   string     `json:"Path"`
	Result string     `json:"Result"`
	Params []DocParam `json:"Params,omitempty"`
}

// DocParam is one command parameter.
type DocParam struct {
	Name       string `json:"Name"`
	ValueSpace string `json:"ValueSpace"`
	Required   bool   `json:"Required,omitempty"`
	Default    string `json:"Default,omitempty"`
}

// DocEvent is one event with its fields.
type DocEvent struct {
	Name   string   `json:"Name"`
	Fields []string `json:"Fields"`
}

// Export returns the schema as a document.
func Export() Document {
	d := Document{SchemaVersion: vocab.Version}
	for _, s := range vocab.Status {
		d.Status = append(d.Status, DocLeaf{Path: s.Path.String(), ValueSpace: s.Space.String(), Optional: s.Optional})
	}
	for _, c := range vocab.Commands {
		dc := DocCommand{Path: c.Path.String(), Result: c.Result}
		for _, p := range c.Params {
			dc.Params = append(dc.Params, DocParam{Name: p.Name, ValueSpace: p.Space.String(), Required: p.Required, Default: p.Default})
		}
		d.Commands = append(d.Commands, dc)
	}
	for _, c := range vocab.Config {
		d.Configuration = append(d.Configuration, DocLeaf{Path: c.Path.String(), ValueSpace: c.Space.String()})
	}
	for _, e := range vocab.Events {
		d.Events = append(d.Events, DocEvent{Name: e.Name, Fields: append([]string(nil), e.Fields...)})
	}
	return d
}

// Event returns the schema's description of the event called name (any case).
func Event(name string) (EventSpec, bool) {
	for _, e := range vocab.Events {
		if strings.EqualFold(e.Name, name) {
			e.Fields = slices.Clone(e.Fields)
			return e, true
		}
	}
	return EventSpec{}, false
}
