package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real roomd on a state directory whose room.json was truncated after
// it had saved the room muted and private: it starts, muted and private,
// says so on the console and by the mute LED, and keeps the damaged file
// (issue 12 row 3).
func TestRoomdStartsClosedOnDamagedRoomState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o750); err != nil {
		t.Fatal(err)
	}
	saved := `{"Settings":{"Name":"Fjord","DefaultVolume":70,"VolumeStep":5,"Unmute":0,"MuteOnJoin":false,"Presets":4},"MicMute":true,"CameraPrivacy":true}`
	if err := os.WriteFile(filepath.Join(state, "room.json"), []byte(saved[:len(saved)/2]), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startRoomdAt(t, dir, state, nil)
	// The control socket speaks the console's protocol without a login.
	conn, err := net.Dial("unix", filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "xStatus Audio Microphones Mute\nxStatus Video Camera Privacy\nxStatus SystemUnit SavedState\nbye\n")
	out, _ := io.ReadAll(conn)
	for _, want := range []string{"*s Audio Microphones Mute: On", "*s Video Camera Privacy: On",
		"*s SystemUnit SavedState Restored: Damaged", "room.json.corrupt-"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in the status:\n%s", want, out)
		}
	}
	if !simLEDs(t, d)["mute_led"] {
		t.Fatal("mute LED dark on a room that started muted")
	}
	aside, _ := filepath.Glob(filepath.Join(state, "room.json.corrupt-*"))
	if len(aside) != 1 {
		t.Fatalf("set-aside files: %q", aside)
	}
	if b, _ := os.ReadFile(aside[0]); string(b) != saved[:len(saved)/2] {
		t.Fatalf("set-aside file holds %q", b)
	}
}
