package room

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestCallStateString(t *testing.T) {
	for c, want := range map[CallState]string{Idle: "Idle", Joining: "Joining", InCall: "InCall",
		Reconnecting: "Reconnecting", Leaving: "Leaving", Failed: "Failed", CallState(42): "CallState(42)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
	for p, want := range map[ProvisioningState]string{Unenrolled: "Unenrolled", Pending: "Pending", Enrolled: "Enrolled"} {
		if p.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(p), p.String(), want)
		}
	}
}

var (
	button = Source{Kind: FromButton, ID: "mute"}
	panel  = Source{Kind: FromPanel}
	serial = Source{Kind: FromSerial, ID: "/dev/ttyUSB0"}
	socket = Source{Kind: FromSocket, ID: "1"}
	remote = Source{Kind: FromRemote, ID: "tablet"}
	cal    = Source{Kind: FromSchedule}
	fleet  = Source{Kind: FromFleet}
)

func base() State { return State{Settings: DefaultSettings(), Volume: 50} }

func with(f func(*State)) State { s := base(); f(&s); return s }

var (
	meet  = Meeting{ID: "m1", URI: "janus://sfu.example/1234"}
	timed = Meeting{ID: "m2", URI: "janus://sfu.example/99", Start: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
)

func TestNext(t *testing.T) {
	tests := []struct {
		name    string
		from    State
		in      Input
		want    State
		effects []Effect
		err     error
	}{
		// Microphone privacy.
		{name: "anyone may mute", from: base(), in: Command{From: remote, Do: SetMicMute{Mute: true}},
			want: base(), effects: []Effect{ApplyMicMute{Mute: true}}},
		{name: "remote may not unmute", from: with(func(s *State) { s.MicMute = true }),
			in: Command{From: remote, Do: SetMicMute{Mute: false}}, want: with(func(s *State) { s.MicMute = true }), err: ErrNotAllowed},
		{name: "socket may not unmute", from: with(func(s *State) { s.MicMute = true }),
			in: Command{From: socket, Do: ToggleMicMute{}}, want: with(func(s *State) { s.MicMute = true }), err: ErrNotAllowed},
		{name: "schedule may not unmute", from: with(func(s *State) { s.MicMute = true }),
			in: Command{From: cal, Do: SetMicMute{}}, want: with(func(s *State) { s.MicMute = true }), err: ErrNotAllowed},
		{name: "panel may unmute", from: with(func(s *State) { s.MicMute = true }),
			in: Command{From: panel, Do: SetMicMute{}}, want: with(func(s *State) { s.MicMute = true }), effects: []Effect{ApplyMicMute{}}},
		{name: "button toggles", from: with(func(s *State) { s.MicMute = true }),
			in: Command{From: button, Do: ToggleMicMute{}}, want: with(func(s *State) { s.MicMute = true }), effects: []Effect{ApplyMicMute{}}},
		{name: "local serial may unmute", from: with(func(s *State) { s.MicMute = true }),
			in: Command{From: serial, Do: SetMicMute{}}, want: with(func(s *State) { s.MicMute = true }), effects: []Effect{ApplyMicMute{}}},
		{name: "policy anyone lets remote unmute", from: with(func(s *State) { s.MicMute = true; s.Settings.Unmute = UnmuteAnyone }),
			in:   Command{From: remote, Do: SetMicMute{}},
			want: with(func(s *State) { s.MicMute = true; s.Settings.Unmute = UnmuteAnyone }), effects: []Effect{ApplyMicMute{}}},
		{name: "hardware switch blocks even the room", from: with(func(s *State) { s.MicMute, s.MicSwitch = true, true }),
			in: Command{From: button, Do: SetMicMute{}}, want: with(func(s *State) { s.MicMute, s.MicSwitch = true, true }), err: ErrNotAllowed},
		{name: "mute changes only when reported", from: base(), in: MicReported{Muted: true},
			want: with(func(s *State) { s.MicMute = true })},
		{name: "failed mute keeps the real state and the fault", from: base(), in: MicReported{Muted: false, Err: errors.New("alsa: gone")},
			want: with(func(s *State) { s.MicFault = "alsa: gone" })},
		{name: "switch engaged mutes", from: base(), in: MicSwitchChanged{Engaged: true},
			want: with(func(s *State) { s.MicSwitch = true }), effects: []Effect{ApplyMicMute{Mute: true}}},
		{name: "switch released unmutes", from: with(func(s *State) { s.MicSwitch, s.MicMute = true, true }), in: MicSwitchChanged{},
			want: with(func(s *State) { s.MicMute = true }), effects: []Effect{ApplyMicMute{}}},
		{name: "switch found released at start keeps a muted room muted", from: with(func(s *State) { s.MicMute = true }), in: MicSwitchChanged{},
			want: with(func(s *State) { s.MicMute = true })},
		{name: "switch found released at start leaves an open room open", from: base(), in: MicSwitchChanged{}, want: base()},
		{name: "mic opened behind the switch's back is closed again", from: with(func(s *State) { s.MicSwitch, s.MicMute = true, true }),
			in: MicReported{Muted: false}, want: with(func(s *State) { s.MicSwitch = true }), effects: []Effect{ApplyMicMute{Mute: true}}},

		// Camera privacy follows the same rule.
		{name: "remote may turn privacy on", from: base(), in: Command{From: remote, Do: SetCameraPrivacy{On: true}},
			want: base(), effects: []Effect{ApplyPrivacy{On: true}}},
		{name: "remote may not turn privacy off", from: with(func(s *State) { s.CameraPrivacy = true }),
			in: Command{From: remote, Do: SetCameraPrivacy{}}, want: with(func(s *State) { s.CameraPrivacy = true }), err: ErrNotAllowed},
		{name: "privacy reported", from: base(), in: PrivacyReported{On: true}, want: with(func(s *State) { s.CameraPrivacy = true })},

		// Volume, presets, display.
		{name: "volume set", from: base(), in: Command{From: socket, Do: SetVolume{Level: 70}}, want: base(), effects: []Effect{ApplyVolume{Level: 70}}},
		{name: "volume out of range", from: base(), in: Command{From: socket, Do: SetVolume{Level: 101}}, want: base(), err: ErrInvalid},
		{name: "volume step clamps", from: with(func(s *State) { s.Volume = 98 }), in: Command{From: button, Do: StepVolume{Steps: 1}},
			want: with(func(s *State) { s.Volume = 98 }), effects: []Effect{ApplyVolume{Level: 100}}},
		{name: "volume step down", from: base(), in: Command{From: button, Do: StepVolume{Steps: -2}}, want: base(), effects: []Effect{ApplyVolume{Level: 40}}},
		{name: "volume reported", from: base(), in: VolumeReported{Level: 70}, want: with(func(s *State) { s.Volume = 70 })},
		{name: "preset in range", from: base(), in: Command{From: panel, Do: ActivateCameraPreset{ID: 2}}, want: base(), effects: []Effect{ApplyCameraPreset{ID: 2}}},
		{name: "preset out of range", from: base(), in: Command{From: panel, Do: ActivateCameraPreset{ID: 5}}, want: base(), err: ErrInvalid},
		{name: "display on", from: base(), in: Command{From: cal, Do: SetDisplayPower{On: true}}, want: base(), effects: []Effect{ApplyDisplayPower{On: true}}},
		{name: "display reported", from: base(), in: DisplayReported{On: true}, want: with(func(s *State) { s.DisplayPower = true })},

		// Calls.
		{name: "join from idle", from: base(), in: Command{From: panel, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromPanel }),
			effects: []Effect{StartCall{Seq: 1, Meeting: meet}}},
		{name: "join from the schedule takes the offer away", from: with(func(s *State) { s.JoinOffer = meet }), in: Command{From: cal, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromSchedule }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: meet, Muted: true, Private: true}}},
		{name: "one-touch join of the offer", from: with(func(s *State) { s.JoinOffer = timed }), in: Command{From: panel, Do: JoinOffered{}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, timed, FromPanel }),
			effects: []Effect{StartCall{Seq: 1, Meeting: timed}}},
		{name: "one-touch join with nothing offered", from: base(), in: Command{From: panel, Do: JoinOffered{}}, want: base(), err: ErrInvalid},
		{name: "extend", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, timed }), in: Command{From: panel, Do: ExtendMeeting{Minutes: 15}},
			want: with(func(s *State) {
				s.Call, s.CallSeq, s.Meeting = InCall, 1, timed
				s.Meeting.End = timed.End.Add(15 * time.Minute)
			})},
		{name: "extend needs a call", from: base(), in: Command{From: panel, Do: ExtendMeeting{Minutes: 15}}, want: base(), err: ErrNotInCall},
		{name: "extend needs an end", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }), in: Command{From: panel, Do: ExtendMeeting{Minutes: 15}},
			want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }), err: ErrInvalid},
		{name: "schedule with offer and staleness", from: base(), in: ScheduleReported{Next: []Meeting{timed}, Offer: timed, StaleSince: timed.Start},
			want: with(func(s *State) {
				s.NextMeetings, s.JoinOffer, s.ScheduleStaleSince = []Meeting{timed}, timed, timed.Start
			})},
		{name: "join needs a link", from: base(), in: Command{From: panel, Do: Join{}}, want: base(), err: ErrInvalid},
		{name: "join muted when configured", from: with(func(s *State) { s.Settings.MuteOnJoin = true }), in: Command{From: panel, Do: Join{Meeting: meet}},
			want: with(func(s *State) {
				s.Settings.MuteOnJoin = true
				s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromPanel
			}),
			effects: []Effect{ApplyMicMute{Mute: true}, StartCall{Seq: 1, Meeting: meet}}},
		{name: "join during a call is refused", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }),
			in: Command{From: serial, Do: Join{Meeting: Meeting{URI: "x"}}}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }), err: ErrBusy},
		{name: "join with replace hangs up first", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }),
			in: Command{From: serial, Do: Join{Meeting: Meeting{URI: "x"}, Replace: true}},
			want: with(func(s *State) {
				s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 2, Meeting{ID: "x", URI: "x"}, FromSerial
			}),
			effects: []Effect{EndCall{Seq: 1}, StartCall{Seq: 2, Meeting: Meeting{ID: "x", URI: "x"}}}},

		// A join from outside the room never sends an open microphone
		// (issue 12 row 4): it closes the microphones, and the camera unless
		// the room lets anyone open it, before the call starts, and the call
		// starts only if they closed. Only the room or the calendar replaces.
		{name: "remote join closes microphones and camera first", from: base(), in: Command{From: remote, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromRemote }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: meet, Muted: true, Private: true}}},
		{name: "remote join of a closed room still requires it closed", from: with(func(s *State) { s.MicMute, s.CameraPrivacy = true, true }),
			in: Command{From: remote, Do: Join{Meeting: meet}},
			want: with(func(s *State) {
				s.MicMute, s.CameraPrivacy = true, true
				s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromRemote
			}),
			effects: []Effect{StartCall{Seq: 1, Meeting: meet, Muted: true, Private: true}}},
		{name: "remote one-touch join is closed too", from: with(func(s *State) { s.JoinOffer = timed }), in: Command{From: remote, Do: JoinOffered{}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, timed, FromRemote }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: timed, Muted: true, Private: true}}},
		{name: "socket join is closed", from: base(), in: Command{From: socket, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromSocket }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: meet, Muted: true, Private: true}}},
		{name: "fleet join is closed", from: base(), in: Command{From: fleet, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromFleet }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: meet, Muted: true, Private: true}}},
		{name: "policy anyone: remote join still muted, camera left as it is", from: with(func(s *State) { s.Settings.Unmute = UnmuteAnyone }),
			in: Command{From: remote, Do: Join{Meeting: meet}},
			want: with(func(s *State) {
				s.Settings.Unmute = UnmuteAnyone
				s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromRemote
			}),
			effects: []Effect{ApplyMicMute{Mute: true}, StartCall{Seq: 1, Meeting: meet, Muted: true}}},
		{name: "kiosk join keeps the room as it is", from: base(), in: Command{From: panel, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromPanel }),
			effects: []Effect{StartCall{Seq: 1, Meeting: meet}}},
		{name: "remote may not replace a call", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }),
			in: Command{From: remote, Do: Join{Meeting: Meeting{URI: "x"}, Replace: true}}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }), err: ErrNotAllowed},
		{name: "socket may not replace a call", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Joining, 1, meet }),
			in: Command{From: socket, Do: Join{Meeting: Meeting{URI: "x"}, Replace: true}}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Joining, 1, meet }), err: ErrNotAllowed},
		{name: "fleet may not replace a call", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }),
			in: Command{From: fleet, Do: Join{Meeting: Meeting{URI: "x"}, Replace: true}}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }), err: ErrNotAllowed},
		{name: "the calendar may replace a call", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.MicMute = InCall, 1, meet, true }),
			in: Command{From: cal, Do: Join{Meeting: timed, Replace: true}},
			want: with(func(s *State) {
				s.Call, s.CallSeq, s.Meeting, s.CallBy, s.MicMute = Joining, 2, timed, FromSchedule, true
			}),
			effects: []Effect{EndCall{Seq: 1}, ApplyPrivacy{On: true}, StartCall{Seq: 2, Meeting: timed, Muted: true, Private: true}}},
		{name: "the kiosk may replace a call", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }),
			in:      Command{From: panel, Do: Join{Meeting: timed, Replace: true}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 2, timed, FromPanel }),
			effects: []Effect{EndCall{Seq: 1}, StartCall{Seq: 2, Meeting: timed}}},
		{name: "remote replace with nothing to replace just joins, closed", from: base(), in: Command{From: remote, Do: Join{Meeting: meet, Replace: true}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 1, meet, FromRemote }),
			effects: []Effect{ApplyMicMute{Mute: true}, ApplyPrivacy{On: true}, StartCall{Seq: 1, Meeting: meet, Muted: true, Private: true}}},

		{name: "join after failure", from: with(func(s *State) { s.Call, s.CallSeq, s.CallReason = Failed, 1, "bad pin" }),
			in:      Command{From: panel, Do: Join{Meeting: meet}},
			want:    with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallBy = Joining, 2, meet, FromPanel }),
			effects: []Effect{StartCall{Seq: 2, Meeting: meet}}},
		{name: "connected", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Joining, 1, meet }),
			in: CallReported{Seq: 1, State: InCall}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet })},
		{name: "stale report ignored", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Joining, 2, meet }),
			in: CallReported{Seq: 1, State: Failed, Reason: "old"}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Joining, 2, meet })},
		{name: "report while idle ignored", from: with(func(s *State) { s.CallSeq = 1 }),
			in: CallReported{Seq: 1, State: InCall}, want: with(func(s *State) { s.CallSeq = 1 })},
		{name: "reconnecting", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }),
			in:   CallReported{Seq: 1, State: Reconnecting, Reason: "ice disconnected"},
			want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallReason = Reconnecting, 1, meet, "ice disconnected" })},
		{name: "back from reconnecting", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.CallReason = Reconnecting, 1, meet, "x" }),
			in: CallReported{Seq: 1, State: InCall}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet })},
		{name: "join failed", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Joining, 1, meet }),
			in: CallReported{Seq: 1, State: Failed, Reason: "wrong PIN"}, want: with(func(s *State) { s.Call, s.CallSeq, s.CallReason = Failed, 1, "wrong PIN" })},
		{name: "leave", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = InCall, 1, meet }),
			in: Command{From: socket, Do: Leave{}}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Leaving, 1, meet }),
			effects: []Effect{EndCall{Seq: 1}}},
		{name: "connected while leaving stays leaving", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Leaving, 1, meet }),
			in: CallReported{Seq: 1, State: InCall}, want: with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Leaving, 1, meet })},
		{name: "ended restores default volume", from: with(func(s *State) { s.Call, s.CallSeq, s.Meeting, s.Volume = Leaving, 1, meet, 80 }),
			in: CallReported{Seq: 1, State: Idle}, want: with(func(s *State) { s.CallSeq, s.Volume = 1, 80 }),
			effects: []Effect{ApplyVolume{Level: 50}}},
		{name: "media figures", from: with(func(s *State) { s.Call, s.CallSeq = InCall, 2 }), in: MediaReported{Seq: 2, Media: CallMedia{Participants: 3, TargetBitrate: 900000}},
			want: with(func(s *State) {
				s.Call, s.CallSeq, s.Media = InCall, 2, CallMedia{Participants: 3, TargetBitrate: 900000}
			})},
		{name: "received video figures", from: with(func(s *State) { s.Call, s.CallSeq = InCall, 2 }),
			in: MediaReported{Seq: 2, Media: CallMedia{Participants: 2, RecvBitrate: 2_100_000, Received: []ReceivedVideo{
				{Participant: "alice#11", Width: 1280, Height: 720, FPS: 30, Bitrate: 1_500_000},
				{Participant: "bob#12", Width: 320, Height: 180, FPS: 15, Bitrate: 600_000},
			}}},
			want: with(func(s *State) {
				s.Call, s.CallSeq = InCall, 2
				s.Media = CallMedia{Participants: 2, RecvBitrate: 2_100_000, Received: []ReceivedVideo{
					{Participant: "alice#11", Width: 1280, Height: 720, FPS: 30, Bitrate: 1_500_000},
					{Participant: "bob#12", Width: 320, Height: 180, FPS: 15, Bitrate: 600_000},
				}}
			})},
		{name: "a participant's changed figures replace the old", from: with(func(s *State) {
			s.Call, s.CallSeq = InCall, 2
			s.Media = CallMedia{Participants: 1, Received: []ReceivedVideo{{Participant: "alice#11", Width: 1280, Height: 720, FPS: 30}}}
		}),
			in: MediaReported{Seq: 2, Media: CallMedia{Participants: 1, Received: []ReceivedVideo{{Participant: "alice#11", Width: 640, Height: 360, FPS: 30}}}},
			want: with(func(s *State) {
				s.Call, s.CallSeq = InCall, 2
				s.Media = CallMedia{Participants: 1, Received: []ReceivedVideo{{Participant: "alice#11", Width: 640, Height: 360, FPS: 30}}}
			})},
		{name: "media figures of an old call ignored", from: with(func(s *State) { s.Call, s.CallSeq = InCall, 2 }), in: MediaReported{Seq: 1, Media: CallMedia{Participants: 3}},
			want: with(func(s *State) { s.Call, s.CallSeq = InCall, 2 })},
		{name: "ending clears media figures", from: with(func(s *State) {
			s.Call, s.CallSeq, s.Media = Leaving, 2, CallMedia{Participants: 1, Received: []ReceivedVideo{{Participant: "alice#11", Width: 640}}}
		}), in: CallReported{Seq: 2, State: Idle},
			want: with(func(s *State) { s.CallSeq = 2 }), effects: []Effect{ApplyVolume{Level: 50}}},
		{name: "leave when idle does nothing", from: base(), in: Command{From: socket, Do: Leave{}}, want: base()},
		{name: "leave clears failure", from: with(func(s *State) { s.Call, s.CallReason = Failed, "x" }),
			in: Command{From: panel, Do: Leave{}}, want: base()},
		{name: "engine may not report joining", from: with(func(s *State) { s.Call, s.CallSeq = Joining, 1 }),
			in: CallReported{Seq: 1, State: Joining}, want: with(func(s *State) { s.Call, s.CallSeq = Joining, 1 }), err: errAny},

		// Settings.
		{name: "settings change", from: base(), in: Command{From: socket, Do: ChangeSettings{Settings: with(func(s *State) { s.Settings.Name = "Fjord" }).Settings}},
			want: with(func(s *State) { s.Settings.Name = "Fjord" }), effects: []Effect{SaveSettings{}}},
		{name: "invalid settings refused", from: base(), in: Command{From: socket, Do: ChangeSettings{Settings: Settings{}}}, want: base(), err: ErrInvalid},
		{name: "remote may not loosen the unmute policy", from: base(),
			in:   Command{From: remote, Do: ChangeSettings{Settings: with(func(s *State) { s.Settings.Unmute = UnmuteAnyone }).Settings}},
			want: base(), err: ErrNotAllowed},
		{name: "fleet may set the unmute policy", from: base(),
			in:      Command{From: fleet, Do: ChangeSettings{Settings: with(func(s *State) { s.Settings.Unmute = UnmuteAnyone }).Settings}},
			want:    with(func(s *State) { s.Settings.Unmute = UnmuteAnyone }),
			effects: []Effect{SaveSettings{}}},
		{name: "fewer presets clear the active one", from: with(func(s *State) { s.CameraPreset = 4 }),
			in:   Command{From: panel, Do: ChangeSettings{Settings: with(func(s *State) { s.Settings.Presets = 2 }).Settings}},
			want: with(func(s *State) { s.Settings.Presets = 2 }), effects: []Effect{SaveSettings{}}},
		{name: "edit settings", from: base(), in: Command{From: serial, Do: EditSettings{Edit: func(s Settings) (Settings, error) { s.VolumeStep = 10; return s, nil }}},
			want: with(func(s *State) { s.Settings.VolumeStep = 10 }), effects: []Effect{SaveSettings{}}},
		{name: "edit settings error", from: base(), in: Command{From: serial, Do: EditSettings{Edit: func(s Settings) (Settings, error) { return s, ErrInvalid }}},
			want: base(), err: ErrInvalid},
		{name: "edit settings is checked like a change", from: base(), in: Command{From: remote, Do: EditSettings{Edit: func(s Settings) (Settings, error) { s.Unmute = UnmuteAnyone; return s, nil }}},
			want: base(), err: ErrNotAllowed},
		{name: "enroll", from: base(), in: Command{From: serial, Do: Enroll{Code: "ABCD-1234-EFGH"}},
			want: with(func(s *State) { s.Provisioning = Provisioning{State: Pending, Detail: "enrolling"} }), effects: []Effect{StartEnrollment{Code: "ABCD-1234-EFGH"}}},
		{name: "enroll with a bad code", from: base(), in: Command{From: serial, Do: Enroll{Code: "12"}}, want: base(), err: ErrInvalid},
		{name: "enroll only on the device", from: base(), in: Command{From: remote, Do: Enroll{Code: "ABCD1234"}}, want: base(), err: ErrNotAllowed},
		{name: "enroll twice", from: with(func(s *State) { s.Provisioning.State = Enrolled }), in: Command{From: panel, Do: Enroll{Code: "ABCD1234"}},
			want: with(func(s *State) { s.Provisioning.State = Enrolled }), err: ErrInvalid},
		{name: "poll now", from: base(), in: Command{From: socket, Do: PollNow{}}, want: base(), effects: []Effect{PollFleet{}}},
		{name: "empty command", from: base(), in: Command{From: panel}, want: base(), err: ErrInvalid},

		// Reports that only record.
		{name: "hardware", from: base(), in: HardwareReported{Devices: []Device{{Name: "mute_led", Kind: "led", State: "loaded"}}},
			want: with(func(s *State) { s.Hardware = []Device{{Name: "mute_led", Kind: "led", State: "loaded"}} })},
		{name: "device fails", from: with(func(s *State) { s.Hardware = []Device{{Name: "mute_led", State: "loaded"}} }),
			in:   DeviceHealth{Name: "mute_led", Err: errors.New("gpio: EIO")},
			want: with(func(s *State) { s.Hardware = []Device{{Name: "mute_led", State: "failed", Reason: "gpio: EIO"}} })},
		{name: "device recovers", from: with(func(s *State) { s.Hardware = []Device{{Name: "mute_led", State: "failed", Reason: "x"}} }),
			in:   DeviceHealth{Name: "mute_led"},
			want: with(func(s *State) { s.Hardware = []Device{{Name: "mute_led", State: "loaded"}} })},
		{name: "partial env", from: with(func(s *State) { s.Env = Environment{Temperature: 20, HaveTemperature: true} }),
			in: EnvReported{Env: Environment{Occupied: true, HaveOccupancy: true}},
			want: with(func(s *State) {
				s.Env = Environment{Temperature: 20, HaveTemperature: true, Occupied: true, HaveOccupancy: true}
			})},
		{name: "schedule", from: base(), in: ScheduleReported{Next: []Meeting{meet}}, want: with(func(s *State) { s.NextMeetings = []Meeting{meet} })},
		{name: "provisioning", from: base(), in: ProvisioningReported{Provisioning: Provisioning{State: Enrolled, ConfigVersion: 3}},
			want: with(func(s *State) { s.Provisioning = Provisioning{State: Enrolled, ConfigVersion: 3} })},

		// Damaged files set aside: listed until a person removes them;
		// listing them changes nothing else.
		{name: "damaged files listed", from: base(), in: DamagedFilesReported{Files: []DamagedFile{tokensAside, scheduleAside}},
			want: with(func(s *State) { s.DamagedFiles = []DamagedFile{tokensAside, scheduleAside} })},
		{name: "a removed file leaves the list", from: with(func(s *State) { s.DamagedFiles = []DamagedFile{tokensAside, scheduleAside} }),
			in: DamagedFilesReported{Files: []DamagedFile{scheduleAside}}, want: with(func(s *State) { s.DamagedFiles = []DamagedFile{scheduleAside} })},
		{name: "the last one removed", from: with(func(s *State) { s.DamagedFiles = []DamagedFile{scheduleAside} }),
			in: DamagedFilesReported{}, want: base()},
		{name: "damage does not touch a closed room", from: with(func(s *State) { s.MicMute, s.CameraPrivacy = true, true }),
			in:   DamagedFilesReported{Files: []DamagedFile{scheduleAside}},
			want: with(func(s *State) { s.MicMute, s.CameraPrivacy, s.DamagedFiles = true, true, []DamagedFile{scheduleAside} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkNext(t, tt.from, tt.in, tt.want, tt.effects, tt.err) })
	}
}

