package room

import (
	"errors"
	"fmt"
	"time"
)

// SourceKind says what kind of surface sent a command.
type SourceKind int

// Source kinds.
const (
	FromButton   SourceKind = iota // a hardware button on the device
	FromPanel                      // the touch panel on the device (loopback)
	FromSerial                     // a serial port cabled to the room's control system
	FromSocket                     // the local Unix socket (roomctl, usually over SSH)
	FromRemote                     // a network surface outside the room (remote panel, API)
	FromSchedule                   // the room's calendar
	FromFleet                      // the fleet server's signed configuration
	FromSystem                     // roomd itself (start-up, watchdogs)
)

var sourceNames = [...]string{"button", "panel", "serial", "socket", "remote", "schedule", "fleet", "system"}

func (k SourceKind) String() string {
	if k >= 0 && int(k) < len(sourceNames) {
		return sourceNames[k]
	}
	return fmt.Sprintf("SourceKind(%d)", int(k))
}

// InRoom reports whether commands of this kind come from someone in the room.
func (k SourceKind) InRoom() bool { return k == FromButton || k == FromPanel || k == FromSerial }

// Source is who sent a command: the kind of surface and which one.
type Source struct {
	Kind SourceKind
	ID   string // e.g. "/dev/ttyUSB0", "socket#3", "mute"
}

func (s Source) String() string {
	if s.ID == "" {
		return s.Kind.String()
	}
	return s.Kind.String() + ":" + s.ID
}

// Errors a command can be refused with. Callers branch with errors.Is.
var (
	ErrNotAllowed = errors.New("not allowed from this surface")
	ErrBusy       = errors.New("the room is in a call")
	ErrNotInCall  = errors.New("the room is not in a call")
	ErrInvalid    = errors.New("invalid value")
	ErrDevice     = errors.New("device error")
	ErrNoEngine   = errors.New("no meeting provider can join this link")
	ErrNoFleet    = errors.New("standalone room")
	// ErrNoEarlierJoin refuses a [Rejoin] in a room that has joined no
	// meeting since it started; it wraps ErrInvalid.
	ErrNoEarlierJoin = fmt.Errorf("%w: there is no earlier meeting to join again", ErrInvalid)
	// ErrStopped is returned by a Room whose Run has ended.
	ErrStopped = errors.New("room: stopped")
)

// Input is anything [Next] consumes: a [Command] from a surface or a [Report]
// from a device or the call engine.
type Input interface{ input() }

// Command is a request from a surface.
type Command struct {
	From Source
	Do   Action
}

// Action is what a command asks for.
type Action interface{ action() }

// Actions.
type (
	// SetMicMute mutes or unmutes the microphones.
	SetMicMute struct{ Mute bool }
	// ToggleMicMute flips the microphones' mute.
	ToggleMicMute struct{}
	// SetCameraPrivacy stops (true) or resumes (false) sending camera pixels.
	SetCameraPrivacy struct{ On bool }
	// SetVolume sets the speaker volume, 0..100.
	SetVolume struct{ Level int }
	// StepVolume moves the volume by Steps × the configured step.
	StepVolume struct{ Steps int }
	// ActivateCameraPreset moves the camera to a stored preset, 1..Settings.Presets.
	ActivateCameraPreset struct{ ID int }
	// SetDisplayPower switches the display's power relay.
	SetDisplayPower struct{ On bool }
	// Join dials a meeting. Replace hangs up a call in progress first;
	// without it a join during a call is refused, so nothing drops a call by accident.
	Join struct {
		Meeting Meeting
		Replace bool
	}
	// JoinOffered joins the meeting the schedule offers for one-touch join.
	JoinOffered struct{}
	// Rejoin joins again the last meeting the room joined (a Retry after a
	// failed call), whoever started it. The room keeps that meeting, with
	// its passcode, in its own memory only: never in State, so never in
	// status, snapshots or logs.
	Rejoin struct{}
	// Leave hangs up, or clears a failed call.
	Leave struct{}
	// ExtendMeeting moves the active meeting's end later, so the schedule
	// does not leave it on time.
	ExtendMeeting struct{ Minutes int }
	// Enroll enrolls the room in its fleet with an activation code.
	Enroll struct {
		Code string `log:"secret"`
	}
	// PollNow asks the fleet server for new configuration at once.
	PollNow struct{}
	// ChangeSettings replaces the room's settings after validation.
	ChangeSettings struct{ Settings Settings }
	// EditSettings changes some settings atomically: Edit runs on the room's
	// goroutine with the current settings, so concurrent edits from several
	// surfaces never lose each other. Edit must be pure. What says what it
	// changes, for logs ("xConfiguration Audio DefaultVolume: 40").
	EditSettings struct {
		Edit func(Settings) (Settings, error)
		What string
	}
)

