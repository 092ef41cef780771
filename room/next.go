package room

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Outcome is what one input leads to besides the new state.
type Outcome struct {
	Effects []Effect
	Events  []Event
}

// Next computes the room's next state from its current state and one input.
// It is pure: it never touches a device. A refused command returns the
// unchanged state and an error that wraps one of the Err* sentinels.
func Next(s State, in Input) (State, Outcome, error) {
	s = s.clone()
	var out Outcome
	switch in := in.(type) {
	case Command:
		return command(s, in)
	case MicReported:
		s.MicMute = in.Muted
		s.MicFault = ""
		if in.Err != nil {
			s.MicFault = in.Err.Error()
		}
		// The switch wins: if it is engaged and the microphones report
		// open, close them again.
		if s.MicSwitch && !in.Muted && in.Err == nil {
			out.Effects = append(out.Effects, ApplyMicMute{Mute: true})
		}
	case MicSwitchChanged:
		// Engaging the switch mutes; only releasing it unmutes. Its
		// position read at start is not a release: a room that started
		// muted stays muted.
		if in.Engaged || s.MicSwitch {
			out.Effects = append(out.Effects, ApplyMicMute{Mute: in.Engaged})
		}
		s.MicSwitch = in.Engaged
	case PrivacyReported:
		s.CameraPrivacy = in.On
	case VolumeReported:
		s.Volume = in.Level
	case PresetReported:
		s.CameraPreset = in.ID
	case DisplayReported:
		s.DisplayPower = in.On
	case CallReported:
		if in.Seq != s.CallSeq || s.Call == Idle {
			// A report about an earlier call, arriving late: ignore.
			return s, out, nil
		}
		out.Events = append(out.Events, callEvents(s, in)...)
		switch in.State {
		case InCall:
			if s.Call == Leaving {
				return s, out, nil
			}
			s.Call, s.CallReason = InCall, ""
		case Reconnecting:
			if s.Call == Leaving {
				return s, out, nil
			}
			s.Call, s.CallReason = Reconnecting, in.Reason
		case Failed:
			s.Call, s.CallReason = Failed, in.Reason
			s.Meeting, s.Media = Meeting{}, CallMedia{}
		case Idle:
			s.Call, s.CallReason, s.Meeting, s.Media = Idle, "", Meeting{}, CallMedia{}
			out.Effects = append(out.Effects, ApplyVolume{Level: s.Settings.DefaultVolume})
		default:
			return s, out, fmt.Errorf("room: call engine reported state %v, which it may not", in.State)
		}
	case MediaReported:
		if in.Seq == s.CallSeq && s.Call.Active() {
			s.Media = in.Media
			s.Media.Received = slices.Clone(in.Media.Received)
		}
	case HardwareReported:
		s.Hardware = append([]Device(nil), in.Devices...)
	case DeviceHealth:
		for i, d := range s.Hardware {
			if d.Name != in.Name {
				continue
			}
			if in.Err != nil {
				s.Hardware[i].State, s.Hardware[i].Reason = "failed", in.Err.Error()
			} else if d.State == "failed" {
				s.Hardware[i].State, s.Hardware[i].Reason = "loaded", ""
			}
		}
	case EnvReported:
		if in.Env.HaveTemperature {
			s.Env.Temperature, s.Env.HaveTemperature = in.Env.Temperature, true
		}
		if in.Env.HaveHumidity {
			s.Env.Humidity, s.Env.HaveHumidity = in.Env.Humidity, true
		}
		if in.Env.HaveOccupancy {
			s.Env.Occupied, s.Env.HaveOccupancy = in.Env.Occupied, true
		}
	case ScheduleReported:
		s.NextMeetings = append([]Meeting(nil), in.Next...)
		if in.Offer != s.JoinOffer && !in.Offer.IsZero() {
			out.Events = append(out.Events, Event{Name: "JoinOffered", Fields: []string{"MeetingId", in.Offer.ID, "Start", in.Offer.Start.Format(time.RFC3339)}})
		}
		s.JoinOffer, s.ScheduleStaleSince = in.Offer, in.StaleSince
	case ProvisioningReported:
		s.Provisioning = in.Provisioning
	case DamagedFilesReported:
		s.DamagedFiles = slices.Clone(in.Files)
	case IncomingCallReported, IncomingCallGone, SIPRegistrationReported:
		return sipReport(s, in)
	case DirectoryReported:
		s = directoryReport(s, in)
	default:
		return s, out, fmt.Errorf("room: unknown input %T", in)
	}
	return s, out, nil
}