var errAny = errors.New("any error")

// checkNext runs Next(from, in) and checks the state, the effects and the
// error (errAny: any error) it gives; it returns the outcome.
func checkNext(t *testing.T, from State, in Input, want State, effects []Effect, wantErr error) Outcome {
	t.Helper()
	got, out, err := Next(from, in)
	switch {
	case wantErr == errAny && err == nil:
		t.Fatalf("err = nil, want an error")
	case wantErr != nil && wantErr != errAny && !errors.Is(err, wantErr):
		t.Fatalf("err = %v, want %v", err, wantErr)
	case wantErr == nil && err != nil:
		t.Fatalf("unexpected error %v", err)
	}
	if !got.Equal(want) {
		t.Errorf("state\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(out.Effects, effects) {
		t.Errorf("effects\n got %#v\nwant %#v", out.Effects, effects)
	}
	return out
}

var (
	scheduleAside = DamagedFile{Name: "schedule.json.corrupt-20261207T050000Z", Since: time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)}
	tokensAside   = DamagedFile{Name: "panel-tokens.json.corrupt-20261207T050100Z", Since: time.Date(2026, 12, 7, 5, 1, 0, 0, time.UTC)}
)

// A changed list of damaged files is a change of state (watchers hear of
// it), and the room keeps its own copy of the list.
func TestDamagedFilesAreState(t *testing.T) {
	a := with(func(s *State) { s.DamagedFiles = []DamagedFile{scheduleAside} })
	for _, b := range []State{
		base(),
		with(func(s *State) { s.DamagedFiles = []DamagedFile{tokensAside} }),
		with(func(s *State) {
			s.DamagedFiles = []DamagedFile{{Name: scheduleAside.Name, Since: scheduleAside.Since.Add(time.Second)}}
		}),
		with(func(s *State) { s.DamagedFiles = []DamagedFile{scheduleAside, tokensAside} }),
	} {
		if a.Equal(b) || b.Equal(a) {
			t.Errorf("%v and %v are equal", a.DamagedFiles, b.DamagedFiles)
		}
	}
	in := []DamagedFile{scheduleAside}
	got, _, _ := Next(base(), DamagedFilesReported{Files: in})
	in[0].Name = "changed"
	if got.DamagedFiles[0] != scheduleAside {
		t.Errorf("the state shares the report's slice: %v", got.DamagedFiles)
	}
}

