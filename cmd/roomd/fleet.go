package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/schedule"
)

// ProvisioningConfig is the [provisioning] table.
type ProvisioningConfig struct {
	Server         string       `toml:"server"`          // fleet server URL; "" = standalone
	ActivationCode string       `toml:"activation_code"` // enroll with this code at start
	CodeFile       string       `toml:"code_file"`       // or read the code from this file (boot partition)
	CAFile         string       `toml:"ca_file"`         // PEM roots for the first contact; default: the system's
	StartDelay     hal.Duration `toml:"start_delay"`     // random wait before the first poll, default 30s
	// Preregistered: the device key was registered with its room at the
	// factory, so the device enrolls without a code.
	Preregistered bool `toml:"preregistered"`
}

func (p ProvisioningConfig) validate() error {
	if p.Server == "" && (p.ActivationCode != "" || p.CodeFile != "" || p.Preregistered) {
		return fmt.Errorf("provisioning: an activation code or preregistered = true needs provisioning.server")
	}
	return nil
}

// fleetTargets are the parts of the running room a bundle reconfigures
// beyond the room's settings. Nil fields are parts this room does not have.
type fleetTargets struct {
	pins   *pins
	runner *schedule.Runner // time zone and calendar
	caps   capsSetter       // the call engine
	policy *roomPolicy      // display sleep and camera privacy default
	// setAside is told when the store kept a damaged file aside.
	setAside func()
}

// capsSetter is the call engine as the fleet sees it; *call.Engine.
type capsSetter interface{ SetCaps(call.Caps) error }

// newFleet makes the provisioning client for rm; nil when standalone.
func newFleet(cfg *Config, rm *room.Room, to fleetTargets, cq *callQuality, board string, started time.Time, log *slog.Logger) (*provisioning.Client, error) {
	p := cfg.Provisioning
	if p.Server == "" {
		return nil, nil
	}
	var roots *x509.CertPool
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("provisioning: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("provisioning: %s holds no PEM certificate", p.CAFile)
		}
	}
	return provisioning.NewClient(provisioning.ClientOptions{
		Server:         p.Server,
		Dir:            filepath.Join(cfg.StateDir, "provisioning"),
		ActivationCode: p.ActivationCode,
		CodeFile:       p.CodeFile,
		Preregistered:  p.Preregistered,
		RootCAs:        roots,
		Room:           rm,
		StartDelay:     time.Duration(p.StartDelay),
		Hardware:       provisioning.Hardware{Board: board, Software: version, Serial: boardSerial()},
		Calendar:       func(c provisioning.CalendarConfig) error { return applyCalendar(to.runner, c) },
		Apply:          (&fleetApplier{to: to, log: log}).apply,
		Health: func() provisioning.HealthReport {
			s := rm.Snapshot()
			h := provisioning.HealthReport{Software: version, UptimeSeconds: int64(time.Since(started).Seconds()), Hardware: map[string]string{},
				CallQuality: cq.take(time.Now())}
			for _, d := range s.Hardware {
				v := d.State
				if d.Reason != "" {
					v += ": " + d.Reason
				}
				h.Hardware[d.Name] = v
			}
			reportSavedState(s, &h)
			reportDamagedFiles(s, &h)
			return h
		},
		SetAside: to.setAside,
		Log:      log,
	})
}

// boardSerial is the board's serial number where the firmware publishes
// one (Raspberry Pi: the device tree), "" elsewhere; fleetd may check it
// against a factory registration.
func boardSerial() string {
	b, err := os.ReadFile("/sys/firmware/devicetree/base/serial-number")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.Trim(string(b), "\x00"))
}

// applyCalendar gives the schedule the fleet's calendar: a feed it fetches,
// an inline calendar, or none (the configuration file's feed only).
func applyCalendar(runner *schedule.Runner, c provisioning.CalendarConfig) error {
	if runner == nil {
		if c.FeedURL == "" && c.ICS == "" {
			return nil
		}
		return fmt.Errorf("provisioning: the room has no schedule to take the calendar")
	}
	if c.FeedURL != "" {
		return runner.SetFleetFeed(c.FeedURL)
	}
	return runner.SetFleetCalendar([]byte(c.ICS))
}

// fleetApplier carries what a bundle sets beyond the room's settings and
// calendar into the running room, without a restart. Zero fields return a
// part to the configuration file's value, so the provisioning client's
// rollback (applying the previous bundle, or an empty one) undoes a bundle
// that failed half-way.
type fleetApplier struct {
	to  fleetTargets
	log *slog.Logger
}

