package serial_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/room"
)

// jsxapiDir is the tests' own npm project: Cisco's jsxapi, pinned by its
// package-lock.json, and drive.js, which runs it on the Go test's requests.
const jsxapiDir = "testdata/jsxapi"

var (
	npmOnce sync.Once
	npmErr  error
	npmOut  []byte
)

// jsxapiNode returns node once jsxapi is installed in jsxapiDir: from npm's
// cache when it can, from the registry otherwise. Without Node.js or npm the
// test fails, as every test of an outside tool here does.
func jsxapiNode(t *testing.T) string {
	t.Helper()
	testtool.SkipInShortMode(t, "Node.js and Cisco's jsxapi from npm")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("serial: node not found (%v); %s", err, testtool.InstallHint("nodejs npm", "runs Cisco's jsxapi against the console"))
	}
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(jsxapiDir, "node_modules", "jsxapi", "package.json")); err == nil {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			npmErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for _, extra := range []string{"--offline", "--prefer-online"} {
			cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", extra)
			cmd.Dir = jsxapiDir
			if npmOut, npmErr = cmd.CombinedOutput(); npmErr == nil {
				return
			}
		}
	})
	if npmErr != nil {
		t.Fatalf("serial: installing jsxapi with npm ci in %s: %v\n%s\n%s", jsxapiDir, npmErr, npmOut,
			testtool.InstallHint("nodejs npm", "and reach the npm registry once"))
	}
	return node
}

// jsxapiAnswer is one line drive.js prints: an answer to a request, a
// feedback callback (ID), or an error jsxapi raised on its own (Op "error").
type jsxapiAnswer struct {
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

// jsxapiClient is drive.js running under node.
type jsxapiClient struct {
	t        *testing.T
	in       io.WriteCloser
	answers  chan jsxapiAnswer
	feedback chan jsxapiAnswer
}

func startJSXAPI(t *testing.T) *jsxapiClient {
	t.Helper()
	node := jsxapiNode(t)
	cmd := exec.Command(node, "drive.js")
	cmd.Dir = jsxapiDir
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
	c := &jsxapiClient{t: t, in: in, answers: make(chan jsxapiAnswer, 16), feedback: make(chan jsxapiAnswer, 16)}
	var mu sync.Mutex
	var raised []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(outp)
		for sc.Scan() {
			var a jsxapiAnswer
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

// do sends one request and returns drive.js's answer to it.
func (c *jsxapiClient) do(req map[string]any) jsxapiAnswer {
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
	case <-time.After(10 * time.Second):
		c.t.Fatalf("jsxapi did not answer %v within 10s", req)
	}
	return jsxapiAnswer{}
}

// value runs a request that must succeed and returns its value as JSON.
func (c *jsxapiClient) value(req map[string]any) string {
	c.t.Helper()
	a := c.do(req)
	if !a.OK {
		c.t.Fatalf("%v failed in jsxapi: %+v", req, *a.Error)
	}
	return string(a.Value)
}

// refused runs a request that roomd must refuse and returns jsxapi's error.
func (c *jsxapiClient) refused(req map[string]any) (code int, message, data string) {
	c.t.Helper()
	a := c.do(req)
	if a.OK || a.Error == nil {
		c.t.Fatalf("%v succeeded in jsxapi (%s); want it refused", req, a.Value)
	}
	return a.Error.Code, a.Error.Message, string(a.Error.Data)
}

// nextFeedback waits for a feedback callback registered as id.
func (c *jsxapiClient) nextFeedback(id string) string {
	c.t.Helper()
	select {
	case a := <-c.feedback:
		if a.ID != id {
			c.t.Fatalf("feedback for %q (%s), want %q", a.ID, a.Feedback, id)
		}
		return string(a.Feedback)
	case <-time.After(10 * time.Second):
		c.t.Fatalf("no feedback for %q within 10s", id)
	}
	return ""
}

// TestJSXAPIOverSocket: Cisco's jsxapi, as an integrator runs it, on the
// control socket.
func TestJSXAPIOverSocket(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{})
	path := listen(t, srv)
	c := startJSXAPI(t)
	c.value(map[string]any{"op": "connect", "socket": path})
	exerciseJSXAPI(t, c, r)
}

// TestJSXAPIServeCisco: a session served with ServeCisco (as an SSH
// server would) greets jsxapi by itself; the client writes nothing first.
func TestJSXAPIServeCisco(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{})
	path := filepath.Join(t.TempDir(), "cisco.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			served <- err
			return
		}
		served <- srv.ServeCisco(ctx, conn, room.Source{Kind: room.FromSocket, ID: "cisco-test"})
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("ServeCisco: %v", err)
		}
	})
	c := startJSXAPI(t)
	c.value(map[string]any{"op": "connect", "socket": path, "greeted": true})
	exerciseJSXAPI(t, c, r)
}