// Next must not change the state it was given: snapshots are shared.
func TestNextDoesNotAlias(t *testing.T) {
	s := with(func(s *State) { s.Hardware = []Device{{Name: "a", State: "loaded"}} })
	got, _, _ := Next(s, DeviceHealth{Name: "a", Err: errors.New("x")})
	if s.Hardware[0].State != "loaded" || got.Hardware[0].State != "failed" {
		t.Fatalf("Next changed its input: in %v out %v", s.Hardware, got.Hardware)
	}
}

// The room keeps its own copy of a media report's participants: the engine
// may reuse its slice, and snapshots never change once handed out.
func TestMediaReportDoesNotAlias(t *testing.T) {
	rv := []ReceivedVideo{{Participant: "alice#11", Width: 1280, Height: 720, FPS: 30, Bitrate: 1_500_000}}
	s := with(func(s *State) { s.Call, s.CallSeq = InCall, 2 })
	got, _, _ := Next(s, MediaReported{Seq: 2, Media: CallMedia{Participants: 1, Received: rv}})
	rv[0].Width = 1
	if got.Media.Received[0].Width != 1280 {
		t.Fatalf("the room's state follows the engine's slice: %+v", got.Media.Received)
	}
	next, _, _ := Next(got, VolumeReported{Level: 10})
	next.Media.Received[0].FPS = 1
	if got.Media.Received[0].FPS != 30 {
		t.Fatalf("a later state changed an earlier snapshot: %+v", got.Media.Received)
	}
}

