package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/provisioning/apply"
	"github.com/roomd/roomd/provisioning/roomport"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/schedule"
)

// newFleet makes the provisioning client for rm; nil when standalone.
// setAside is told when the client's store kept a damaged file aside.
func newFleet(cfg *Config, rm *room.Room, a *apply.Applier, runner *schedule.Runner, health roomport.Health, setAside func(), board string, log *slog.Logger) (*provisioning.Client, error) {
	p := cfg.Provisioning
	if p.Server == "" {
		return nil, nil
	}
	roots, err := p.RootCAs()
	if err != nil {
		return nil, err
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
		Calendar:       func(c provisioning.CalendarConfig) error { return apply.Calendar(runner, c) },
		Apply:          a.Apply,
		Health:         func() provisioning.HealthReport { return health.Report(time.Now()) },
		SetAside:       setAside,
		Log:            log,
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
