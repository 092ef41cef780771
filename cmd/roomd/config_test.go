package main

import "testing"

// The simulated board's configuration is built in (sim.toml).
func TestBuiltInSimConfig(t *testing.T) {
	c, err := loadConfig("", true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Board.Profile != "sim" || !*c.Console.Login || c.Console.AdminPINHash == "" || c.Debug.Listen != "127.0.0.1:8089" {
		t.Fatalf("built-in sim config = %+v", c)
	}
	if !*c.Panel.Enabled || c.Panel.AdminPINHash == "" {
		t.Fatalf("sim panel config: %+v", c.Panel)
	}
	if _, err := c.BoardDescription(); err != nil {
		t.Fatal(err)
	}
	// Without --sim, no file is the defaults, not the simulated board.
	d, err := loadConfig("", false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Board.Profile != "rpi4" {
		t.Fatalf("no file, no --sim: board %q, want the defaults' rpi4", d.Board.Profile)
	}
}
