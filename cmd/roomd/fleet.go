package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/roomd/roomd/hal"
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
}

func (p ProvisioningConfig) validate() error {
	if p.Server == "" && (p.ActivationCode != "" || p.CodeFile != "") {
		return fmt.Errorf("provisioning: an activation code needs provisioning.server")
	}
	return nil
}

// newFleet makes the provisioning client for rm; nil when standalone.
func newFleet(cfg *Config, rm *room.Room, runner *schedule.Runner, board string, started time.Time, log *slog.Logger) (*provisioning.Client, error) {
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
		RootCAs:        roots,
		Room:           rm,
		StartDelay:     time.Duration(p.StartDelay),
		Hardware:       provisioning.Hardware{Board: board, Software: version},
		Calendar: func(c provisioning.CalendarConfig) error {
			if runner == nil {
				return fmt.Errorf("provisioning: the room has no schedule to take the calendar")
			}
			if c.FeedURL != "" && c.ICS == "" {
				return fmt.Errorf("provisioning: calendar feed URLs from the fleet are not supported yet; send the ICS")
			}
			return runner.SetFleetCalendar([]byte(c.ICS))
		},
		Health: func() provisioning.HealthReport {
			s := rm.Snapshot()
			h := provisioning.HealthReport{Software: version, UptimeSeconds: int64(time.Since(started).Seconds()), Hardware: map[string]string{}}
			for _, d := range s.Hardware {
				v := d.State
				if d.Reason != "" {
					v += ": " + d.Reason
				}
				h.Hardware[d.Name] = v
			}
			return h
		},
		Log: log,
	})
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
