package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// applyLog is a room's non-settings parts: it records every configuration
// applied and refuses a frame-rate cap of 13, as an engine might refuse a
// cap it cannot honour.
type applyLog struct {
	mu      sync.Mutex
	applied []provisioning.Config
}

func (a *applyLog) apply(_ context.Context, c provisioning.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied = append(a.applied, c)
	if c.Media.MaxFPS == 13 {
		return errors.New("engine refuses 13 fps")
	}
	return nil
}

func (a *applyLog) last() (provisioning.Config, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.applied) == 0 {
		return provisioning.Config{}, 0
	}
	return a.applied[len(a.applied)-1], len(a.applied)
}

// A bundle whose PINs, zone, caps, display or camera settings the running
// room cannot take is rolled back like one the room's settings refuse: the
// previous configuration is applied again, everywhere, and the failure is
// reported. A refused first bundle returns the room to its local values.
func TestApplyFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := startFleet(t, dir)
	f := fs.f
	if err := f.Store.CreateOrg(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	start := func(roomID string, cfg provisioning.Config) (*fakeRoom, *applyLog, *provisioning.Client, string) {
		t.Helper()
		addRoom(t, f, roomID, roomID, &cfg)
		rm, al := &fakeRoom{settings: room.DefaultSettings()}, &applyLog{}
		devDir := filepath.Join(dir, roomID)
		opts := fs.deviceOptions(devDir, rm)
		opts.ActivationCode, opts.Apply = issueCode(t, f, roomID, false), al.apply
		cl, _ := runClient(t, opts)
		return rm, al, cl, devDir
	}

	one := provisioning.Config{Room: provisioning.RoomConfig{Name: "One", TimeZone: "Europe/Oslo"}, Media: provisioning.MediaCaps{MaxFPS: 10}}
	rm, al, cl, _ := start("r1", one)
	waitFor(t, 30*time.Second, "version 1 applied", func() bool {
		s, p := rm.snapshot()
		c, _ := al.last()
		return s.Name == "One" && p.ConfigVersion == 1 && c.Media.MaxFPS == 10 && c.Room.TimeZone == "Europe/Oslo"
	})
	bad := provisioning.Config{Room: provisioning.RoomConfig{Name: "Two", TimeZone: "Asia/Tokyo"}, Media: provisioning.MediaCaps{MaxFPS: 13}}
	if err := f.SetConfig(ctx, "acme", "r1", bad); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "version 2 rolled back", func() bool {
		s, p := rm.snapshot()
		c, _ := al.last()
		return s.Name == "One" && p.ConfigVersion == 1 && strings.Contains(p.Detail, "version 2 could not be applied") &&
			c.Media.MaxFPS == 10 && c.Room.TimeZone == "Europe/Oslo"
	})
	if b := cl.InForce(); b == nil || b.Version != 1 {
		t.Fatalf("in force after the rollback: %+v", b)
	}
	// The refused version is not fetched and applied again: three polls
	// later (each leaves a report in fleetd) nothing more was applied.
	wantNoReapply(t, f, al, 10)
	waitFor(t, 30*time.Second, "the failure reported to fleetd", func() bool {
		hs, err := f.Store.Fleet(ctx, "acme")
		if err != nil || len(hs) != 1 || hs[0].Report == "" {
			return false
		}
		var r provisioning.HealthReport
		return json.Unmarshal([]byte(hs[0].Report), &r) == nil && r.ConfigVersion == 1 &&
			strings.Contains(strings.Join(r.LastErrors, " "), "engine refuses 13 fps")
	})

	// A first bundle that cannot be applied: back to the local values, and
	// nothing left on disk to boot into.
	rm2, al2, cl2, devDir := start("r2", bad)
	waitFor(t, 30*time.Second, "first bundle rolled back", func() bool {
		c, n := al2.last()
		s, p := rm2.snapshot()
		return n >= 2 && s.Name == room.DefaultSettings().Name && p.State == room.Enrolled && p.ConfigVersion == 0 &&
			strings.Contains(p.Detail, "version 1 could not be applied; the local configuration stays in force") &&
			c.Media.MaxFPS == 0 && c.Room.TimeZone == ""
	})
	if b := cl2.InForce(); b != nil {
		t.Errorf("in force after refusing the first bundle: version %d", b.Version)
	}
	if _, err := os.Stat(filepath.Join(devDir, "config", "bundle.current")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused first bundle is still current on disk: %v", err)
	}
	// A good version after it is taken.
	if err := f.SetConfig(ctx, "acme", "r2", one); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a good version after a refused first", func() bool {
		s, p := rm2.snapshot()
		return s.Name == "One" && p.ConfigVersion == 2 && p.Detail == ""
	})
}

// A stored bundle the room cannot take at boot (say, new software refuses
// a cap the old one took) is rolled back to the one before it, and that
// version is not fetched again.
func TestBootRollsBackStoredBundle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := startFleet(t, dir)
	f := fs.f
	seedFleet(t, f, "r1", "R1", &provisioning.Config{Room: provisioning.RoomConfig{Name: "One"}, Media: provisioning.MediaCaps{MaxFPS: 10}})
	code := issueCode(t, f, "r1", false)
	devDir := filepath.Join(dir, "dev")
	run := func(refuse int) (*fakeRoom, *applyLog, func()) {
		rm := &fakeRoom{settings: room.DefaultSettings()}
		al := &applyLog{}
		opts := fs.deviceOptions(devDir, rm)
		opts.ActivationCode = code
		opts.Apply = func(ctx context.Context, c provisioning.Config) error {
			if c.Media.MaxFPS == refuse {
				al.apply(ctx, c)
				return errors.New("this software refuses that cap")
			}
			return al.apply(ctx, c)
		}
		_, stop := runClient(t, opts)
		return rm, al, stop
	}
	rm, _, stop := run(-1)
	waitFor(t, 30*time.Second, "version 1", func() bool { _, p := rm.snapshot(); return p.ConfigVersion == 1 })
	if err := f.SetConfig(ctx, "acme", "r1", provisioning.Config{Room: provisioning.RoomConfig{Name: "Two"}, Media: provisioning.MediaCaps{MaxFPS: 12}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "version 2", func() bool { s, p := rm.snapshot(); return p.ConfigVersion == 2 && s.Name == "Two" })
	stop()

	// The new software refuses 12 fps.
	var al *applyLog
	rm, al, _ = run(12)
	waitFor(t, 30*time.Second, "rolled back to version 1 at boot", func() bool {
		s, p := rm.snapshot()
		c, _ := al.last()
		return p.ConfigVersion == 1 && s.Name == "One" && c.Media.MaxFPS == 10 && strings.Contains(p.Detail, "version 2 could not be applied")
	})
	wantNoReapply(t, f, al, 10)
}
