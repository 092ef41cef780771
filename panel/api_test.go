package panel_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

var parseCases = []struct {
	in   string
	typ  string
	id   string
	want room.Action
	err  error
	msg  string
}{
	{in: `{"command":"Audio Microphones Mute"}`, typ: "command", want: room.SetMicMute{Mute: true}},
	{in: `{"type":"command","id":"7","command":"audio/microphones/unmute"}`, typ: "command", id: "7", want: room.SetMicMute{}},
	{in: `{"command":"Audio Volume Set","args":{"Level":70}}`, typ: "command", want: room.SetVolume{Level: 70}},
	{in: `{"command":"Audio Volume Set","args":{"level":"070"}}`, typ: "command", want: room.SetVolume{Level: 70}},
	{in: `{"command":"Video Camera Privacy Set","args":{"Mode":"on"}}`, typ: "command", want: room.SetCameraPrivacy{On: true}},
	{in: `{"command":"Video Camera Preset Activate","args":{"PresetId":2}}`, typ: "command", want: room.ActivateCameraPreset{ID: 2}},
	{in: `{"command":"Call Join","args":{"Uri":"janus+wss://sfu.example/janus?room=5&pin=77","Replace":true}}`, typ: "command",
		want: room.Join{Meeting: room.Meeting{URI: "janus+wss://sfu.example/janus?room=5", Passcode: "77"}, Replace: true}},
	{in: `{"command":"Call JoinOffered"}`, typ: "command", want: room.JoinOffered{}},
	{in: `{"command":"Call Leave","args":{}}`, typ: "command", want: room.Leave{}},
	{in: `{"type":"retry","id":"r"}`, typ: "retry", id: "r"},
	{in: `{"command":"Audio Volume Set","args":{"Level":101}}`, err: control.ErrBadValue, msg: "101 is not in 0..100"},
	{in: `{"command":"Audio Volume Set","args":{"Level":1.5}}`, err: control.ErrBadValue, msg: "not a whole number"},
	{in: `{"command":"Audio Volume Set","args":{"Level":null}}`, err: control.ErrBadValue, msg: "use a string"},
	{in: `{"command":"Audio Volume Set","args":{"Level":[1]}}`, err: control.ErrBadValue},
	{in: `{"command":"Audio Volume Set","args":{"Level":5,"level":6}}`, err: control.ErrBadValue, msg: "twice"},
	{in: `{"command":"Audio Volume Set"}`, err: control.ErrBadValue, msg: "Level is required"},
	{in: `{"command":"Audio Volume Set","args":{"Volume":5}}`, err: control.ErrBadValue, msg: "takes no parameter"},
	{in: `{"command":"Audio Bass Set"}`, err: control.ErrUnknownPath},
	{in: `{"command":""}`, err: control.ErrBadValue, msg: "a command is needed"},
	{in: `{"type":"xStatus"}`, err: control.ErrBadValue, msg: "unknown message type"},
	{in: `{"type":"retry","command":"Call Leave"}`, err: control.ErrBadValue},
	{in: `{"command":"Call Leave","token":"x"}`, err: control.ErrBadValue, msg: "unknown field"},
	{in: `{"command":"Call Leave"} {"command":"Call Leave"}`, err: control.ErrBadValue, msg: "one JSON object"},
	{in: `["Call Leave"]`, err: control.ErrBadValue},
	{in: `not json`, err: control.ErrBadValue},
	{in: `{"id":"` + strings.Repeat("x", 65) + `","command":"Call Leave"}`, err: control.ErrBadValue, msg: "64 bytes"},
	{in: `{"command":"Call Leave","args":{"x":"` + strings.Repeat("y", 17000) + `"}}`, err: control.ErrBadValue, msg: "at most"},
}

func TestParseRequest(t *testing.T) {
	for _, c := range parseCases {
		req, err := panel.ParseRequest([]byte(c.in))
		if c.err != nil {
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%.80s: err %v; want %v containing %q", c.in, err, c.err, c.msg)
			}
			continue
		}
		if err != nil || req.Type != c.typ || req.ID != c.id || !reflect.DeepEqual(req.Command.Action, c.want) {
			t.Errorf("%.80s = %+v, %v; want type %q id %q action %#v", c.in, req, err, c.typ, c.id, c.want)
		}
	}
}

// FuzzParseRequest: any message is parsed or refused with a vocabulary
// error, never a panic; a parsed command names a command of the schema.
func FuzzParseRequest(f *testing.F) {
	for _, c := range parseCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := panel.ParseRequest(b)
		if err != nil {
			if !errors.Is(err, control.ErrBadValue) && !errors.Is(err, control.ErrUnknownPath) {
				t.Fatalf("error %v wraps neither ErrBadValue nor ErrUnknownPath", err)
			}
			return
		}
		switch req.Type {
		case panel.TypeRetry:
		case panel.TypeCommand:
			if req.Command.Action == nil || req.Command.Result == "" {
				t.Fatalf("parsed command without an action: %+v", req)
			}
			again, err := control.ParseCommand(req.Command.Path, req.Command.Args)
			if err != nil || !reflect.DeepEqual(again.Args, req.Command.Args) {
				t.Fatalf("canonical command does not parse again: %+v: %v", req.Command, err)
			}
		default:
			t.Fatalf("type %q", req.Type)
		}
	})
}
