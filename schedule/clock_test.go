package schedule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSystemClock(t *testing.T) {
	dir := t.TempDir()
	sync := filepath.Join(dir, "synchronized")
	floorPath := filepath.Join(dir, FloorFile)
	floor, err := LoadTimeFloor(floorPath)
	if err != nil || !floor.Time().IsZero() {
		t.Fatalf("no floor yet: %v %v", floor.Time(), err)
	}
	kernel := false
	c := &SystemClock{SyncFile: sync, Kernel: func() bool { return kernel }, Floor: floor}
	now := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)

	if c.Trusted(now) {
		t.Fatal("trusted without any sign of synchronisation")
	}
	if _, err := os.Stat(floorPath); err == nil {
		t.Fatal("an untrusted time raised the floor")
	}
	kernel = true
	if !c.Trusted(now) {
		t.Fatal("kernel says synchronised, clock not trusted")
	}
	kernel = false
	if err := os.WriteFile(sync, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !c.Trusted(now.Add(time.Minute)) {
		t.Fatal("timesyncd says synchronised, clock not trusted")
	}
	b, err := os.ReadFile(floorPath)
	if err != nil || strings.TrimSpace(string(b)) != "2025-03-04T08:00:00Z" {
		t.Fatalf("floor file %q %v", b, err)
	}

	// After a restart with a clock behind the floor: never trusted, even
	// when something claims synchronisation.
	floor2, err := LoadTimeFloor(floorPath)
	if err != nil {
		t.Fatal(err)
	}
	c2 := &SystemClock{SyncFile: sync, Kernel: func() bool { return true }, Floor: floor2}
	if c2.Trusted(time.Date(1970, 1, 1, 0, 1, 0, 0, time.UTC)) {
		t.Error("a clock before the floor was trusted")
	}
	if !c2.Trusted(now.Add(2 * time.Hour)) {
		t.Error("a synchronised clock past the floor was not trusted")
	}
	if got := floor2.Time(); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("floor %v, want the latest trusted time", got)
	}
}

func TestTimeFloorWritesRarely(t *testing.T) {
	path := filepath.Join(t.TempDir(), FloorFile)
	f, _ := LoadTimeFloor(path)
	t0 := time.Date(2025, 3, 4, 8, 0, 0, 0, time.UTC)
	if err := f.Raise(t0); err != nil {
		t.Fatal(err)
	}
	f.Raise(t0.Add(10 * time.Minute))
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != "2025-03-04T08:00:00Z" {
		t.Errorf("floor written again after 10 minutes: %q", b)
	}
	f.Raise(t0.Add(61 * time.Minute))
	b, _ = os.ReadFile(path)
	if strings.TrimSpace(string(b)) != "2025-03-04T09:01:00Z" {
		t.Errorf("floor not written after an hour: %q", b)
	}
	f.Raise(t0) // never down
	if !f.Time().Equal(t0.Add(61 * time.Minute)) {
		t.Errorf("floor went down to %v", f.Time())
	}
}

func TestTimeFloorDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), FloorFile)
	os.WriteFile(path, []byte("yesterday\n"), 0o644)
	f, err := LoadTimeFloor(path)
	if err == nil || !strings.HasPrefix(err.Error(), "schedule: ") || !f.Time().IsZero() {
		t.Fatalf("damaged floor: %v %v", f.Time(), err)
	}
}
