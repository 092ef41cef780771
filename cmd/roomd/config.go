package main

import (
	_ "embed"

	"github.com/roomd/roomd/internal/roomdconfig"
)

//go:embed sim.toml
var simConfig []byte

// Config is roomd's configuration file (internal/roomdconfig).
type Config = roomdconfig.Config

// loadConfig reads path, or the built-in simulated-board configuration when
// path is empty and sim is set.
func loadConfig(path string, sim bool) (*Config, error) {
	if path == "" && sim {
		return roomdconfig.Parse(simConfig, "(built-in sim)")
	}
	return roomdconfig.Load(path)
}