func callEvents(s State, in CallReported) []Event {
	switch {
	case in.State == InCall && s.Call != InCall:
		return []Event{{Name: "CallConnected", Fields: []string{"MeetingId", s.Meeting.ID}}}
	case in.State == Failed:
		return []Event{{Name: "CallFailed", Fields: []string{"Reason", in.Reason}}}
	case in.State == Idle:
		return []Event{{Name: "CallEnded", Fields: []string{"MeetingId", s.Meeting.ID}}}
	case in.State == Reconnecting && s.Call != Reconnecting:
		return []Event{{Name: "CallReconnecting", Fields: []string{"Reason", in.Reason}}}
	}
	return nil
}

// mayOpen says whether src may unmute or lift camera privacy under the
// room's policy.
func mayOpen(s State, src Source) error {
	if s.Settings.Unmute == UnmuteInRoom && !src.Kind.InRoom() && src.Kind != FromSystem {
		return fmt.Errorf("%w: only someone in the room may do this (%s is not)", ErrNotAllowed, src.Kind)
	}
	return nil
}

func command(s State, c Command) (State, Outcome, error) {
	var out Outcome
	refuse := func(err error) (State, Outcome, error) { return s, Outcome{}, err }
	switch a := c.Do.(type) {
	case ToggleMicMute:
		return command(s, Command{From: c.From, Do: SetMicMute{Mute: !s.MicMute}})
	case SetMicMute:
		if !a.Mute && !s.MicMute {
			return s, out, nil // already open: nothing to decide
		}
		if !a.Mute && s.MicSwitch {
			return refuse(fmt.Errorf("%w: the hardware mute switch is on", ErrNotAllowed))
		}
		if !a.Mute {
			if err := mayOpen(s, c.From); err != nil {
				return refuse(err)
			}
		}
		out.Effects = append(out.Effects, ApplyMicMute{Mute: a.Mute})
	case SetCameraPrivacy:
		if !a.On && !s.CameraPrivacy {
			return s, out, nil
		}
		if !a.On {
			if err := mayOpen(s, c.From); err != nil {
				return refuse(err)
			}
		}
		out.Effects = append(out.Effects, ApplyPrivacy{On: a.On})
	case SetVolume:
		if a.Level < 0 || a.Level > 100 {
			return refuse(fmt.Errorf("%w: volume %d is not in 0..100", ErrInvalid, a.Level))
		}
		out.Effects = append(out.Effects, ApplyVolume{Level: a.Level})
	case StepVolume:
		v := min(100, max(0, s.Volume+a.Steps*s.Settings.VolumeStep))
		out.Effects = append(out.Effects, ApplyVolume{Level: v})
	case ActivateCameraPreset:
		if a.ID < 1 || a.ID > s.Settings.Presets {
			return refuse(fmt.Errorf("%w: preset %d is not in 1..%d", ErrInvalid, a.ID, s.Settings.Presets))
		}
		out.Effects = append(out.Effects, ApplyCameraPreset{ID: a.ID})
	case SetDisplayPower:
		out.Effects = append(out.Effects, ApplyDisplayPower{On: a.On})
	case Join:
		if a.Meeting.URI == "" {
			return refuse(fmt.Errorf("%w: a meeting link is required", ErrInvalid))
		}
		if s.Call.Active() {
			if !a.Replace {
				return refuse(fmt.Errorf("%w (%s); leave first or ask to replace it", ErrBusy, s.Call))
			}
			if !c.From.Kind.InRoom() && c.From.Kind != FromSchedule {
				return refuse(fmt.Errorf("%w: only someone in the room or the calendar may replace a call (%s is not); leave first", ErrNotAllowed, c.From.Kind))
			}
			out.Effects = append(out.Effects, EndCall{Seq: s.CallSeq})
		}
		if a.Meeting.ID == "" {
			a.Meeting.ID = a.Meeting.URI
		}
		if !s.Incoming.IsZero() {
			// Answering the ringing call, or joining something else,
			// ends the ringing; a call not answered is declined.
			if a.Meeting.Incoming != s.Incoming.ID {
				out.Effects = append(out.Effects, DeclineCall{ID: s.Incoming.ID})
			}
			s.Incoming = IncomingCall{}
		} else if a.Meeting.Incoming != "" {
			return refuse(fmt.Errorf("%w: call %s is no longer ringing", ErrInvalid, a.Meeting.Incoming))
		}
		s.CallSeq++
		s.Call, s.CallReason, s.Meeting, s.CallBy = Joining, "", a.Meeting, c.From.Kind
		if s.JoinOffer.ID == a.Meeting.ID {
			s.JoinOffer = Meeting{}
		}
		start := StartCall{Seq: s.CallSeq, Meeting: a.Meeting}
		// A join from outside the room never carries the room's open
		// microphone, nor its camera unless the room lets anyone open it:
		// they close first, and the call starts only if they did.
		if !c.From.Kind.InRoom() {
			start.Muted = true
			start.Private = s.Settings.Unmute != UnmuteAnyone
		}
		if (start.Muted || s.Settings.MuteOnJoin) && !s.MicMute {
			out.Effects = append(out.Effects, ApplyMicMute{Mute: true})
		}
		if start.Private && !s.CameraPrivacy {
			out.Effects = append(out.Effects, ApplyPrivacy{On: true})
		}
		out.Effects = append(out.Effects, start)
		out.Events = append(out.Events, Event{Name: "CallJoining", Fields: []string{"MeetingId", a.Meeting.ID, "By", c.From.String()}})
	case JoinOffered:
		if s.JoinOffer.IsZero() {
			return refuse(fmt.Errorf("%w: no meeting is offered to join", ErrInvalid))
		}
		return command(s, Command{From: c.From, Do: Join{Meeting: s.JoinOffer}})
	case Leave:
		switch s.Call {
		case Idle:
			return s, out, nil
		case Failed:
			s.Call, s.CallReason = Idle, ""
		case Leaving:
			return s, out, nil
		default:
			s.Call = Leaving
			out.Effects = append(out.Effects, EndCall{Seq: s.CallSeq})
		}
	case ExtendMeeting:
		if !s.Call.Active() {
			return refuse(fmt.Errorf("%w: nothing to extend", ErrNotInCall))
		}
		if a.Minutes < 1 || a.Minutes > 240 {
			return refuse(fmt.Errorf("%w: extend by 1 to 240 minutes", ErrInvalid))
		}
		if s.Meeting.End.IsZero() {
			return refuse(fmt.Errorf("%w: an ad-hoc meeting has no end to extend", ErrInvalid))
		}
		s.Meeting.End = s.Meeting.End.Add(time.Duration(a.Minutes) * time.Minute)
		out.Events = append(out.Events, Event{Name: "MeetingExtended", Fields: []string{"MeetingId", s.Meeting.ID, "End", s.Meeting.End.Format(time.RFC3339)}})
	case EditSettings:
		if a.Edit == nil {
			return refuse(fmt.Errorf("%w: empty settings edit", ErrInvalid))
		}
		next, err := a.Edit(s.Settings)
		if err != nil {
			return refuse(err)
		}
		return command(s, Command{From: c.From, Do: ChangeSettings{Settings: next}})
	case Enroll:
		code := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(a.Code), "-", ""))
		if len(code) < 8 || len(code) > 32 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return refuse(fmt.Errorf("%w: an activation code is 8 to 32 letters and digits", ErrInvalid))
		}
		if !c.From.Kind.InRoom() && c.From.Kind != FromSocket && c.From.Kind != FromSystem {
			return refuse(fmt.Errorf("%w: enrollment is started on the device itself", ErrNotAllowed))
		}
		if s.Provisioning.State == Enrolled {
			return refuse(fmt.Errorf("%w: the room is already enrolled", ErrInvalid))
		}
		s.Provisioning.State, s.Provisioning.Detail = Pending, "enrolling"
		out.Effects = append(out.Effects, StartEnrollment{Code: a.Code})
	case PollNow:
		out.Effects = append(out.Effects, PollFleet{})
	case ChangeSettings:
		if err := a.Settings.Validate(); err != nil {
			return refuse(err)
		}
		if a.Settings.Unmute != s.Settings.Unmute && !c.From.Kind.InRoom() && c.From.Kind != FromFleet && c.From.Kind != FromSystem {
			return refuse(fmt.Errorf("%w: the unmute policy may be changed only in the room or by the fleet", ErrNotAllowed))
		}
		if a.Settings.Presets < s.CameraPreset {
			s.CameraPreset = 0
		}
		s.Settings = a.Settings
		out.Effects = append(out.Effects, SaveSettings{})
	case AcceptIncoming, DeclineIncoming, SendDTMF:
		return sipCommand(s, c)
	case nil:
		return refuse(fmt.Errorf("%w: empty command", ErrInvalid))
	default:
		return refuse(fmt.Errorf("%w: unknown action %T", ErrInvalid, a))
	}
	return s, out, nil
}