// CallMedia.Equal compares field by field; a field it forgets would make
// the room drop updates that change only that field.
func TestCallMediaEqualSeesEveryField(t *testing.T) {
	base := CallMedia{Received: []ReceivedVideo{{Participant: "alice#11"}}}
	if !base.Equal(CallMedia{Received: []ReceivedVideo{{Participant: "alice#11"}}}) {
		t.Fatal("equal figures compare unequal")
	}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		m := CallMedia{Received: []ReceivedVideo{{Participant: "alice#11"}}}
		f := reflect.ValueOf(&m).Elem().Field(i)
		switch f.Kind() {
		case reflect.Int:
			f.SetInt(1)
		case reflect.Float64:
			f.SetFloat(1)
		case reflect.String:
			f.SetString("x")
		case reflect.Slice:
			f.Set(reflect.ValueOf([]ReceivedVideo{{Participant: "alice#11", FPS: 1}}))
		default:
			t.Fatalf("CallMedia.%s: teach this test its kind %v", typ.Field(i).Name, f.Kind())
		}
		if base.Equal(m) || m.Equal(base) {
			t.Errorf("CallMedia.Equal does not see %s", typ.Field(i).Name)
		}
	}
	if base.Equal(CallMedia{}) {
		t.Error("CallMedia.Equal does not see a participant leave")
	}
}

func TestEventsForCalls(t *testing.T) {
	s := with(func(s *State) { s.Call, s.CallSeq, s.Meeting = Joining, 1, meet })
	_, out, _ := Next(s, CallReported{Seq: 1, State: Failed, Reason: "room not found"})
	if len(out.Events) != 1 || out.Events[0].Name != "CallFailed" || out.Events[0].Fields[1] != "room not found" {
		t.Fatalf("events = %+v", out.Events)
	}
}

func TestOpeningWhatIsOpenIsANoOp(t *testing.T) {
	for _, a := range []Action{SetMicMute{}, SetCameraPrivacy{}} {
		got, out, err := Next(base(), Command{From: remote, Do: a})
		if err != nil || len(out.Effects) != 0 || !got.Equal(base()) {
			t.Errorf("%T from remote on an open room: err %v effects %v", a, err, out.Effects)
		}
	}
}
