// Package jsxapitest runs Cisco's own xAPI client, jsxapi (pinned at 6.0.0 from
// npm), against roomd's console in tests: over the serial console, the
// control socket, SSH and the xAPI WebSocket, as an integrator's script
// would.
//
// testdata/ is an npm project (package.json, package-lock.json, drive.js);
// its node_modules is installed on first use with `npm ci` (from npm's cache
// when it can) and never committed. drive.js reads one JSON request per line
// and prints one JSON answer per line; [Client] is its Go side and
// [Exercise] the conversation every transport's test holds. Like the other
// harnesses of outside tools, a test that needs Node.js fails when it is
// missing, and skips under -short.
package jsxapitest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/room"
)

// wait bounds each answer from jsxapi.
const wait = 10 * time.Second

// project is the npm project next to this file, installed on first use.
var project = &testtool.NodeProject{Dir: dir(), Package: "jsxapi", Why: "runs Cisco's jsxapi against the console"}

// dir is the npm project next to this file.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

// node returns node once jsxapi is installed: from npm's cache when it can,
// from the registry otherwise.
func node(t testing.TB) string {
	t.Helper()
	return project.Node(t)
}

// Answer is one line drive.js prints: an answer to a request, a feedback
// callback (ID), or an error jsxapi raised on its own (Op "error").
type Answer struct {
	Op       string          `json:"op"`
	OK       bool            `json:"ok"`
	Value    json.RawMessage `json:"value"`
	ID       string          `json:"id"`
	Feedback json.RawMessage `json:"feedback"`
	Message  string          `json:"message"`
	Error    *struct {
		Message string          `json:"message"`
		Code    int             `json:"code"` // jsxapi's: 0 unknown error, 3 invalid path, …
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// Client is drive.js running under node, driving jsxapi.
type Client struct {
	t        testing.TB
	in       io.WriteCloser
	answers  chan Answer
	feedback chan Answer
}

// Start runs drive.js until the test ends. At the end the test fails if
// jsxapi raised an error of its own, such as output it could not read.
func Start(t testing.TB) *Client {
	t.Helper()
	cmd := exec.Command(node(t), "drive.js")
	cmd.Dir = dir()
	stderr := &testtool.LockedBuffer{}
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Client{t: t, in: in, answers: make(chan Answer, 16), feedback: make(chan Answer, 16)}
	var mu sync.Mutex
	var raised []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(outp)
		for sc.Scan() {
			var a Answer
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Errorf("drive.js printed %q: %v", sc.Text(), err)
				continue
			}
			switch {
			case a.Op == "error":
				mu.Lock()
				raised = append(raised, a.Message)
				mu.Unlock()
			case a.ID != "":
				c.feedback <- a
			default:
				c.answers <- a
			}
		}
	}()
	t.Cleanup(func() {
		in.Close() // drive.js exits when its input ends
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
		mu.Lock()
		defer mu.Unlock()
		// jsxapi raises an error for any output it cannot read as JSON:
		// a stray line from roomd would show up here.
		if len(raised) > 0 {
			t.Errorf("jsxapi raised errors: %q\nstderr: %s", raised, stderr.String())
		}
	})
	return c
}

// Do sends one request and returns drive.js's answer to it.
func (c *Client) Do(req map[string]any) Answer {
	c.t.Helper()
	b, _ := json.Marshal(req)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("writing to drive.js: %v", err)
	}
	select {
	case a := <-c.answers:
		if a.Op != req["op"] {
			c.t.Fatalf("asked %v, got an answer to %q", req, a.Op)
		}
		return a
	case <-time.After(wait):
		c.t.Fatalf("jsxapi did not answer %v within %v", req, wait)
	}
	return Answer{}
}

// Value runs a request that must succeed and returns its value as JSON.
func (c *Client) Value(req map[string]any) string {
	c.t.Helper()
	a := c.Do(req)
	if !a.OK {
		c.t.Fatalf("%v failed in jsxapi: %+v", req, *a.Error)
	}
	return string(a.Value)
}

// Refused runs a request that roomd must refuse and returns jsxapi's error.
func (c *Client) Refused(req map[string]any) (code int, message, data string) {
	c.t.Helper()
	a := c.Do(req)
	if a.OK || a.Error == nil {
		c.t.Fatalf("%v succeeded in jsxapi (%s); want it refused", req, a.Value)
	}
	return a.Error.Code, a.Error.Message, string(a.Error.Data)
}

// NextFeedback waits for a feedback callback registered as id.
func (c *Client) NextFeedback(id string) string {
	c.t.Helper()
	select {
	case a := <-c.feedback:
		if a.ID != id {
			c.t.Fatalf("feedback for %q (%s), want %q", a.ID, a.Feedback, id)
		}
		return string(a.Feedback)
	case <-time.After(wait):
		c.t.Fatalf("no feedback for %q within %v", id, wait)
	}
	return ""
}

// holdCalls is a call engine that never reports back: Exercise's join
// stays "joining".
type holdCalls struct{}

