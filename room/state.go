// Package room is the one owner of a meeting room's state.
//
// Every surface (serial console, touch panel, hardware buttons, calendar,
// fleet configuration) sends the room a [Command] tagged with its [Source];
// drivers and the call engine report what really happened as [Report]s. The
// next state is computed by the pure function [Next]; a [Room] runs it on one
// goroutine, carries out the [Effect]s it asks for, and hands every watcher a
// snapshot followed by each change.
//
// # Truthful privacy
//
// Microphone mute, camera privacy, speaker volume and display power change
// only when the device reports its new level, never when someone merely asked
// for it, so the mute LED (driven from State.MicMute) shows the microphone's
// real state, also after a failed write and at start-up.
//
// Muting is always allowed. Unmuting and turning camera privacy off are
// allowed only from a source in the room (panel, button, local serial port)
// while the room's [UnmutePolicy] is [UnmuteInRoom], the default. A call
// joined from anywhere else starts with the microphones muted (and, under
// UnmuteInRoom, the camera private), and only the room or the calendar may
// replace a call under way.
//
// Privacy fails closed at start-up too: when the saved state cannot be read
// wholly ([Loaded].Damaged), the room starts muted and private whatever an
// older state says, and [State].Restored tells every surface why.
//
// room never imports a hardware or media driver: it talks to them through the
// small interfaces in devices.go.
package room

import (
	"fmt"
	"slices"
	"time"
)

// CallState is where the room is in a call.
type CallState int

// Call states.
const (
	Idle         CallState = iota // not in a call
	Joining                       // dialling or connecting
	InCall                        // media flowing
	Reconnecting                  // media lost; the engine is getting it back
	Leaving                       // hanging up
	Failed                        // the last call attempt failed; see State.CallReason
)

var callStateNames = [...]string{"Idle", "Joining", "InCall", "Reconnecting", "Leaving", "Failed"}

func (c CallState) String() string {
	if c >= 0 && int(c) < len(callStateNames) {
		return callStateNames[c]
	}
	return fmt.Sprintf("CallState(%d)", int(c))
}

// Active reports whether a call is set up or being set up.
func (c CallState) Active() bool {
	return c == Joining || c == InCall || c == Reconnecting || c == Leaving
}

// Meeting is a meeting the room can join.
//
// Its passcode travels with it to the call engine but is never shown: it is
// left out of JSON and of String (so of logs), and status renderers list
// fields by name. URI never carries the passcode.
type Meeting struct {
	ID       string    // stable identifier (calendar UID or a generated one)
	Title    string    // shown according to the room's privacy setting
	URI      string    // the joinable link, without its passcode
	Passcode string    `json:"-"` // the meeting's PIN or password, if any
	Start    time.Time // zero for ad-hoc meetings
	End      time.Time
	// Why a listed meeting cannot be joined from the room ("" when it
	// can): the panel shows "cannot join from this room: <Why>".
	Why string
	// Incoming is the ringing incoming call this join answers ("" for an
	// outgoing call): the engine answers it instead of dialling URI.
	Incoming string
}

// String describes the meeting without its passcode.
func (m Meeting) String() string {
	pc := ""
	if m.Passcode != "" {
		pc = " passcode=<redacted>"
	}
	return fmt.Sprintf("{ID:%s Title:%q URI:%s%s Start:%s End:%s}", m.ID, m.Title, m.URI, pc,
		m.Start.Format(time.RFC3339), m.End.Format(time.RFC3339))
}

// IsZero reports whether m is no meeting.
func (m Meeting) IsZero() bool { return m.ID == "" && m.URI == "" }

// Device is one hardware device's load state, as the hal reported it.
type Device struct {
	Name   string // role, e.g. "mute_led"
	Kind   string // "led", "relay", "button", "switch", "sensor", "serial", "microphone"
	State  string // "loaded", "skipped" or "failed"
	Reason string
}

// CallMedia is the call's media as the call engine reports it. It holds a
// slice, so compare two with [CallMedia.Equal].
type CallMedia struct {
	Protocol      string  // which provider carries the call: "Janus", "WHIP", "SIP"
	Encryption    string  // the media encryption, e.g. "DTLS-SRTP", "none"
	Participants  int     // other participants in the meeting
	TargetBitrate int     // congestion control's send budget, bit/s
	SendBitrate   int     // bit/s actually sent
	RecvBitrate   int     // bit/s received from all participants (audio and video)
	LossPercent   float64 // outgoing packets the far end reported lost
	RTTMillis     int
	SendFPS       float64
	Width, Height int    // sent video size
	Encoder       string // which encoder runs and why
	Camera        string // the camera (or source) in use
	Microphone    string
	// Received is what roomd receives from each other participant still
	// in the meeting, in the order they joined.
	Received []ReceivedVideo
}