func (SetMicMute) action()           {}
func (ToggleMicMute) action()        {}
func (SetCameraPrivacy) action()     {}
func (SetVolume) action()            {}
func (StepVolume) action()           {}
func (ActivateCameraPreset) action() {}
func (SetDisplayPower) action()      {}
func (Join) action()                 {}
func (Rejoin) action()               {}
func (Leave) action()                {}
func (JoinOffered) action()          {}
func (ExtendMeeting) action()        {}
func (ChangeSettings) action()       {}
func (Enroll) action()               {}
func (PollNow) action()              {}
func (EditSettings) action()         {}

// Report is what a device, a sensor or the call engine says happened.
type Report interface {
	Input
	report()
}

// Reports.
type (
	// MicReported is the microphones' real mute state, read back after a change.
	// Err says why a requested change did not take.
	MicReported struct {
		Muted bool
		Err   error
	}
	// MicSwitchChanged is the hardware mute switch moving.
	MicSwitchChanged struct{ Engaged bool }
	// PrivacyReported is the camera gate's real state.
	PrivacyReported struct {
		On  bool
		Err error
	}
	// VolumeReported is the speaker's real volume.
	VolumeReported struct {
		Level int
		Err   error
	}
	// PresetReported is the camera's active preset.
	PresetReported struct {
		ID  int
		Err error
	}
	// DisplayReported is the display power relay's real state.
	DisplayReported struct {
		On  bool
		Err error
	}
	// CallReported is the call engine's view of call Seq.
	CallReported struct {
		Seq    uint64
		State  CallState // InCall, Reconnecting, Failed or Idle (ended)
		Reason string
	}
	// MediaReported is the call engine's latest figures for call Seq.
	MediaReported struct {
		Seq   uint64
		Media CallMedia
	}
	// HardwareReported replaces the hardware list.
	HardwareReported struct{ Devices []Device }
	// DeviceHealth marks a loaded device failed (Err set) or working again.
	DeviceHealth struct {
		Name string
		Err  error
	}
	// EnvReported carries new sensor readings; only the Have* fields set are applied.
	EnvReported struct{ Env Environment }
	// ScheduleReported replaces the upcoming meetings, the one-touch offer
	// and the staleness of the schedule.
	ScheduleReported struct {
		Next       []Meeting
		Offer      Meeting
		StaleSince time.Time
	}
	// ProvisioningReported replaces the provisioning state.
	ProvisioningReported struct{ Provisioning Provisioning }
	// DamagedFilesReported replaces the list of damaged files set aside
	// in the state directory.
	DamagedFilesReported struct{ Files []DamagedFile }
)

func (Command) input()              {}
func (MicReported) input()          {}
func (MicSwitchChanged) input()     {}
func (PrivacyReported) input()      {}
func (VolumeReported) input()       {}
func (PresetReported) input()       {}
func (DisplayReported) input()      {}
func (CallReported) input()         {}
func (HardwareReported) input()     {}
func (MediaReported) input()        {}
func (EnvReported) input()          {}
func (DeviceHealth) input()         {}
func (ScheduleReported) input()     {}
func (ProvisioningReported) input() {}
func (DamagedFilesReported) input() {}

func (MicReported) report()          {}
func (MicSwitchChanged) report()     {}
func (PrivacyReported) report()      {}
func (VolumeReported) report()       {}
func (PresetReported) report()       {}
func (DisplayReported) report()      {}
func (CallReported) report()         {}
func (HardwareReported) report()     {}
func (MediaReported) report()        {}
func (EnvReported) report()          {}
func (DeviceHealth) report()         {}
func (ScheduleReported) report()     {}
func (ProvisioningReported) report() {}
func (DamagedFilesReported) report() {}

// Effect is work [Next] asks the runtime to do on a device or the call engine.
type Effect interface{ effect() }

// Effects. Each device effect is answered by the matching report.
type (
	ApplyMicMute      struct{ Mute bool }
	ApplyPrivacy      struct{ On bool }
	ApplyVolume       struct{ Level int }
	ApplyCameraPreset struct{ ID int }
	ApplyDisplayPower struct{ On bool }
	// StartCall joins Meeting as call Seq. With Muted (Private) set the
	// call starts only if the microphones report muted (the camera
	// private) by then; otherwise it fails at once with the reason.
	StartCall struct {
		Seq     uint64
		Meeting Meeting
		Muted   bool
		Private bool
	}
	EndCall         struct{ Seq uint64 }
	StartEnrollment struct{ Code string }
	PollFleet       struct{}
	SaveSettings    struct{}
)

func (ApplyMicMute) effect()      {}
func (ApplyPrivacy) effect()      {}
func (ApplyVolume) effect()       {}
func (ApplyCameraPreset) effect() {}
func (ApplyDisplayPower) effect() {}
func (StartCall) effect()         {}
func (EndCall) effect()           {}
func (StartEnrollment) effect()   {}
func (PollFleet) effect()         {}
func (SaveSettings) effect()      {}

// Event is something that happened which watchers may want to hear about
// beyond the state change itself (the serial console's *e lines).
type Event struct {
	Name   string   // e.g. "CallFailed", "CommandRefused"
	Fields []string // key, value pairs in order
}

// String keeps the activation code out of logs.
func (Enroll) String() string { return "Enroll{Code:<redacted>}" }
