package apply

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/room/policy"
	"github.com/roomd/roomd/schedule"
)

// logOf is a logger writing into b.
func logOf(b *testtool.LockedBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

type capsLog struct {
	mu   sync.Mutex
	caps call.Caps
	err  error
}

func (c *capsLog) SetCaps(v call.Caps) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.caps = v
	return nil
}

func (c *capsLog) get() call.Caps { c.mu.Lock(); defer c.mu.Unlock(); return c.caps }

// A bundle's PINs, time zone, media caps, display and camera settings and
// calendar reach the running parts; an empty configuration (the rollback
// to local values) returns each to the configuration file's.
func TestApplier(t *testing.T) {
	rm := room.New(room.Options{})
	runner, err := schedule.New(schedule.Options{Room: rm, Config: schedule.Config{RoomZone: "Europe/Berlin"}})
	if err != nil {
		t.Fatal(err)
	}
	var logs testtool.LockedBuffer
	caps := &capsLog{}
	rules := policy.New(rm, nil, logOf(&logs))
	to := Targets{PINs: policy.NewPINs(testtool.PINHash(t, "1234"), "", logOf(&logs)), Schedule: runner, Caps: caps, Policy: rules}
	a := New(to, logOf(&logs))
	fleetPIN := testtool.PINHash(t, "4711")
	cfg := provisioning.Config{
		Room:    provisioning.RoomConfig{TimeZone: "America/New_York"},
		PINs:    provisioning.PINConfig{SerialHash: fleetPIN},
		Media:   provisioning.MediaCaps{MaxWidth: 640, MaxHeight: 360, MaxFPS: 15, MaxBitrateKbps: 800},
		Display: provisioning.DisplayConfig{SleepAfterMinutes: 10, Brightness: 70},
		Camera:  provisioning.CameraConfig{PrivacyDefault: true},
	}
	if err := a.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if runner.Zone().String() != "America/New_York" {
		t.Errorf("zone %v", runner.Zone())
	}
	if got := caps.get(); got != (call.Caps{MaxWidth: 640, MaxHeight: 360, MaxFPS: 15, MaxBitrate: 800_000}) {
		t.Errorf("caps %+v", got)
	}
	if string(to.PINs.SerialHash()) != fleetPIN {
		t.Error("serial PIN not applied")
	}
	if set, known := rules.Settings(); set != (policy.Settings{DisplaySleep: 10 * time.Minute, PrivacyDefault: true}) || !known {
		t.Errorf("policy %+v %v", set, known)
	}
	if n := a.Unapplied(); !strings.Contains(logs.String(), "no backlight") || len(n) != 1 || !strings.Contains(n[0], "display.brightness 70% is not applied") {
		t.Errorf("brightness not applied, and the log or the health notes do not say so: %q", n)
	}

	// The caps refused: an error, so the client rolls the bundle back.
	caps.err = call.ErrBadCaps
	if err := a.Apply(context.Background(), cfg); !errors.Is(err, call.ErrBadCaps) {
		t.Errorf("refused caps: %v", err)
	}
	caps.err = nil
	// A zone the runner cannot take is an error too (a bundle is validated
	// before; this is the last line).
	if err := a.Apply(context.Background(), provisioning.Config{Room: provisioning.RoomConfig{TimeZone: "Mars/Olympus_Mons"}}); err == nil {
		t.Error("unknown zone applied")
	}
	if runner.Zone().String() != "America/New_York" {
		t.Errorf("a refused zone changed the zone to %v", runner.Zone())
	}

	if err := a.Apply(context.Background(), provisioning.Config{}); err != nil {
		t.Fatal(err)
	}
	if runner.Zone().String() != "Europe/Berlin" || caps.get() != (call.Caps{}) || string(to.PINs.SerialHash()) == fleetPIN {
		t.Errorf("not back to local values: zone %v, caps %+v", runner.Zone(), caps.get())
	}
	if set, _ := rules.Settings(); set != (policy.Settings{}) {
		t.Errorf("policy not back to local: %+v", set)
	}

	// The calendar: a feed URL is fetched by the schedule, a bad one refused.
	if err := Calendar(runner, provisioning.CalendarConfig{FeedURL: "https://cal.example/room.ics"}); err != nil {
		t.Errorf("feed URL: %v", err)
	}
	if err := Calendar(runner, provisioning.CalendarConfig{FeedURL: "http://cal.example/room.ics"}); err == nil {
		t.Error("a plain-http feed was taken")
	}
	if err := Calendar(runner, provisioning.CalendarConfig{}); err != nil {
		t.Errorf("no calendar: %v", err)
	}
	if err := Calendar(nil, provisioning.CalendarConfig{ICS: "BEGIN:VCALENDAR"}); err == nil {
		t.Error("a calendar for a room without a schedule was taken")
	}
	if err := Calendar(nil, provisioning.CalendarConfig{}); err != nil {
		t.Errorf("no calendar, no schedule: %v", err)
	}
}

// The bundle's room directory reaches the room's state, in the fleet's
// order; a bundle without one (the rollback) empties it.
func TestApplierDirectory(t *testing.T) {
	rm := room.New(room.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rm.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	a := New(Targets{Room: rm}, nil)
	dir := []provisioning.DirectoryEntry{{Name: "Oslo — Fjord", URI: "sips:fjord@rooms.example.com"}, {Name: "Bergen", URI: "sip:bergen@10.0.0.7"}}
	if err := a.Apply(context.Background(), provisioning.Config{Directory: dir}); err != nil {
		t.Fatal(err)
	}
	if err := rm.Alive(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []room.DirectoryEntry{{Name: "Oslo — Fjord", URI: "sips:fjord@rooms.example.com"}, {Name: "Bergen", URI: "sip:bergen@10.0.0.7"}}
	if got := rm.Snapshot().Directory; !slices.Equal(got, want) {
		t.Errorf("room directory %+v, want %+v", got, want)
	}
	if err := a.Apply(context.Background(), provisioning.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := rm.Alive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rm.Snapshot().Directory; got != nil {
		t.Errorf("after the rollback the room still lists %+v", got)
	}

	// No room to apply it to: said, not an error.
	var logs testtool.LockedBuffer
	if err := New(Targets{}, logOf(&logs)).Apply(context.Background(), provisioning.Config{Directory: dir}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "room directory has nothing to apply to") {
		t.Errorf("log says %q", logs.String())
	}
}

// A bundle's bad PIN hash is refused and nothing of it changes the PINs.
func TestApplierBadPIN(t *testing.T) {
	local := testtool.PINHash(t, "1234")
	pins := policy.NewPINs(local, "", nil)
	a := New(Targets{PINs: pins}, nil)
	if err := a.Apply(context.Background(), provisioning.Config{PINs: provisioning.PINConfig{SerialHash: "4711"}}); err == nil {
		t.Fatal("a PIN that is not a bcrypt hash was applied")
	}
	if string(pins.SerialHash()) != local {
		t.Fatal("a refused bundle changed the PIN")
	}
}