func (a *fleetApplier) apply(_ context.Context, c provisioning.Config) error {
	if a.to.pins != nil {
		if err := a.to.pins.apply(c.PINs); err != nil {
			return err
		}
	}
	if a.to.runner != nil {
		if err := a.to.runner.SetZone(c.Room.TimeZone); err != nil {
			return err
		}
	} else if c.Room.TimeZone != "" {
		a.log.Warn("roomd: the fleet's time zone has nothing to apply to: this room has no schedule", "zone", c.Room.TimeZone)
	}
	if a.to.caps != nil {
		m := c.Media
		if err := a.to.caps.SetCaps(call.Caps{MaxWidth: m.MaxWidth, MaxHeight: m.MaxHeight, MaxFPS: float64(m.MaxFPS), MaxBitrate: m.MaxBitrateKbps * 1000}); err != nil {
			return fmt.Errorf("roomd: media caps: %w", err)
		}
	}
	if a.to.policy != nil {
		a.to.policy.set(time.Duration(c.Display.SleepAfterMinutes)*time.Minute, c.Camera.PrivacyDefault)
	}
	if c.Display.Brightness != 0 {
		// No board roomd knows has a brightness output (HDMI displays take
		// it over DDC/CI or CEC, which roomd does not speak yet).
		a.log.Warn("roomd: the fleet's display brightness is not applied: this board has no brightness control", "brightness", c.Display.Brightness)
	}
	return nil
}

// policyRoom is the room as the display and camera policy sees it.
type policyRoom interface {
	Do(ctx context.Context, c room.Command) error
	Watch(ctx context.Context) <-chan room.Update
}

// roomPolicy carries out the fleet's display and camera settings: the
// display goes off after SleepAfter without a call, a join offer, anyone
// present or anyone touching the room, and comes back on with any of them;
// with PrivacyDefault, camera privacy goes on at start-up and after each
// call.
type roomPolicy struct {
	room  policyRoom
	clock clockwork.Clock
	log   *slog.Logger

	mu      sync.Mutex
	sleep   time.Duration // 0: never
	privacy bool
	known   bool // set has been called: the configuration in force is known
	changed chan struct{}
}

func newRoomPolicy(rm policyRoom, clock clockwork.Clock, log *slog.Logger) *roomPolicy {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &roomPolicy{room: rm, clock: clock, log: log, changed: make(chan struct{}, 1)}
}