func (holdCalls) Start(context.Context, uint64, room.Meeting) {}
func (holdCalls) End(uint64)                                  {}
func (holdCalls) SendDTMF(uint64, string) error               { return nil }
func (holdCalls) Decline(string)                              {}

// StartRoom runs a room at its defaults, as Exercise expects it, until the
// test ends.
func StartRoom(t testing.TB) *room.Room {
	t.Helper()
	r := room.New(room.Options{Devices: room.Devices{Calls: holdCalls{}}, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-r.Ready()
	return r
}

// invalidPath is jsxapi's code for InvalidPathError.
const invalidPath = 3

// Exercise is what an integrator's script does with jsxapi, checked
// against the room itself: gets, commands with and without parameters
// (reported as success, and carried out), configuration, refusals with
// roomd's reasons, and feedback on a button press, an event and an indexed
// path. r starts at its defaults; c is connected; Exercise closes it.
func Exercise(t testing.TB, c *Client, r *room.Room) {
	t.Helper()
	ctx := context.Background()
	eq := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	eq("status.get Audio Volume", c.Value(map[string]any{"op": "status.get", "path": "Audio Volume"}), `"50"`)

	// A command that succeeds is reported as success, and took effect.
	eq("command Audio Volume Set", c.Value(map[string]any{"op": "command", "path": "Audio Volume Set", "params": map[string]any{"Level": 30}}), `{"status":"OK"}`)
	if v := r.Snapshot().Volume; v != 30 {
		t.Errorf("the room's volume is %d after jsxapi set 30", v)
	}
	eq("command Audio Microphones Mute", c.Value(map[string]any{"op": "command", "path": "Audio Microphones Mute"}), `{"status":"OK"}`)
	eq("status.get Audio Microphones Mute", c.Value(map[string]any{"op": "status.get", "path": "Audio/Microphones/Mute"}), `"On"`)

	eq("config.get Audio DefaultVolume", c.Value(map[string]any{"op": "config.get", "path": "Audio DefaultVolume"}), `"50"`)
	eq("config.set Audio DefaultVolume", c.Value(map[string]any{"op": "config.set", "path": "Audio DefaultVolume", "value": 60}), `null`)
	eq("config.get after set", c.Value(map[string]any{"op": "config.get", "path": "Audio DefaultVolume"}), `"60"`)
	if v := r.Snapshot().Settings.DefaultVolume; v != 60 {
		t.Errorf("the room's default volume is %d after jsxapi set 60", v)
	}

	// Refusals carry roomd's reason.
	code, msg, data := c.Refused(map[string]any{"op": "command", "path": "Audio Volume Turn"})
	if code != invalidPath || msg != `unknown path: no command "Audio Volume Turn"` || data != `{"xpath":"/Audio/Volume/Turn"}` {
		t.Errorf("unknown command: jsxapi raised code %d %q %s", code, msg, data)
	}
	if code, msg, _ := c.Refused(map[string]any{"op": "command", "path": "Audio Volume Set", "params": map[string]any{"Level": 300}}); code == invalidPath || msg != "Level: bad value: 300 is not in 0..100" {
		t.Errorf("bad level: jsxapi raised code %d %q", code, msg)
	}
	if code, msg, _ := c.Refused(map[string]any{"op": "status.get", "path": "Audio Loudness"}); code != invalidPath || msg != `unknown path: no status at "Audio Loudness"` {
		t.Errorf("unknown status: jsxapi raised code %d %q", code, msg)
	}

	// Feedback: a button press, an event, an indexed path.
	c.Value(map[string]any{"op": "status.on", "path": "Audio Microphones Mute", "id": "mute"})
	c.Value(map[string]any{"op": "event.on", "path": "CallJoining", "id": "join"})
	c.Value(map[string]any{"op": "status.on", "path": "Call Receive 2 Fps", "id": "fps2"})
	if err := r.Do(ctx, room.Command{From: room.Source{Kind: room.FromButton, ID: "mute"}, Do: room.ToggleMicMute{}}); err != nil {
		t.Fatal(err)
	}
	eq("status.on Audio Microphones Mute after the button", c.NextFeedback("mute"), `"Off"`)
	if err := r.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel, ID: "test"}, Do: room.Join{Meeting: room.Meeting{ID: "m-1", URI: "https://meet.example/abc"}}}); err != nil {
		t.Fatal(err)
	}
	eq("event.on CallJoining", c.NextFeedback("join"), `{"MeetingId":"m-1","By":"panel:test"}`)
	r.Report(room.MediaReported{Seq: r.Snapshot().CallSeq, Media: room.CallMedia{Received: []room.ReceivedVideo{
		{Participant: "alice#1", Width: 1280, Height: 720, FPS: 30},
		{Participant: "bob#2", Width: 320, Height: 180, FPS: 15},
	}}})
	eq("status.on Call Receive 2 Fps", c.NextFeedback("fps2"), `"15"`)
	eq("status.get Call Receive 2 Participant", c.Value(map[string]any{"op": "status.get", "path": "Call Receive 2 Participant"}), `"bob#2"`)
	c.Value(map[string]any{"op": "close"})
}
