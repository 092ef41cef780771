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
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/provisioning/roomport"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/room/policy"
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
	pins   *policy.PINs
	runner *schedule.Runner // time zone and calendar
	caps   capsSetter       // the call engine
	policy *policy.Policy   // display sleep and camera privacy default
	// setAside is told when the store kept a damaged file aside.
	setAside func()
}

// capsSetter is the call engine as the fleet sees it; *call.Engine.
type capsSetter interface{ SetCaps(call.Caps) error }

// newFleet makes the provisioning client for rm; nil when standalone.
func newFleet(cfg *Config, rm fleetRoom, to fleetTargets, cq *policy.CallQuality, board string, started time.Time, log *slog.Logger) (*provisioning.Client, error) {
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
		Room:           roomport.New(rm),
		StartDelay:     time.Duration(p.StartDelay),
		Hardware:       provisioning.Hardware{Board: board, Software: version, Serial: boardSerial()},
		Calendar:       func(c provisioning.CalendarConfig) error { return applyCalendar(to.runner, c) },
		Apply:          (&fleetApplier{to: to, log: log}).apply,
		Health: func() provisioning.HealthReport {
			s := rm.Snapshot()
			h := provisioning.HealthReport{Software: version, UptimeSeconds: int64(time.Since(started).Seconds()), Hardware: map[string]string{},
				CallQuality: callQuality(cq.Take(time.Now()))}
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

// fleetRoom is the room as the provisioning client and the health report
// see it: commands and reports in, snapshots out.
type fleetRoom interface {
	roomport.Room
	Snapshot() room.State
}

// fleetRequests carries the room's activation codes and poll requests to
// the provisioning client. The client is made after the room (it needs the
// room), so the room is given this queue, made before both, and run drains
// it into the client. Like the client, it never blocks the room: a request
// arriving while one of its kind waits is dropped.
type fleetRequests struct {
	code  chan string
	nudge chan struct{}
}

var _ room.Fleet = (*fleetRequests)(nil)

func newFleetRequests() *fleetRequests {
	return &fleetRequests{code: make(chan string, 1), nudge: make(chan struct{}, 1)}
}

// Enroll queues an activation code typed on the console or panel.
func (q *fleetRequests) Enroll(code string) {
	select {
	case q.code <- code:
	default:
	}
}

// Nudge queues a request for a poll at once.
func (q *fleetRequests) Nudge() {
	select {
	case q.nudge <- struct{}{}:
	default:
	}
}

// run hands the queued requests to c until ctx ends.
func (q *fleetRequests) run(ctx context.Context, c room.Fleet) {
	for {
		select {
		case <-ctx.Done():
			return
		case code := <-q.code:
			c.Enroll(code)
		case <-q.nudge:
			c.Nudge()
		}
	}
}

// callQuality is the policy's call summary as a health report carries it.
func callQuality(s *policy.CallSummary) *provisioning.CallQuality {
	if s == nil {
		return nil
	}
	return &provisioning.CallQuality{Calls: s.Calls, Minutes: s.Minutes, AvgRTTMillis: s.AvgRTTMillis, AvgLossPct: s.AvgLossPct, Reconnects: s.Reconnects}
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
		if err := a.to.pins.Apply(policy.PINHashes{Serial: c.PINs.SerialHash, Panel: c.PINs.PanelHash}); err != nil {
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
		a.to.policy.Set(policy.Settings{DisplaySleep: time.Duration(c.Display.SleepAfterMinutes) * time.Minute, PrivacyDefault: c.Camera.PrivacyDefault})
	}
	if c.Display.Brightness != 0 {
		// No board roomd knows has a brightness output (HDMI displays take
		// it over DDC/CI or CEC, which roomd does not speak yet).
		a.log.Warn("roomd: the fleet's display brightness is not applied: this board has no brightness control", "brightness", c.Display.Brightness)
	}
	return nil
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