// set changes the policy; it never blocks.
func (p *roomPolicy) set(sleep time.Duration, privacyDefault bool) {
	p.mu.Lock()
	p.sleep, p.privacy, p.known = sleep, privacyDefault, true
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

func (p *roomPolicy) get() (sleep time.Duration, privacy, known bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sleep, p.privacy, p.known
}

// busy says whether the room is in use, so the display must stay on.
func busy(s room.State) bool {
	return s.Call.Active() || !s.JoinOffer.IsZero() || (s.Env.HaveOccupancy && s.Env.Occupied)
}

// touched says whether someone did something in the room between two states.
func touched(prev, s room.State) bool {
	return prev.MicMute != s.MicMute || prev.Volume != s.Volume || prev.CameraPrivacy != s.CameraPrivacy ||
		prev.CameraPreset != s.CameraPreset || (!prev.DisplayPower && s.DisplayPower) || prev.Call != s.Call
}

// run follows the room until ctx ends.
func (p *roomPolicy) run(ctx context.Context) {
	from := room.Source{Kind: room.FromFleet, ID: "policy"}
	do := func(a room.Action, what string) {
		if err := p.room.Do(ctx, room.Command{From: from, Do: a}); err != nil && ctx.Err() == nil {
			p.log.Warn("roomd: "+what+" failed", "err", err)
		}
	}
	updates := p.room.Watch(ctx)
	timer := p.clock.NewTimer(time.Hour)
	defer timer.Stop()
	var (
		st         room.State
		have       bool
		lastActive = p.clock.Now()
		asleep     bool // the display is off because of this policy
		startedUp  bool // the start-up privacy default is done
	)
	for {
		sleep, privacy, known := p.get()
		if have && known && !startedUp {
			startedUp = true
			if privacy && !st.CameraPrivacy && !st.Call.Active() {
				p.log.Info("roomd: camera privacy on at start-up (fleet privacy default)")
				do(room.SetCameraPrivacy{On: true}, "camera privacy default")
			}
		}
		wait := time.Hour
		if have && sleep > 0 && st.DisplayPower && !busy(st) {
			if due := lastActive.Add(sleep); p.clock.Now().Before(due) {
				wait = due.Sub(p.clock.Now())
			} else {
				p.log.Info("roomd: display off after idle", "idle", p.clock.Since(lastActive).Round(time.Second))
				asleep = true
				do(room.SetDisplayPower{On: false}, "display sleep")
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			prev := st
			st = u.State
			if !have {
				have = true
				continue
			}
			if busy(st) || touched(prev, st) {
				lastActive = p.clock.Now()
				if asleep && !st.DisplayPower {
					p.log.Info("roomd: display on: the room is in use")
					do(room.SetDisplayPower{On: true}, "display wake")
				}
				asleep = false
			}
			if prev.Call.Active() && !st.Call.Active() && privacy && !st.CameraPrivacy {
				p.log.Info("roomd: camera privacy on after the call (fleet privacy default)")
				do(room.SetCameraPrivacy{On: true}, "camera privacy default")
			}
		case <-p.changed:
		case <-timer.Chan():
		}
	}
}

// fleetPort lets the room reach the provisioning client, which is made
// after the room (it needs the room). It is set before the room runs.
type fleetPort struct{ c *provisioning.Client }

func (f *fleetPort) Enroll(code string) {
	if f.c != nil {
		f.c.Enroll(code)
	}
}

func (f *fleetPort) Nudge() {
	if f.c != nil {
		f.c.Nudge()
	}
}

// callQuality sums up calls between two health reports, from the room's
// updates.
type callQuality struct {
	mu         sync.Mutex
	q          provisioning.CallQuality
	rttSum     float64
	lossSum    float64
	samples    int
	inCallFrom time.Time
	lastSeq    uint64
	lastMedia  room.CallMedia
	reconnects bool
}

// watch follows the room until ctx ends.
func (cq *callQuality) watch(ctx context.Context, rm *room.Room) {
	for u := range rm.Watch(ctx) {
		cq.update(u.State, time.Now())
	}
}

func (cq *callQuality) update(s room.State, now time.Time) {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	inCall := s.Call == room.InCall
	if inCall && s.CallSeq != cq.lastSeq {
		cq.q.Calls++
		cq.lastSeq = s.CallSeq
	}
	if s.Call == room.Reconnecting && !cq.reconnects {
		cq.q.Reconnects++
	}
	cq.reconnects = s.Call == room.Reconnecting
	switch {
	case inCall && cq.inCallFrom.IsZero():
		cq.inCallFrom = now
	case !inCall && !cq.inCallFrom.IsZero():
		cq.q.Minutes += now.Sub(cq.inCallFrom).Minutes()
		cq.inCallFrom = time.Time{}
	}
	if inCall && !s.Media.Equal(cq.lastMedia) && s.Media.RTTMillis > 0 {
		cq.rttSum += float64(s.Media.RTTMillis)
		cq.lossSum += s.Media.LossPercent
		cq.samples++
	}
	cq.lastMedia = s.Media
}

// take returns the summary since the last call and starts a new one; nil
// when there was no call.
func (cq *callQuality) take(now time.Time) *provisioning.CallQuality {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	if !cq.inCallFrom.IsZero() {
		cq.q.Minutes += now.Sub(cq.inCallFrom).Minutes()
		cq.inCallFrom = now
	}
	if cq.q.Calls == 0 && cq.q.Minutes == 0 {
		return nil
	}
	q := cq.q
	if cq.samples > 0 {
		q.AvgRTTMillis = int(cq.rttSum / float64(cq.samples))
		q.AvgLossPct = cq.lossSum / float64(cq.samples)
	}
	cq.q, cq.rttSum, cq.lossSum, cq.samples = provisioning.CallQuality{}, 0, 0, 0
	return &q
}

// reseedRoot is `roomd reseed-root`: when no stored trust root verifies
// (xStatus Provisioning State: Failed says so), install one the fleet's
// administrator hands over (fleetd's keys/root-N.json). A running roomd
// takes it at its next poll (xCommand Provisioning PollNow).
func reseedRoot(args []string, stdout, stderr io.Writer) int {
	fs, cfg, code := stateDirCommand("reseed-root", "ROOTFILE", args, stderr)
	if cfg == nil {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	raw, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	r, err := provisioning.ReseedRoot(filepath.Join(cfg.StateDir, "provisioning"), raw)
	if err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	fmt.Fprintf(stdout, "trust root %d of %s is in force; a running roomd takes it at its next poll (xCommand Provisioning PollNow)\n", r.Version, r.OrgID)
	return 0
}