// TestJSXAPIOverConsolePty: the same on the simulated board's console, a
// pseudo-terminal opened by path, with the console's PIN login.
func TestJSXAPIOverConsolePty(t *testing.T) {
	desc, err := hal.Profile("sim")
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.New(desc, &sim.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	line := b.Hardware().Serial[hal.RoleConsole]
	if line == nil {
		t.Fatalf("the simulated board has no console: %+v", b.Hardware().Report)
	}
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{RequireLogin: true, PINHash: pinHash(t, "4711")})
	serveLine(t, srv, line)
	c := startJSXAPI(t)
	c.value(map[string]any{"op": "connect", "tty": b.SerialPath(hal.RoleConsole), "pin": "4711"})
	exerciseJSXAPI(t, c, r)
}

// exerciseJSXAPI is what an integrator's script does with jsxapi, checked
// against the room itself.
func exerciseJSXAPI(t *testing.T, c *jsxapiClient, r *room.Room) {
	ctx := context.Background()
	eq := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	eq("status.get Audio Volume", c.value(map[string]any{"op": "status.get", "path": "Audio Volume"}), `"50"`)

	// A command that succeeds is reported as success, and took effect.
	eq("command Audio Volume Set", c.value(map[string]any{"op": "command", "path": "Audio Volume Set", "params": map[string]any{"Level": 30}}), `{"status":"OK"}`)
	if v := r.Snapshot().Volume; v != 30 {
		t.Errorf("the room's volume is %d after jsxapi set 30", v)
	}
	eq("command Audio Microphones Mute", c.value(map[string]any{"op": "command", "path": "Audio Microphones Mute"}), `{"status":"OK"}`)
	eq("status.get Audio Microphones Mute", c.value(map[string]any{"op": "status.get", "path": "Audio/Microphones/Mute"}), `"On"`)

	eq("config.get Audio DefaultVolume", c.value(map[string]any{"op": "config.get", "path": "Audio DefaultVolume"}), `"50"`)
	eq("config.set Audio DefaultVolume", c.value(map[string]any{"op": "config.set", "path": "Audio DefaultVolume", "value": 60}), `null`)
	eq("config.get after set", c.value(map[string]any{"op": "config.get", "path": "Audio DefaultVolume"}), `"60"`)
	if v := r.Snapshot().Settings.DefaultVolume; v != 60 {
		t.Errorf("the room's default volume is %d after jsxapi set 60", v)
	}

	// Refusals carry roomd's reason.
	const invalidPath = 3 // jsxapi's InvalidPathError
	code, msg, data := c.refused(map[string]any{"op": "command", "path": "Audio Volume Turn"})
	if code != invalidPath || msg != `unknown path: no command "Audio Volume Turn"` || data != `{"xpath":"/Audio/Volume/Turn"}` {
		t.Errorf("unknown command: jsxapi raised code %d %q %s", code, msg, data)
	}
	if code, msg, _ := c.refused(map[string]any{"op": "command", "path": "Audio Volume Set", "params": map[string]any{"Level": 300}}); code == invalidPath || msg != "Level: bad value: 300 is not in 0..100" {
		t.Errorf("bad level: jsxapi raised code %d %q", code, msg)
	}
	if code, msg, _ := c.refused(map[string]any{"op": "status.get", "path": "Audio Loudness"}); code != invalidPath || msg != `unknown path: no status at "Audio Loudness"` {
		t.Errorf("unknown status: jsxapi raised code %d %q", code, msg)
	}

	// Feedback: a button press, an event, an indexed path.
	c.value(map[string]any{"op": "status.on", "path": "Audio Microphones Mute", "id": "mute"})
	c.value(map[string]any{"op": "event.on", "path": "CallJoining", "id": "join"})
	c.value(map[string]any{"op": "status.on", "path": "Call Receive 2 Fps", "id": "fps2"})
	if err := r.Do(ctx, room.Command{From: room.Source{Kind: room.FromButton, ID: "mute"}, Do: room.ToggleMicMute{}}); err != nil {
		t.Fatal(err)
	}
	eq("status.on Audio Microphones Mute after the button", c.nextFeedback("mute"), `"Off"`)
	if err := r.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel, ID: "test"}, Do: room.Join{Meeting: room.Meeting{ID: "m-1", URI: "https://meet.example/abc"}}}); err != nil {
		t.Fatal(err)
	}
	eq("event.on CallJoining", c.nextFeedback("join"), `{"MeetingId":"m-1","By":"panel:test"}`)
	r.Report(room.MediaReported{Seq: r.Snapshot().CallSeq, Media: room.CallMedia{Received: []room.ReceivedVideo{
		{Participant: "alice#1", Width: 1280, Height: 720, FPS: 30},
		{Participant: "bob#2", Width: 320, Height: 180, FPS: 15},
	}}})
	eq("status.on Call Receive 2 Fps", c.nextFeedback("fps2"), `"15"`)
	eq("status.get Call Receive 2 Participant", c.value(map[string]any{"op": "status.get", "path": "Call Receive 2 Participant"}), `"bob#2"`)
	c.value(map[string]any{"op": "close"})
}
