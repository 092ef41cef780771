package apply

import (
	"fmt"
	"sync"

	"github.com/roomd/roomd/provisioning"
)

// hardwareNotes are what the last bundle set that this room's hardware
// does not apply, for the health report; and the display's brightness as
// it was before the fleet set it, so a bundle without brightness puts it
// back.
type hardwareNotes struct {
	mu         sync.Mutex
	notes      []string
	local      int // percent; valid when haveLocal
	haveLocal  bool
	fleetDrove bool // the backlight is at a fleet value
}

// Unapplied lists what the bundle in force sets that this room does not
// apply, with why; the health report carries it in last_errors.
func (a *Applier) Unapplied() []string {
	a.hw.mu.Lock()
	defer a.hw.mu.Unlock()
	return append([]string(nil), a.hw.notes...)
}

// applyHardware applies the display's brightness and checks the camera
// can take presets. A board without the part, or a part that fails, does
// not fail the bundle (the rest of it still applies): the health report
// says what was not applied.
func (a *Applier) applyHardware(c provisioning.Config) {
	h := &a.hw
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notes = c.Ignored()
	note := func(s string, args ...any) {
		h.notes = append(h.notes, s)
		a.log.Warn(s, args...)
	}
	want := c.Display.Brightness
	switch bl := a.to.Backlight; {
	case bl == nil:
		if want != 0 {
			note(fmt.Sprintf("roomd: display.brightness %d%% is not applied: this board has no backlight and no display answering DDC/CI (see hardware in the health report)", want))
		}
	case want == 0 && !h.fleetDrove:
		// Nothing to do: the display is at its local brightness.
	default:
		if !h.haveLocal {
			v, err := bl.Brightness()
			if err != nil {
				note(fmt.Sprintf("roomd: display.brightness %d%% is not applied: reading the backlight: %v", want, err), "err", err)
				return
			}
			h.local, h.haveLocal = v, true
		}
		set := want
		if want == 0 {
			set = h.local
		}
		if err := bl.SetBrightness(set); err != nil {
			note(fmt.Sprintf("roomd: display.brightness %d%% is not applied: %v", set, err), "err", err)
			return
		}
		h.fleetDrove = want != 0
	}
	if p := c.Camera.Presets; p != nil && *p > 0 && a.to.Camera == nil {
		note(fmt.Sprintf("roomd: camera.presets %d: the presets are offered but the camera does not move: this room has no PTZ camera (camera_control in the board description)", *p))
	}
}
