package main

import (
	"log/slog"
	"path/filepath"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/periphhal"
	"github.com/roomd/roomd/hal/sim"
	"github.com/roomd/roomd/room"
)

// loadHardware loads the simulated board for the "sim" profile and the real
// drivers otherwise. Devices that fail are in the board's report; only an
// invalid description is an error.
func loadHardware(desc hal.Description, cfg *Config, log *slog.Logger) (*hardware, error) {
	if desc.Name == "sim" {
		sb, err := sim.New(desc, &sim.Options{Logger: log, RunDir: filepath.Join(cfg.RuntimeDir, "sim")})
		if err != nil {
			return nil, err
		}
		if p := sb.SerialPath(hal.RoleConsole); p != "" {
			log.Info("roomd: simulated serial console", "connect", filepath.Join(cfg.RuntimeDir, "sim", hal.RoleConsole), "pty", p)
		}
		return &hardware{
			board: sb.Hardware(),
			wrap:  func(role string, t room.Toggle) room.Toggle { return sb.Wrap(role, t) },
			debug: sb.Handler(),
			close: sb.Close,
		}, nil
	}
	if err := desc.Validate(); err != nil {
		return nil, err
	}
	b := periphhal.Load(desc, &periphhal.Options{Logger: log, CameraPresets: filepath.Join(cfg.StateDir, "camera-presets.json")})
	return &hardware{
		board: b,
		wrap:  func(_ string, t room.Toggle) room.Toggle { return t },
		close: b.Close,
	}, nil
}
