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

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/schedule"
)

func hashOf(t *testing.T, pin string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

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

// fakeConsole is the serial console's PIN setter; it refuses while fail.
type fakeConsole struct {
	mu   sync.Mutex
	hash []byte
	fail bool
}

func (c *fakeConsole) SetPINHash(h []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("serial: refused")
	}
	c.hash = h
	return nil
}

func (c *fakeConsole) get() string { c.mu.Lock(); defer c.mu.Unlock(); return string(c.hash) }

// The fleet's PINs replace the configuration file's at once (the serial
// console follows; the panel reads PanelHash), empty fields return to the
// file's, and a bad hash or a console refusing changes nothing.
func TestFleetPINs(t *testing.T) {
	var logs lockedLog
	localSerial, localPanel := hashOf(t, "1234"), hashOf(t, "5678")
	fleetSerial, fleetPanel := hashOf(t, "4711"), hashOf(t, "8080")
	p := newPINs(localSerial, localPanel, logs.logger())
	con := &fakeConsole{}
	// The fleet's PINs may arrive before the console runs.
	if err := p.apply(provisioning.PINConfig{SerialHash: fleetSerial}); err != nil {
		t.Fatal(err)
	}
	if err := p.attachConsole(con); err != nil {
		t.Fatal(err)
	}
	if con.get() != fleetSerial {
		t.Fatal("the console did not get the fleet's PIN that came before it")
	}
	if err := p.apply(provisioning.PINConfig{SerialHash: fleetSerial, PanelHash: fleetPanel}); err != nil {
		t.Fatal(err)
	}
	check := func(serial, panel string) {
		t.Helper()
		if string(p.SerialHash()) != serial || string(p.PanelHash()) != panel || con.get() != serial {
			t.Fatalf("serial %q (console %q), panel %q; want %q, %q", p.SerialHash(), con.get(), p.PanelHash(), serial, panel)
		}
	}
	check(fleetSerial, fleetPanel)
	if bcrypt.CompareHashAndPassword(p.PanelHash(), []byte("8080")) != nil {
		t.Fatal("the panel's hash does not take the fleet's PIN")
	}
	for _, bad := range []provisioning.PINConfig{{SerialHash: "4711"}, {PanelHash: "$2b$10$short"}, {SerialHash: hashOf(t, "1"), PanelHash: "x"}} {
		if err := p.apply(bad); err == nil {
			t.Errorf("apply(%+v) accepted", bad)
		}
		check(fleetSerial, fleetPanel)
	}
	con.fail = true
	if err := p.apply(provisioning.PINConfig{SerialHash: hashOf(t, "9999"), PanelHash: hashOf(t, "9998")}); err == nil {
		t.Error("a console refusing the hash went unreported")
	}
	con.fail = false
	check(fleetSerial, fleetPanel)
	if err := p.apply(provisioning.PINConfig{}); err != nil {
		t.Fatal(err)
	}
	check(localSerial, localPanel)

	// Without a panel PIN the panel takes the console's in force.
	q := newPINs(localSerial, "", logs.logger())
	if string(q.PanelHash()) != localSerial {
		t.Error("no panel PIN: the panel does not fall back to the console's")
	}
	if err := q.apply(provisioning.PINConfig{SerialHash: fleetSerial}); err != nil {
		t.Fatal(err)
	}
	if string(q.PanelHash()) != fleetSerial {
		t.Error("no panel PIN: the panel does not take the fleet's console PIN")
	}
	for _, secret := range []string{localSerial, localPanel, fleetSerial, fleetPanel, "4711", "8080"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

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
	policy := newRoomPolicy(rm, nil, logs.logger())
	to := fleetTargets{pins: newPINs(hashOf(t, "1234"), "", logs.logger()), runner: runner, caps: caps, policy: policy}
	a := &fleetApplier{to: to, log: logs.logger()}
	fleetPIN := hashOf(t, "4711")
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
	if sleep, privacy, known := policy.get(); sleep != 10*time.Minute || !privacy || !known {
		t.Errorf("policy %v %v %v", sleep, privacy, known)
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
	if sleep, privacy, _ := policy.get(); sleep != 0 || privacy {
		t.Errorf("policy not back to local: %v %v", sleep, privacy)
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

// instantCalls connects at once and ends at once.
type instantCalls struct{ rm *room.Room }

func (e *instantCalls) Start(_ context.Context, seq uint64, _ room.Meeting) {
	go e.rm.Report(room.CallReported{Seq: seq, State: room.InCall})
}
func (e *instantCalls) End(seq uint64) { go e.rm.Report(room.CallReported{Seq: seq, State: room.Idle}) }

// The display sleeps after the fleet's idle time and wakes when the room is
// used; camera privacy goes on at start-up and after each call.
func TestFleetRoomPolicy(t *testing.T) {
	eng := &instantCalls{}
	rm := room.New(room.Options{Devices: room.Devices{Calls: eng}, Settings: &room.Settings{Name: "R", DefaultVolume: 50, VolumeStep: 5, Presets: 4}})
	eng.rm = rm
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); rm.Run(ctx) }()
	<-rm.Ready()
	panel := func(a room.Action) {
		t.Helper()
		if err := rm.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: a}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(what string, ok func(room.State) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(rm.Snapshot()); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, rm.Snapshot())
			}
		}
	}
	panel(room.SetDisplayPower{On: true})
	wait("display on", func(s room.State) bool { return s.DisplayPower })

	clk := clockwork.NewFakeClock()
	var logs lockedLog
	p := newRoomPolicy(rm, clk, logs.logger())
	p.set(10*time.Minute, true)
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	defer func() { cancel(); <-done; <-roomDone }()
	wait("privacy on at start-up", func(s room.State) bool { return s.CameraPrivacy })

	// settle waits until the policy waits on its clock again: it has
	// done whatever the last change asked of it.
	settle := func() {
		t.Helper()
		bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
		defer bcancel()
		if err := clk.BlockUntilContext(bctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	advance := func(d time.Duration) {
		t.Helper()
		settle()
		clk.Advance(d)
	}
	advance(9 * time.Minute)
	settle()
	if !rm.Snapshot().DisplayPower {
		t.Fatal("display off before the idle time")
	}
	advance(time.Minute + time.Second)
	wait("display asleep", func(s room.State) bool { return !s.DisplayPower })

	// Someone in the room: the display wakes.
	panel(room.SetVolume{Level: 30})
	wait("display awake", func(s room.State) bool { return s.DisplayPower })

	// A call: no sleep during it however long; privacy back on after it.
	panel(room.SetCameraPrivacy{On: false})
	panel(room.Join{Meeting: room.Meeting{URI: "janus+wss://sfu.example/janus?room=1"}})
	wait("in call", func(s room.State) bool { return s.Call == room.InCall && !s.CameraPrivacy })
	advance(2 * time.Hour)
	settle()
	if s := rm.Snapshot(); !s.DisplayPower || s.CameraPrivacy {
		t.Fatalf("during the call: display %v, privacy %v", s.DisplayPower, s.CameraPrivacy)
	}
	panel(room.Leave{})
	wait("privacy on after the call", func(s room.State) bool { return s.Call == room.Idle && s.CameraPrivacy })

	// The fleet turns the sleep off: the display stays on.
	p.set(0, false)
	advance(24 * time.Hour)
	settle()
	if !rm.Snapshot().DisplayPower {
		t.Fatal("display slept with sleep off")
	}
}