// ReceivedVideo is one remote participant's video as roomd receives and
// decodes it.
type ReceivedVideo struct {
	Participant   string  // the name the meeting gives the participant
	Width, Height int     // of the last picture decoded; 0 before the first
	FPS           float64 // pictures decoded per second
	Bitrate       int     // bit/s received from the participant (audio and video)
}

// Equal reports whether m and o hold the same figures.
func (m CallMedia) Equal(o CallMedia) bool {
	return m.Protocol == o.Protocol && m.Encryption == o.Encryption &&
		m.Participants == o.Participants && m.TargetBitrate == o.TargetBitrate &&
		m.SendBitrate == o.SendBitrate && m.RecvBitrate == o.RecvBitrate &&
		m.LossPercent == o.LossPercent && m.RTTMillis == o.RTTMillis && m.SendFPS == o.SendFPS &&
		m.Width == o.Width && m.Height == o.Height && m.Encoder == o.Encoder &&
		m.Camera == o.Camera && m.Microphone == o.Microphone &&
		slices.Equal(m.Received, o.Received)
}

// Environment holds the latest sensor readings.
type Environment struct {
	Temperature     float64 // °C
	Humidity        float64 // %RH
	Occupied        bool
	HaveTemperature bool
	HaveHumidity    bool
	HaveOccupancy   bool
}

// ProvisioningState is how far the room is enrolled in a fleet.
type ProvisioningState int

// Provisioning states.
const (
	Unenrolled         ProvisioningState = iota // standalone, local configuration only
	Pending                                     // enrollment sent, awaiting approval
	Enrolled                                    // managed by a fleet server
	ProvisioningFailed                          // the provisioning store is damaged or the identity unusable; Detail says what to do
	Revoked                                     // the fleet server revoked this device
)

var provNames = [...]string{"Unenrolled", "Pending", "Enrolled", "Failed", "Revoked"}

func (p ProvisioningState) String() string {
	if p >= 0 && int(p) < len(provNames) {
		return provNames[p]
	}
	return fmt.Sprintf("ProvisioningState(%d)", int(p))
}

// Provisioning is the room's fleet state.
type Provisioning struct {
	State         ProvisioningState
	ConfigVersion int64
	Stale         bool   // the configuration in force has expired or cannot be refreshed
	Detail        string // e.g. the key fingerprint while pending
	// Since is when a Failed or Revoked state was first seen (UTC, whole
	// seconds); zero otherwise.
	Since time.Time
}

// UnmutePolicy says who may unmute the microphones and turn camera privacy off.
type UnmutePolicy int

// Unmute policies.
const (
	UnmuteInRoom UnmutePolicy = iota // only sources in the room (default)
	UnmuteAnyone                     // any authenticated surface
)

func (p UnmutePolicy) String() string {
	switch p {
	case UnmuteInRoom:
		return "InRoom"
	case UnmuteAnyone:
		return "Anyone"
	}
	return fmt.Sprintf("UnmutePolicy(%d)", int(p))
}

// Settings are the room's configuration that surfaces may change at run time.
type Settings struct {
	Name          string       // room name shown on the panel and in status
	DefaultVolume int          // volume at start-up and after each call, 0..100
	VolumeStep    int          // step for volume up/down, 1..50
	Unmute        UnmutePolicy // who may unmute
	MuteOnJoin    bool         // join calls muted
	Presets       int          // number of camera presets, 0..15
}

// DefaultSettings are used until a configuration says otherwise.
func DefaultSettings() Settings {
	return Settings{Name: "Meeting Room", DefaultVolume: 50, VolumeStep: 5, Unmute: UnmuteInRoom, Presets: 4}
}

