package control

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/roomd/roomd/room"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		path string
		args []Arg
		want room.Action
		err  error
		msg  string
	}{
		{path: "Audio Microphones Mute", want: room.SetMicMute{Mute: true}},
		{path: "audio microphones unmute", want: room.SetMicMute{Mute: false}},
		{path: "Audio Microphones ToggleMute", want: room.ToggleMicMute{}},
		{path: "Audio Volume Set", args: []Arg{{"level", "70"}}, want: room.SetVolume{Level: 70}},
		{path: "Audio Volume Increase", want: room.StepVolume{Steps: 1}},
		{path: "Audio Volume Decrease", want: room.StepVolume{Steps: -1}},
		{path: "Video Camera Privacy Set", args: []Arg{{"Mode", "on"}}, want: room.SetCameraPrivacy{On: true}},
		{path: "Video Camera Preset Activate", args: []Arg{{"PresetId", "3"}}, want: room.ActivateCameraPreset{ID: 3}},
		{path: "Video Display Power Set", args: []Arg{{"Mode", "Off"}}, want: room.SetDisplayPower{On: false}},
		{path: "Call Join", args: []Arg{{"Uri", "https://x/1"}, {"Title", "Sync"}},
			want: room.Join{Meeting: room.Meeting{URI: "https://x/1", Title: "Sync"}}},
		{path: "Call Join", args: []Arg{{"Uri", "https://x/1"}, {"MeetingId", "m"}, {"Replace", "true"}},
			want: room.Join{Meeting: room.Meeting{ID: "m", URI: "https://x/1"}, Replace: true}},
		{path: "Call Leave", want: room.Leave{}},

		{path: "Audio Microphones", err: ErrUnknownPath},
		{path: "Audio Microphones Mute Now", err: ErrUnknownPath},
		{path: "Audio Volume Set", err: ErrBadValue, msg: "Level is required"},
		{path: "Audio Volume Set", args: []Arg{{"Level", "101"}}, err: ErrBadValue, msg: "101 is not in 0..100"},
		{path: "Audio Volume Set", args: []Arg{{"Level", "5"}, {"level", "6"}}, err: ErrBadValue, msg: "twice"},
		{path: "Audio Volume Set", args: []Arg{{"Volume", "5"}}, err: ErrBadValue, msg: "takes no parameter"},
		{path: "Audio Microphones Mute", args: []Arg{{"Mode", "On"}}, err: ErrBadValue},
		{path: "Video Camera Privacy Set", args: []Arg{{"Mode", "maybe"}}, err: ErrBadValue, msg: "On|Off"},
		{path: "Call Join", args: []Arg{{"Uri", ""}}, err: ErrBadValue, msg: "empty"},
		{path: "Call Join", args: []Arg{{"Uri", "x"}, {"Replace", "yes"}}, err: ErrBadValue},
	} {
		cmd, err := ParseCommand(ParsePath(c.path), c.args)
		if c.err != nil {
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s %v: err %v; want %v containing %q", c.path, c.args, err, c.err, c.msg)
			}
			if errors.Is(err, ErrBadValue) && cmd.Result == "" {
				t.Errorf("%s %v: a bad parameter should still name the command", c.path, c.args)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(cmd.Action, c.want) {
			t.Errorf("%s %v = %#v, %v; want %#v", c.path, c.args, cmd.Action, err, c.want)
		}
	}
	cmd, _ := ParseCommand(ParsePath("call join"), []Arg{{"URI", "u"}})
	if cmd.Path.String() != "Call Join" || !reflect.DeepEqual(cmd.Args, []Arg{{"Uri", "u"}, {"Replace", "False"}}) {
		t.Errorf("canonical command: %q %v", cmd.Path, cmd.Args)
	}
}

func TestConfig(t *testing.T) {
	s := room.DefaultSettings()
	var got []string
	for _, l := range ConfigLeaves(s) {
		got = append(got, l.Path.String()+"="+l.Value)
	}
	want := "SystemUnit Name=Meeting Room,Audio DefaultVolume=50,Audio VolumeStep=5," +
		"Audio Microphones MuteOnJoin=Off,Audio Microphones UnmutePolicy=InRoom,Video Camera Presets=4"
	if strings.Join(got, ",") != want {
		t.Errorf("ConfigLeaves = %s", strings.Join(got, ","))
	}
	for _, c := range []struct {
		path, value string
		check       func(room.Settings) bool
		err         error
	}{
		{path: "systemunit name", value: "Board Room", check: func(s room.Settings) bool { return s.Name == "Board Room" }},
		{path: "Audio DefaultVolume", value: "75", check: func(s room.Settings) bool { return s.DefaultVolume == 75 }},
		{path: "Audio VolumeStep", value: "10", check: func(s room.Settings) bool { return s.VolumeStep == 10 }},
		{path: "Audio Microphones MuteOnJoin", value: "on", check: func(s room.Settings) bool { return s.MuteOnJoin }},
		{path: "Audio Microphones UnmutePolicy", value: "anyone", check: func(s room.Settings) bool { return s.Unmute == room.UnmuteAnyone }},
		{path: "Video Camera Presets", value: "0", check: func(s room.Settings) bool { return s.Presets == 0 }},
		{path: "Audio VolumeStep", value: "0", err: ErrBadValue},
		{path: "SystemUnit Name", value: "", err: ErrBadValue},
		{path: "Audio", value: "1", err: ErrUnknownPath},
		{path: "Audio Bass", value: "1", err: ErrUnknownPath},
	} {
		n, leaf, err := SetConfig(s, ParsePath(c.path), c.value)
		if c.err != nil {
			if !errors.Is(err, c.err) || n != s {
				t.Errorf("SetConfig(%s, %q) = %v; want %v and no change", c.path, c.value, err, c.err)
			}
			continue
		}
		if err != nil || !c.check(n) || n.Validate() != nil {
			t.Errorf("SetConfig(%s, %q) = %+v, %v", c.path, c.value, n, err)
		}
		if canon, _ := ConfigPrefix(ParsePath(c.path)); leaf.Path.String() != canon.String() || canon == nil {
			t.Errorf("leaf path %q, want canonical %q", leaf.Path, canon)
		}
	}
	if p, err := ConfigPrefix(ParsePath("audio microphones")); err != nil || p.String() != "Audio Microphones" {
		t.Errorf("ConfigPrefix = %q, %v", p, err)
	}
}
