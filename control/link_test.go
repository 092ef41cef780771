package control_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/roomd/roomd/control"
)

// Call Join refuses a link with a user name or password before the room
// sees it, on every surface that uses the vocabulary, and says so without
// repeating the secret.
func TestCallJoinRefusesLinkCredentials(t *testing.T) {
	for _, args := range [][]control.Arg{
		{{Name: "Uri", Value: "janus+ws://alice:s3cret@sfu.example.com/?room=1"}},
		{{Name: "uri", Value: "janus+wss://alice:s3cret@sfu.example.com:bad/?room=1"}, {Name: "Passcode", Value: "1"}},
		{{Name: "Uri", Value: "https://alice:s3cret@zoom.us/j/1"}},
		// A WHEP URL inside a WHIP link is a link too.
		{{Name: "Uri", Value: "whip+https://m.example.com/whip?whep=https%3A%2F%2Falice%3As3cret%40m.example.com%2Fwhep"}},
		{{Name: "Uri", Value: "janus+ws://sfu.example.com/?room=1"}, {Name: "MeetingId", Value: "janus+ws://alice:s3cret@sfu.example.com/?room=1"}},
	} {
		cmd, err := control.ParseCommand(control.ParsePath("Call Join"), args)
		if !errors.Is(err, control.ErrBadValue) || cmd.Action != nil {
			t.Errorf("%v: %+v, %v; want ErrBadValue and no action", args, cmd, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "user name or password") {
			t.Errorf("%v: error %q", args, err)
		}
		if cmd.Result != "CallJoinResult" {
			t.Errorf("%v: result %q, want CallJoinResult so the reply names the command", args, cmd.Result)
		}
	}
	for _, args := range [][]control.Arg{
		{{Name: "Uri", Value: "janus+ws://sfu.example.com/?room=1"}, {Name: "MeetingId", Value: "0a1b2c@google.com"}},
		{{Name: "Uri", Value: "janus+ws://sfu.example.com/rooms/a@b?room=1&pin=4711"}},
	} {
		if _, err := control.ParseCommand(control.ParsePath("Call Join"), args); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}
