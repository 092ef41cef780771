package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/room"
)

// holdCalls is a call engine that never reports back, so a joined call
// stays Joining.
type holdCalls struct{}

func (holdCalls) Start(context.Context, uint64, room.Meeting) {}
func (holdCalls) End(uint64)                                  {}

// serve runs a real room and console server on a socket in a temporary
// directory until the test ends.
func serve(t *testing.T) (path string, r *room.Room) {
	t.Helper()
	r = room.New(room.Options{Devices: room.Devices{Calls: holdCalls{}}})
	ctx, cancel := context.WithCancel(context.Background())
	roomDone := make(chan struct{})
	go func() { r.Run(ctx); close(roomDone) }()
	<-r.Ready()
	srv, err := serial.NewServer(r, serial.Options{SoftwareVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "control.sock")
	done := make(chan error, 1)
	go func() { done <- srv.ListenUnix(ctx, path) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenUnix: %v", err)
		}
		<-roomDone
	})
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(path); err == nil {
			return path, r
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the socket never appeared")
	return
}

func roomctl(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestOneRequest(t *testing.T) {
	path, r := serve(t)
	code, out, _ := roomctl(t, "", "-socket", path, "xStatus", "Audio")
	if want := "*s Audio Microphones Mute: Off\n*s Audio Microphones HardwareSwitch: Off\n*s Audio Volume: 50\n** end\nOK\n"; code != 0 || out != want {
		t.Errorf("roomctl xStatus Audio = %d\n%s\nwant\n%s", code, out, want)
	}
	code, out, _ = roomctl(t, "", "-socket", path, "xCommand", "Call", "Join", "Uri:", "https://meet.example/a", "Title:Weekly sync")
	if code != 0 || !strings.Contains(out, "CallJoinResult (status=OK)") {
		t.Errorf("join = %d %s", code, out)
	}
	if m := r.Snapshot().Meeting; m.Title != "Weekly sync" || m.URI != "https://meet.example/a" {
		t.Errorf("meeting = %+v", m)
	}
	code, out, _ = roomctl(t, "", "-socket", path, "-json", "xStatus", "Call", "State")
	if code != 0 || out != `{"Status":{"Call":{"State":"Joining"}},"Result":"OK"}`+"\n" {
		t.Errorf("json = %d %q", code, out)
	}
}

func TestErrorExitCodes(t *testing.T) {
	path, _ := serve(t)
	code, out, _ := roomctl(t, "", "-socket", path, "xCommand", "Audio", "Volume", "Set", "Level:", "200")
	if code != 1 || !strings.HasSuffix(out, "ERROR: Level: bad value: 200 is not in 0..100\n") {
		t.Errorf("bad value = %d %q", code, out)
	}
	code, _, errOut := roomctl(t, "", "-socket", filepath.Join(t.TempDir(), "nothing.sock"), "xStatus")
	if code != 2 || !strings.Contains(errOut, "is roomd running?") {
		t.Errorf("no server = %d %q", code, errOut)
	}
	if code, _, _ := roomctl(t, "", "-nosuchflag"); code != 2 {
		t.Errorf("bad flag = %d", code)
	}
}

func TestInteractive(t *testing.T) {
	path, _ := serve(t)
	code, out, errOut := roomctl(t, "xStatus Audio Volume\nxCommand Audio Volume Set Level: 20\nxStatus Audio Volume\nbye\n", "-socket", path)
	want := "*s Audio Volume: 50\n** end\nOK\n*r VolumeSetResult (status=OK):\n** end\nOK\n*s Audio Volume: 20\n** end\nOK\n** end\nOK\n"
	if code != 0 || out != want {
		t.Errorf("interactive = %d %q (stderr %q)\nwant %q", code, out, errOut, want)
	}
	// The session ends at the end of input, without bye too.
	if code, out, _ := roomctl(t, "xStatus Audio Volume\n", "-socket", path); code != 0 || !strings.HasPrefix(out, "*s Audio Volume: 20\n") {
		t.Errorf("interactive without bye = %d %q", code, out)
	}
}

func TestRequestLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"xStatus", "Audio"}, "xStatus Audio"},
		{[]string{"xCommand", "Call", "Join", "Uri:", "https://x/a", "Title:", "Weekly sync"}, `xCommand Call Join Uri: https://x/a Title: "Weekly sync"`},
		{[]string{"xCommand", "Call", "Join", `Title:Say "hi" now`}, `xCommand Call Join Title:"Say \"hi\" now"`},
		{[]string{"xConfiguration", "SystemUnit", "Name:", ""}, `xConfiguration SystemUnit Name: ""`},
		{[]string{"xStatus", `|resultId="a"`}, `xStatus |resultId="a"`},
		{[]string{`xCommand Call Join Uri: "janus+ws://h/?room=1"`}, `xCommand Call Join Uri: "janus+ws://h/?room=1"`},
	} {
		if got := requestLine(c.args); got != c.want {
			t.Errorf("requestLine(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

// TestHelp: roomctl help and -h print the usage, the console's requests
// and the flags without dialling roomd (the socket does not exist), and
// exit 0; an unknown flag exits 2.
func TestHelp(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.sock")
	want := []string{"usage: roomctl", "xStatus", "xCommand", "xConfiguration", "xFeedback", "xPreferences", "xDocument Schema", "-socket", "-json", "-timeout"}
	for _, tc := range []struct {
		args     []string
		toStdout bool
	}{{[]string{"-socket", missing, "help"}, true}, {[]string{"-socket", missing, "-h"}, false}, {[]string{"--help"}, false}} {
		code, stdout, stderr := roomctl(t, "", tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d, %s", tc.args, code, stderr)
		}
		got := stderr
		if tc.toStdout {
			got = stdout
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: usage lacks %q:\n%s", tc.args, w, got)
			}
		}
	}
	if code, _, stderr := roomctl(t, "", "-bogus"); code != 2 || !strings.Contains(stderr, "usage: roomctl") {
		t.Errorf("-bogus: exit %d, %s", code, stderr)
	}
}
