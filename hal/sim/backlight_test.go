package sim_test

import (
	"errors"
	"testing"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
)

// The simulated display's backlight is set through hal.Board like a real
// one, fails on demand, and is absent when described as "none".
func TestBacklight(t *testing.T) {
	desc, _ := hal.Profile("sim")
	b, err := sim.New(desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bl := b.Hardware().Backlight
	if bl == nil {
		t.Fatal("no backlight on the simulated board")
	}
	if err := bl.SetBrightness(35); err != nil {
		t.Fatal(err)
	}
	if got, ok := b.Brightness(); !ok || got != 35 {
		t.Errorf("display at %d%% (%v), want 35", got, ok)
	}
	if got, err := bl.Brightness(); err != nil || got != 35 {
		t.Errorf("read back %d, %v", got, err)
	}
	if bl.SetBrightness(120) == nil {
		t.Error("120% accepted")
	}
	b.Fail(hal.RoleBacklight, nil)
	if err := bl.SetBrightness(80); !errors.Is(err, sim.ErrInjected) {
		t.Errorf("failed backlight: %v", err)
	}
	if got, _ := b.Brightness(); got != 35 {
		t.Errorf("a failing backlight changed to %d", got)
	}
	b.Heal(hal.RoleBacklight)

	desc.Backlight = "none"
	nb, err := sim.New(desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	if nb.Hardware().Backlight != nil {
		t.Error("backlight loaded though described as none")
	}
	if _, ok := nb.Brightness(); ok {
		t.Error("Brightness ok without a backlight")
	}
}

// The simulated camera moves to presets through hal.Board, fails on
// demand, and is absent when camera_control is "none".
func TestCamera(t *testing.T) {
	desc, _ := hal.Profile("sim")
	b, err := sim.New(desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cam := b.Hardware().Camera
	if cam == nil {
		t.Fatal("no camera control on the simulated board")
	}
	if err := cam.RecallPreset(3); err != nil {
		t.Fatal(err)
	}
	if p, ok := b.CameraPreset(); !ok || p != 3 {
		t.Errorf("camera at preset %d (%v), want 3", p, ok)
	}
	if cam.RecallPreset(16) == nil || cam.StorePreset(0) == nil {
		t.Error("a preset out of 1..15 accepted")
	}
	b.Fail(hal.RoleCamera, nil)
	if err := cam.RecallPreset(2); !errors.Is(err, sim.ErrInjected) {
		t.Errorf("failing camera: %v", err)
	}
	if p, _ := b.CameraPreset(); p != 3 {
		t.Errorf("a failing camera moved to %d", p)
	}
	desc.CameraControl = "none"
	nb, err := sim.New(desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	if nb.Hardware().Camera != nil {
		t.Error("camera loaded though described as none")
	}
}