// Validate checks every field's range.
func (s Settings) Validate() error {
	switch {
	case s.Name == "" || len(s.Name) > maxNameBytes:
		return fmt.Errorf("%w: room name must be 1 to %d bytes", ErrInvalid, maxNameBytes)
	case s.DefaultVolume < 0 || s.DefaultVolume > maxVolume:
		return fmt.Errorf("%w: default volume must be 0 to %d", ErrInvalid, maxVolume)
	case s.VolumeStep < minStep || s.VolumeStep > maxStep:
		return fmt.Errorf("%w: volume step must be %d to %d", ErrInvalid, minStep, maxStep)
	case s.Unmute != UnmuteInRoom && s.Unmute != UnmuteAnyone:
		return fmt.Errorf("%w: unknown unmute policy", ErrInvalid)
	case s.Presets < 0 || s.Presets > maxPresets:
		return fmt.Errorf("%w: presets must be 0 to %d", ErrInvalid, maxPresets)
	}
	return nil
}

// State is a snapshot of the whole room. Watchers get copies; the slices in
// a snapshot are never changed after it is handed out.
type State struct {
	Call         CallState
	CallReason   string     // why the call failed or is reconnecting
	CallSeq      uint64     // increases with every join; call reports carry it
	Meeting      Meeting    // the active meeting, zero when idle
	CallBy       SourceKind // who started the call: the schedule, or a surface (ad hoc)
	NextMeetings []Meeting
	Media        CallMedia // zero outside a call
	// JoinOffer is the meeting a one-touch Join is offered for, zero for none.
	JoinOffer Meeting
	// ScheduleStaleSince is when the schedule last failed to refresh; zero
	// while it is fresh.
	ScheduleStaleSince time.Time

	MicMute       bool // the microphones' real state
	MicSwitch     bool // the hardware mute switch is engaged (forces mute)
	MicFault      string
	CameraPrivacy bool // no camera pixels leave the room
	Volume        int  // speaker volume 0..100
	CameraPreset  int  // active preset, 0 = none
	DisplayPower  bool

	Hardware     []Device
	Env          Environment
	Provisioning Provisioning
	Settings     Settings
	// Restored says how the saved state was read when the room started.
	Restored Restored
	// DamagedFiles are the files found damaged and set aside, newest
	// first; each stays listed until a person removes it.
	DamagedFiles []DamagedFile

	// Incoming is the call ringing the room, zero when none rings.
	Incoming IncomingCall
	// SIP is the SIP account's registration; Status is SIPOff when the
	// engine has reported none.
	SIP SIPRegistration
	// Directory is the fleet's room directory (directory.go).
	Directory []DirectoryEntry
}

// DamagedFile is a file the room keeps that was found damaged and set aside
// as NAME.corrupt-TIME for a person to look at; the room went on without it.
type DamagedFile struct {
	Name  string    // relative to the state directory, e.g. "schedule.json.corrupt-20261207T050000Z"
	Since time.Time // when it was set aside, UTC
}

// clone returns s with its slices copied, so the copy can be changed freely.
func (s State) clone() State {
	s.NextMeetings = slices.Clone(s.NextMeetings)
	s.Hardware = slices.Clone(s.Hardware)
	s.Media.Received = slices.Clone(s.Media.Received)
	s.DamagedFiles = slices.Clone(s.DamagedFiles)
	s.Directory = slices.Clone(s.Directory)
	return s
}

// Equal reports whether two snapshots hold the same state.
func (s State) Equal(o State) bool {
	return s.Call == o.Call && s.CallReason == o.CallReason && s.CallSeq == o.CallSeq &&
		s.Meeting == o.Meeting && s.CallBy == o.CallBy && s.Media.Equal(o.Media) && slices.Equal(s.NextMeetings, o.NextMeetings) &&
		s.JoinOffer == o.JoinOffer && s.ScheduleStaleSince.Equal(o.ScheduleStaleSince) &&
		s.MicMute == o.MicMute && s.MicSwitch == o.MicSwitch && s.MicFault == o.MicFault &&
		s.CameraPrivacy == o.CameraPrivacy && s.Volume == o.Volume &&
		s.CameraPreset == o.CameraPreset && s.DisplayPower == o.DisplayPower &&
		slices.Equal(s.Hardware, o.Hardware) && s.Env == o.Env &&
		s.Provisioning == o.Provisioning && s.Settings == o.Settings && s.Restored == o.Restored &&
		slices.EqualFunc(s.DamagedFiles, o.DamagedFiles, DamagedFile.Equal) &&
		s.Incoming.Equal(o.Incoming) && s.SIP.Equal(o.SIP) && slices.Equal(s.Directory, o.Directory)
}

// Equal reports whether two entries name the same file set aside at the
// same time.
func (f DamagedFile) Equal(o DamagedFile) bool { return f.Name == o.Name && f.Since.Equal(o.Since) }
