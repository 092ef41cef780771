package main

import (
	_ "embed"

	"github.com/roomd/roomd/internal/roomdconfig"
)

//go:embed sim.toml
var simConfig []byte

// Config is roomd's configuration file (internal/roomdconfig).
type Config struct{ roomdconfig.Config }

// socketPath is the control socket's path, for startConsoles.
//
// It stays until consoles.go, which another change is editing, calls
// SocketPath itself.
func (c *Config) socketPath() string { return c.SocketPath() }

// loadConfig reads path, or the built-in simulated-board configuration when
// path is empty and sim is set.
func loadConfig(path string, sim bool) (*Config, error) {
	var c *roomdconfig.Config
	var err error
	if path == "" && sim {
		c, err = roomdconfig.Parse(simConfig, "(built-in sim)")
	} else {
		c, err = roomdconfig.Load(path)
	}
	if err != nil {
		return nil, err
	}
	return &Config{*c}, nil
}
