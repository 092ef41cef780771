package damagedfiles

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/statefile"
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
	d := New(state, rm, slog.New(slog.NewTextHandler(&logs, nil)))
	names := func() []string {
		var out []string
		for _, f := range rm.Snapshot().DamagedFiles {
			out = append(out, f.Name+"@"+f.Since.Format(time.TimeOnly))
		}
		return out
	}
	d.Scan(ctx)
	if n := names(); len(n) != 0 {
		t.Fatalf("nothing damaged, listed %q", n)
	}
	tokens := aside("panel-tokens.json", t0)
	aside("schedule.json", t0.Add(time.Minute))
	d.Scan(ctx)
	if got, want := strings.Join(names(), " "), "schedule.json.corrupt-20261207T050100Z@05:01:00 panel-tokens.json.corrupt-20261207T050000Z@05:00:00"; got != want {
		t.Fatalf("listed %q, want %q", got, want)
	}
	d.Scan(ctx)
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Errorf("%d warnings for two files, want one each:\n%s", n, logs.String())
	}
	if err := os.Remove(tokens); err != nil {
		t.Fatal(err)
	}
	d.Scan(ctx)
	if got := strings.Join(names(), " "); got != "schedule.json.corrupt-20261207T050100Z@05:01:00" {
		t.Fatalf("after deleting the tokens file: %q", got)
	}

	// Provisioning sets a root aside and reports itself: the list follows
	// at once, long before the next periodic scan.
	go d.Run(ctx, time.Hour)
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
