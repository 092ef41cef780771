// Package hal describes the room appliance's hardware as small interfaces:
// buttons, indicator LEDs, relays, the mic-mute switch, environment sensors,
// serial lines, the display's backlight and the camera's presets, plus the
// board description that says which GPIO line or I2C
// address does what.
//
// Code that uses hardware depends only on this package. Drivers live apart:
// hal/periphhal talks to real boards through periph.io and go.bug.st/serial,
// hal/sim is a whole simulated board for --sim and for tests.
//
// # Degraded operation
//
// A board loads device by device. Each device ends up Loaded, Skipped (not
// described for this board, or disabled) or Failed (with the reason), and the
// daemon keeps running with whatever loaded; see [Report].
package hal

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Output is anything driven on or off: an indicator LED or a relay.
type Output interface {
	// Set drives the output; on means lit (LED) or closed/energised (relay),
	// whatever the line's polarity.
	Set(on bool) error
	// Get returns the level the output is driven to, read back from the
	// driver where it can be.
	Get() (bool, error)
}

// LED is an indicator LED (mute LED, call LED, status LED).
type LED = Output

// Relay switches equipment such as the display's power.
type Relay = Output

// Edge is one debounced change of an input.
type Edge struct {
	Pressed bool      // true when the input became active
	At      time.Time // when the driver saw it
}

// Input is a debounced digital input: a button, a mute switch or a presence
// (PIR) sensor.
type Input interface {
	// Active reports the current debounced level.
	Active() (bool, error)
	// Watch delivers debounced edges until ctx ends; then the channel closes.
	Watch(ctx context.Context) <-chan Edge
}

// Button is a momentary push button.
type Button = Input

// Switch is a latching switch, such as a mic array's hardware mute slider.
type Switch = Input

// Quantity names what a sensor measures.
type Quantity string

// Quantities a room sensor can report.
const (
	Temperature Quantity = "temperature" // degrees Celsius
	Humidity    Quantity = "humidity"    // percent relative humidity
	Occupancy   Quantity = "occupancy"   // 1 when someone is in the room, 0 otherwise
)

// Reading is one value from a sensor.
type Reading struct {
	Quantity Quantity
	Value    float64
	At       time.Time
}

// Sensor is an environment sensor; one device may measure several quantities.
type Sensor interface {
	Quantities() []Quantity
	Read() ([]Reading, error)
}

// Backlight is the display's brightness: a backlight in sysfs, or a
// monitor's DDC/CI brightness (VCP 0x10).
type Backlight interface {
	// Brightness reads the level back, in percent of the display's range.
	Brightness() (int, error)
	// SetBrightness sets the level, 0..100 percent.
	SetBrightness(percent int) error
}

// CameraPresets moves a PTZ camera to stored positions, numbered from 1.
type CameraPresets interface {
	// RecallPreset moves the camera to preset n.
	RecallPreset(n int) error
	// StorePreset stores the camera's current position as preset n.
	StorePreset(n int) error
}

// Polled is a sensor that says how often to read it: the interval its
// board description gives. Sensors without it are read at the poller's
// default.
type Polled interface {
	PollInterval() time.Duration
}

// WithInterval returns s, read every d (d > 0) by the sensor poller.
func WithInterval(s Sensor, d time.Duration) Sensor {
	if d <= 0 {
		return s
	}
	return polledSensor{s, d}
}

type polledSensor struct {
	Sensor
	every time.Duration
}

func (p polledSensor) PollInterval() time.Duration { return p.every }

// SerialLine is a byte stream to a control system: a real RS-232/USB serial
// port or, on the simulated board, a pseudo-terminal.
type SerialLine interface {
	io.ReadWriteCloser
	// Name is the device path or a descriptive name, for logs and status.
	Name() string
}

// LoadState is how a device came up.
type LoadState int

// Load states.
const (
	Loaded  LoadState = iota // working
	Skipped                  // not described or disabled; not an error
	Failed                   // described but could not be opened; see Reason
)

func (s LoadState) String() string {
	switch s {
	case Loaded:
		return "loaded"
	case Skipped:
		return "skipped"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("LoadState(%d)", int(s))
}

// DeviceStatus is how one described device came up.
type DeviceStatus struct {
	Name   string    // role name from the board description, e.g. "mute_led"
	Kind   string    // "led", "relay", "button", "switch", "sensor", "serial", "backlight"
	State  LoadState //
	Reason string    // why it was skipped or failed; empty when loaded
}

// Report lists every device of a board with its load state.
type Report []DeviceStatus

// Counts returns how many devices loaded, were skipped and failed.
func (r Report) Counts() (loaded, skipped, failed int) {
	for _, d := range r {
		switch d.State {
		case Loaded:
			loaded++
		case Skipped:
			skipped++
		case Failed:
			failed++
		}
	}
	return
}

// Board is a loaded board: every role that loaded, by name.
type Board struct {
	Name     string // profile or board name, e.g. "rpi4" or "sim"
	LEDs     map[string]LED
	Relays   map[string]Relay
	Buttons  map[string]Button
	Switches map[string]Switch
	Sensors  map[string]Sensor
	Serial   map[string]SerialLine
	// Backlight is the display's brightness control; nil when the board
	// has none (the report says why, under RoleBacklight).
	Backlight Backlight
	// Camera moves the camera to presets; nil when it cannot (the report
	// says why, under the "camera_ptz" role).
	Camera CameraPresets
	Report Report
	// Close releases every device that loaded.
	Close func() error
}
