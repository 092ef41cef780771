package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// The list of damaged files follows the disk: a file set aside joins it, a
// file a person deleted leaves it, a change of provisioning state scans at
// once, and each file is logged once.
func TestDamagedFilesFollowTheDisk(t *testing.T) {
	state := t.TempDir()
	if err := os.MkdirAll(filepath.Join(state, "provisioning"), 0o700); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	aside := func(name string, at time.Time) string {
		t.Helper()
		p := filepath.Join(state, filepath.FromSlash(name))
		if err := os.WriteFile(p, []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
		to, err := statefile.SetAside(p, at)
		if err != nil {
			t.Fatal(err)
		}
		return to
	}
	rm := room.New(room.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rm.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-rm.Ready()

	var logs bytes.Buffer
	d := newDamagedFiles(state, rm, slog.New(slog.NewTextHandler(&logs, nil)))
	names := func() []string {
		var out []string
		for _, f := range rm.Snapshot().DamagedFiles {
			out = append(out, f.Name+"@"+f.Since.Format(time.TimeOnly))
		}
		return out
	}
	d.scan(ctx)
	if n := names(); len(n) != 0 {
		t.Fatalf("nothing damaged, listed %q", n)
	}
	tokens := aside("panel-tokens.json", t0)
	aside("schedule.json", t0.Add(time.Minute))
	d.scan(ctx)
	if got, want := strings.Join(names(), " "), "schedule.json.corrupt-20261207T050100Z@05:01:00 panel-tokens.json.corrupt-20261207T050000Z@05:00:00"; got != want {
		t.Fatalf("listed %q, want %q", got, want)
	}
	d.scan(ctx)
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Errorf("%d warnings for two files, want one each:\n%s", n, logs.String())
	}
	if err := os.Remove(tokens); err != nil {
		t.Fatal(err)
	}
	d.scan(ctx)
	if got := strings.Join(names(), " "); got != "schedule.json.corrupt-20261207T050100Z@05:01:00" {
		t.Fatalf("after deleting the tokens file: %q", got)
	}

	// Provisioning sets a root aside and reports itself: the list follows
	// at once, long before the next periodic scan.
	go d.run(ctx, time.Hour)
	aside("provisioning/root.current", t0.Add(2*time.Minute))
	// Reported until listed: the first report may come before run watches.
	for i, deadline := 0, time.Now().Add(5*time.Second); len(names()) != 2; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the root set aside was not listed after provisioning changed: %q", names())
		}
		rm.Report(room.ProvisioningReported{Provisioning: room.Provisioning{State: room.ProvisioningFailed, Detail: "root unreadable", ConfigVersion: int64(i)}})
		time.Sleep(10 * time.Millisecond)
	}
	if n := names(); n[0] != "provisioning/root.current.corrupt-20261207T050200Z@05:02:00" {
		t.Errorf("listed %q, want the root first", n)
	}
}

func TestHealthReportListsDamagedFiles(t *testing.T) {
	var h provisioning.HealthReport
	reportDamagedFiles(room.State{}, &h)
	if len(h.LastErrors) != 0 {
		t.Errorf("nothing damaged: %q", h.LastErrors)
	}
	reportDamagedFiles(room.State{DamagedFiles: []room.DamagedFile{
		{Name: "panel-tokens.json.corrupt-20261207T050000Z", Since: time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)},
	}}, &h)
	if len(h.LastErrors) != 1 || !strings.Contains(h.LastErrors[0], "panel-tokens.json.corrupt-20261207T050000Z") ||
		!strings.Contains(h.LastErrors[0], "2026-12-07T05:00:00Z") {
		t.Errorf("last errors %q", h.LastErrors)
	}
}

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
