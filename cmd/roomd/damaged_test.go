package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
)

// The real roomd on a state directory with a garbled schedule cache and
// panel tokens file: it starts, sets both aside and lists both in status
// as soon as it reports ready.
func TestRoomdListsDamagedFilesAtReady(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"schedule.json", "panel-tokens.json"} {
		if err := os.WriteFile(filepath.Join(state, name), []byte("\x00{garbled"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "roomd.toml")
	// A feed that never answers: the schedule starts from its cache.
	if err := os.WriteFile(cfg, []byte("[schedule]\nurl = \"https://127.0.0.1:9/room.ics\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startRoomdAt(t, dir, state, []string{"--config", cfg})
	sock, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lines, err := sock.Exec(ctx, "xStatus SystemUnit DamagedFile")
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Join(lines, "\n")
	for _, name := range []string{"schedule.json", "panel-tokens.json"} {
		if !strings.Contains(out, `Name: "`+name+".corrupt-") {
			t.Errorf("%s not listed:\n%s", name, out)
		}
		if m, _ := filepath.Glob(filepath.Join(state, name+".corrupt-*")); len(m) != 1 {
			t.Errorf("%s set aside as %q", name, m)
		}
	}
	if !strings.Contains(out, "*s SystemUnit DamagedFile 2 Since: ") {
		t.Errorf("no times:\n%s", out)
	}
}
