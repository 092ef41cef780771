package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
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

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedLog) String() string       { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
func (l *lockedLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

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
func TestFleetApplier(t *testing.T) {
	rm := room.New(room.Options{})
	runner, err := schedule.New(schedule.Options{Room: rm, Config: schedule.Config{RoomZone: "Europe/Berlin"}})
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedLog
	caps := &capsLog{}
	rules := policy.New(rm, nil, logs.logger())
	to := fleetTargets{pins: policy.NewPINs(testtool.PINHash(t, "1234"), "", logs.logger()), runner: runner, caps: caps, policy: rules}
	a := &fleetApplier{to: to, log: logs.logger()}
	fleetPIN := testtool.PINHash(t, "4711")
	cfg := provisioning.Config{
		Room:    provisioning.RoomConfig{TimeZone: "America/New_York"},
		PINs:    provisioning.PINConfig{SerialHash: fleetPIN},
		Media:   provisioning.MediaCaps{MaxWidth: 640, MaxHeight: 360, MaxFPS: 15, MaxBitrateKbps: 800},
		Display: provisioning.DisplayConfig{SleepAfterMinutes: 10, Brightness: 70},
		Camera:  provisioning.CameraConfig{PrivacyDefault: true},
	}
	if err := a.apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if runner.Zone().String() != "America/New_York" {
		t.Errorf("zone %v", runner.Zone())
	}
	if got := caps.get(); got != (call.Caps{MaxWidth: 640, MaxHeight: 360, MaxFPS: 15, MaxBitrate: 800_000}) {
		t.Errorf("caps %+v", got)
	}
	if string(to.pins.SerialHash()) != fleetPIN {
		t.Error("serial PIN not applied")
	}
	if set, known := rules.Settings(); set != (policy.Settings{DisplaySleep: 10 * time.Minute, PrivacyDefault: true}) || !known {
		t.Errorf("policy %+v %v", set, known)
	}
	if !strings.Contains(logs.String(), "no brightness control") {
		t.Error("brightness not applied, and the log does not say so")
	}

	// The caps refused: an error, so the client rolls the bundle back.
	caps.err = call.ErrBadCaps
	if err := a.apply(context.Background(), cfg); !errors.Is(err, call.ErrBadCaps) {
		t.Errorf("refused caps: %v", err)
	}
	caps.err = nil
	// A zone the runner cannot take is an error too (a bundle is validated
	// before; this is the last line).
	if err := a.apply(context.Background(), provisioning.Config{Room: provisioning.RoomConfig{TimeZone: "Mars/Olympus_Mons"}}); err == nil {
		t.Error("unknown zone applied")
	}
	if runner.Zone().String() != "America/New_York" {
		t.Errorf("a refused zone changed the zone to %v", runner.Zone())
	}

	if err := a.apply(context.Background(), provisioning.Config{}); err != nil {
		t.Fatal(err)
	}
	if runner.Zone().String() != "Europe/Berlin" || caps.get() != (call.Caps{}) || string(to.pins.SerialHash()) == fleetPIN {
		t.Errorf("not back to local values: zone %v, caps %+v", runner.Zone(), caps.get())
	}
	if set, _ := rules.Settings(); set != (policy.Settings{}) {
		t.Errorf("policy not back to local: %+v", set)
	}

	// The calendar: a feed URL is fetched by the schedule, a bad one refused.
	if err := applyCalendar(runner, provisioning.CalendarConfig{FeedURL: "https://cal.example/room.ics"}); err != nil {
		t.Errorf("feed URL: %v", err)
	}
	if err := applyCalendar(runner, provisioning.CalendarConfig{FeedURL: "http://cal.example/room.ics"}); err == nil {
		t.Error("a plain-http feed was taken")
	}
	if err := applyCalendar(runner, provisioning.CalendarConfig{}); err != nil {
		t.Errorf("no calendar: %v", err)
	}
	if err := applyCalendar(nil, provisioning.CalendarConfig{ICS: "BEGIN:VCALENDAR"}); err == nil {
		t.Error("a calendar for a room without a schedule was taken")
	}
	if err := applyCalendar(nil, provisioning.CalendarConfig{}); err != nil {
		t.Errorf("no calendar, no schedule: %v", err)
	}
}

// A bundle's bad PIN hash is refused and nothing of it changes the PINs.
func TestFleetApplierBadPIN(t *testing.T) {
	local := testtool.PINHash(t, "1234")
	pins := policy.NewPINs(local, "", nil)
	a := &fleetApplier{to: fleetTargets{pins: pins}, log: slog.New(slog.DiscardHandler)}
	if err := a.apply(context.Background(), provisioning.Config{PINs: provisioning.PINConfig{SerialHash: "4711"}}); err == nil {
		t.Fatal("a PIN that is not a bcrypt hash was applied")
	}
	if string(pins.SerialHash()) != local {
		t.Fatal("a refused bundle changed the PIN")
	}
}

// fleetCounter counts what the room asked of the provisioning client.
type fleetCounter struct {
	codes  chan string
	nudges chan struct{}
}

func (f *fleetCounter) Enroll(code string) { f.codes <- code }
func (f *fleetCounter) Nudge()             { f.nudges <- struct{}{} }

// The room's enrollment codes and poll requests reach the provisioning
// client made after it, through the queue made before it.
func TestFleetRequests(t *testing.T) {
	q := newFleetRequests()
	rm := room.New(room.Options{Devices: room.Devices{Fleet: q}})
	ctx, cancel := context.WithCancel(context.Background())
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); rm.Run(ctx) }()
	<-rm.Ready()
	// The room asks before the client exists; the request waits.
	do := func(a room.Action) {
		t.Helper()
		if err := rm.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: a}); err != nil {
			t.Fatal(err)
		}
	}
	do(room.Enroll{Code: "ABCD-EFGH"})
	f := &fleetCounter{codes: make(chan string, 4), nudges: make(chan struct{}, 4)}
	done := make(chan struct{})
	go func() { defer close(done); q.run(ctx, f) }()
	defer func() { cancel(); <-done; <-roomDone }()
	select {
	case code := <-f.codes:
		if code != "ABCD-EFGH" {
			t.Fatalf("code %q", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the activation code did not reach the client")
	}
	do(room.PollNow{})
	select {
	case <-f.nudges:
	case <-time.After(10 * time.Second):
		t.Fatal("the poll request did not reach the client")
	}
	// Requests never block the room, even with nobody draining them.
	q2 := newFleetRequests()
	for range 10 {
		q2.Enroll("x")
		q2.Nudge()
	}
}

// The policy's call summary reaches the health report field by field; no
// call, no summary.
func TestFleetCallQuality(t *testing.T) {
	if q := callQuality(nil); q != nil {
		t.Fatalf("no call: %+v", q)
	}
	got := callQuality(&policy.CallSummary{Calls: 2, Minutes: 29.5, AvgRTTMillis: 30, AvgLossPct: 1.5, Reconnects: 1})
	if want := (provisioning.CallQuality{Calls: 2, Minutes: 29.5, AvgRTTMillis: 30, AvgLossPct: 1.5, Reconnects: 1}); got == nil || *got != want {
		t.Fatalf("health report %+v, want %+v", got, want)
	}
}
