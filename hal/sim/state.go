package sim

import (
	"maps"

	"github.com/roomd/roomd/hal"
)

// State is a snapshot of the whole board, as GET /sim returns it.
type State struct {
	Board    string                              `json:"board"`
	LEDs     map[string]bool                     `json:"leds"`     // true while lit
	Relays   map[string]bool                     `json:"relays"`   // true while closed
	Buttons  map[string]bool                     `json:"buttons"`  // true while pressed
	Switches map[string]bool                     `json:"switches"` // true while on
	Sensors  map[string]map[hal.Quantity]float64 `json:"sensors"`
	Serial   map[string]SerialState              `json:"serial"`
	// Brightness is the display's backlight in percent; absent when the
	// board has none.
	Brightness *int `json:"brightness,omitempty"`
	// CameraPreset is the preset the camera last moved to (0: none);
	// absent when the board's camera does not move.
	CameraPreset *int              `json:"camera_preset,omitempty"`
	Toggles      map[string]bool   `json:"toggles"` // devices given to Wrap
	Faults       map[string]string `json:"faults"`  // role -> injected error
	Devices      []DeviceState     `json:"devices"` // the load report
	// Errors holds wrapped devices that could not be read back.
	Errors map[string]string `json:"errors,omitempty"`
}

// SerialState is one serial line.
type SerialState struct {
	Path     string `json:"path"`           // person side: open this
	Link     string `json:"link,omitempty"` // symlink to Path in RunDir
	Device   string `json:"device"`         // device side, held by the daemon
	ToDevice uint64 `json:"to_device"`      // bytes carried person -> device
	ToPerson uint64 `json:"to_person"`      // bytes carried device -> person
	Dropped  uint64 `json:"dropped"`        // bytes nobody took, or lost to a fault
}

// DeviceState is one entry of the load report.
type DeviceState struct {
	Role   string `json:"role"`
	Kind   string `json:"kind"`
	State  string `json:"state"` // loaded, skipped or failed
	Reason string `json:"reason,omitempty"`
}

// State takes a snapshot of the board.
func (b *Board) State() State {
	s := State{
		Board:    b.hw.Name,
		LEDs:     map[string]bool{},
		Relays:   map[string]bool{},
		Buttons:  map[string]bool{},
		Switches: map[string]bool{},
		Sensors:  map[string]map[hal.Quantity]float64{},
		Serial:   map[string]SerialState{},
		Toggles:  map[string]bool{},
		Faults:   map[string]string{},
	}
	for role, t := range b.leds {
		s.LEDs[role], _ = t.level() // own state: cannot fail
	}
	for role, t := range b.relays {
		s.Relays[role], _ = t.level()
	}
	for role, in := range b.buttons {
		s.Buttons[role] = in.level()
	}
	for role, in := range b.switches {
		s.Switches[role] = in.level()
	}
	for role, sn := range b.sensors {
		s.Sensors[role] = sn.snapshot()
	}
	if p, ok := b.Brightness(); ok {
		s.Brightness = &p
	}
	if p, ok := b.CameraPreset(); ok {
		s.CameraPreset = &p
	}
	for role, c := range b.cables {
		s.Serial[role] = SerialState{
			Path:     c.personPath,
			Link:     c.link,
			Device:   c.devicePath,
			ToDevice: c.toDevice.Load(),
			ToPerson: c.toPerson.Load(),
			Dropped:  c.dropped.Load(),
		}
	}
	b.mu.Lock()
	toggles := maps.Clone(b.toggles)
	b.mu.Unlock()
	for role, t := range toggles { // outside b.mu: a wrapped device may be slow
		on, err := t.level()
		if err != nil {
			if s.Errors == nil {
				s.Errors = map[string]string{}
			}
			s.Errors[role] = err.Error()
			continue
		}
		s.Toggles[role] = on
	}
	for role, err := range b.faults.snapshot() {
		s.Faults[role] = err.Error()
	}
	for _, d := range b.hw.Report {
		s.Devices = append(s.Devices, DeviceState{Role: d.Name, Kind: d.Kind, State: d.State.String(), Reason: d.Reason})
	}
	return s
}
