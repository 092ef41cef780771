package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/provisioning/roomport"
	"github.com/roomd/roomd/room"
)

// fakeRoom applies settings edits like room.Room and records reports.
type fakeRoom struct {
	mu       sync.Mutex
	settings room.Settings
	prov     room.Provisioning
}

func (r *fakeRoom) Do(_ context.Context, c room.Command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := c.Do.(room.EditSettings)
	if !ok || c.From.Kind != room.FromFleet {
		return errors.New("unexpected command")
	}
	s, err := e.Edit(r.settings)
	if err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	r.settings = s
	return nil
}

func (r *fakeRoom) Report(rep room.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := rep.(room.ProvisioningReported); ok {
		r.prov = p.Provisioning
	}
}

func (r *fakeRoom) snapshot() (room.Settings, room.Provisioning) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settings, r.prov
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type testServer struct {
	f    *Fleet
	srv  *http.Server
	addr string

	mu      sync.Mutex
	answers map[answer]int
}

func startFleet(t *testing.T, dir string) *testServer {
	t.Helper()
	return startReplica(t, filepath.Join(dir, "fleet.db"), filepath.Join(dir, "keys"))
}

func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := startFleet(t, dir)
	f := fs.f
	vol := 30
	seedFleet(t, f, "fjord", "Fjord", &provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord", DefaultVolume: &vol, TimeZone: "Europe/Oslo"}, Security: provisioning.SecurityConfig{Unmute: "anyone"}})
	code := issueCode(t, f, "fjord", false)
	rm := &fakeRoom{settings: room.DefaultSettings()}
	var calMu sync.Mutex
	var cal provisioning.CalendarConfig
	poll := 300 * time.Millisecond
	opts := fs.deviceOptions(filepath.Join(dir, "device"), rm)
	opts.ActivationCode, opts.StartDelay, opts.Poll = code, 50*time.Millisecond, poll
	opts.Calendar = func(c provisioning.CalendarConfig) error {
		if strings.Contains(c.FeedURL, "broken") {
			return errors.New("calendar feed unreachable")
		}
		calMu.Lock()
		cal = c
		calMu.Unlock()
		return nil
	}
	opts.Health = func() provisioning.HealthReport { return provisioning.HealthReport{Software: "test", UptimeSeconds: 5} }
	_, stop := runClient(t, opts)

	waitFor(t, 10*time.Second, "enrollment config", func() bool {
		s, p := rm.snapshot()
		return s.Name == "Fjord" && s.DefaultVolume == 30 && s.Unmute == room.UnmuteAnyone && p.State == room.Enrolled && p.ConfigVersion == 1
	})

	// The code is single use.
	if _, err := f.Store.UseCode(ctx, f.Keys.HashCode(code), time.Now()); !errors.Is(err, errCodeUsed) {
		t.Errorf("code reusable: %v", err)
	}

	// A change on the server arrives within one poll interval (plus jitter).
	changed := time.Now()
	if err := f.SetConfig(ctx, "acme", "fjord", provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjell"}, Calendar: provisioning.CalendarConfig{FeedURL: "https://cal.example/fjell.ics"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "changed config", func() bool {
		s, p := rm.snapshot()
		return s.Name == "Fjell" && p.ConfigVersion == 2
	})
	if el := time.Since(changed); el > poll*6/5+time.Second {
		t.Errorf("change took %v with a %v poll interval", el, poll)
	}
	calMu.Lock()
	if cal.FeedURL != "https://cal.example/fjell.ics" {
		t.Errorf("calendar = %+v", cal)
	}
	calMu.Unlock()

	// A bundle the room cannot take is rolled back: version 2 stays in
	// force, the room says why, and the device stops fetching version 3.
	if err := f.SetConfig(ctx, "acme", "fjord", provisioning.Config{Room: provisioning.RoomConfig{Name: "Broken"}, Calendar: provisioning.CalendarConfig{FeedURL: "https://cal.example/broken.ics"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "rollback", func() bool {
		s, p := rm.snapshot()
		return s.Name == "Fjell" && p.ConfigVersion == 2 && strings.Contains(p.Detail, "version 3 could not be applied")
	})

	// The device's report is visible in fleetd.
	waitFor(t, 10*time.Second, "health report", func() bool {
		hs, err := f.Store.Fleet(ctx, "acme")
		if err != nil || len(hs) != 1 || hs[0].Report == "" {
			return false
		}
		var r provisioning.HealthReport
		return json.Unmarshal([]byte(hs[0].Report), &r) == nil && r.ConfigVersion == 2 && r.Software == "test" &&
			strings.Contains(strings.Join(r.LastErrors, " "), "rolled back")
	})

	// fleetd goes away: the room keeps its configuration.
	fs.srv.Close()
	time.Sleep(3 * poll)
	if s, p := rm.snapshot(); s.Name != "Fjell" || p.ConfigVersion != 2 {
		t.Errorf("after fleetd stopped: %+v %+v", s, p)
	}
	stop()

	// And after a reboot with fleetd still down, it boots into version 2.
	rm2 := &fakeRoom{settings: room.DefaultSettings()}
	opts.Room = roomport.New(rm2)
	runClient(t, opts)
	waitFor(t, 5*time.Second, "config after reboot", func() bool {
		s, p := rm2.snapshot()
		return s.Name == "Fjell" && p.ConfigVersion == 2 && p.State == room.Enrolled
	})
}

func TestEnrollmentRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := startFleet(t, dir)
	f := fs.f
	seedFleet(t, f, "fjord", "Fjord", nil)
	code := issueCode(t, f, "fjord", true)
	rm := &fakeRoom{settings: room.DefaultSettings()}
	opts := fs.deviceOptions(filepath.Join(dir, "dev"), rm)
	opts.ActivationCode, opts.Poll = code, 200*time.Millisecond
	cl, _ := runClient(t, opts)
	approveWhenPending(t, f, rm, cl, code)
	waitFor(t, 40*time.Second, "enrolled after approval", func() bool { _, p := rm.snapshot(); return p.State == room.Enrolled })

	// Expired and unknown codes are refused.
	expired, _ := f.IssueCode(ctx, "acme", "fjord", -time.Minute, false)
	if _, err := f.Store.UseCode(ctx, f.Keys.HashCode(expired), time.Now()); !errors.Is(err, errCodeUsed) {
		t.Errorf("expired code: %v", err)
	}
}
