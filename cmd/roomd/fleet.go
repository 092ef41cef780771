package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
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
func newFleet(cfg *Config, rm *room.Room, runner *schedule.Runner, cq *callQuality, board string, started time.Time, log *slog.Logger) (*provisioning.Client, error) {
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
			h := provisioning.HealthReport{Software: version, UptimeSeconds: int64(time.Since(started).Seconds()), Hardware: map[string]string{},
				CallQuality: cq.take(time.Now())}
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
	if inCall && s.Media != cq.lastMedia && s.Media.RTTMillis > 0 {
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
