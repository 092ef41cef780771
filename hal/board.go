package hal

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Well-known roles. The room wires these by name; a board may describe more.
const (
	RoleMuteLED      = "mute_led"      // lit while the microphones are muted
	RoleCallLED      = "call_led"      // lit while in a call
	RoleDisplayPower = "display_power" // relay for the display's mains power
	RoleMuteButton   = "mute"          // toggles microphone mute
	RoleVolumeUp     = "volume_up"
	RoleVolumeDown   = "volume_down"
	RoleLeaveButton  = "leave"       // leaves the call
	RoleMicSwitch    = "mic_switch"  // hardware mute slider on the mic array
	RoleEnvSensor    = "environment" // temperature + humidity over I2C
	RolePresence     = "presence"    // occupancy (PIR on a GPIO line)
	RoleConsole      = "console"     // the serial control port
	RoleBacklight    = "backlight"   // the display's brightness (sysfs or DDC/CI)
	RoleCamera       = "camera_ptz"  // moves the camera to presets (VISCA or UVC controls)
)

// OutputDesc describes an LED or relay on a GPIO line.
type OutputDesc struct {
	Role      string `toml:"role" json:"role"`
	Line      string `toml:"line" json:"line"`             // GPIO line name ("GPIO17") or offset ("17")
	ActiveLow bool   `toml:"active_low" json:"active_low"` // on drives the line low
	Disabled  bool   `toml:"disabled" json:"disabled,omitempty"`
}

// InputDesc describes a button, switch or presence sensor on a GPIO line.
type InputDesc struct {
	Role      string   `toml:"role" json:"role"`
	Line      string   `toml:"line" json:"line"`
	ActiveLow bool     `toml:"active_low" json:"active_low"` // pressed pulls the line low
	Pull      string   `toml:"pull" json:"pull"`             // "up", "down", "none" or "" (leave as is)
	Debounce  Duration `toml:"debounce" json:"debounce"`     // 0 means 30ms
	Disabled  bool     `toml:"disabled" json:"disabled,omitempty"`
}

// SensorDesc describes an I2C environment sensor or a GPIO presence sensor.
type SensorDesc struct {
	Role     string   `toml:"role" json:"role"`
	Model    string   `toml:"model" json:"model"` // "bme280", "bmp280" (I2C) or "pir" (GPIO)
	Bus      string   `toml:"bus" json:"bus"`     // I2C bus name or number, "" for the first
	Address  uint16   `toml:"address" json:"address"`
	Line     string   `toml:"line" json:"line"` // for "pir"
	Interval Duration `toml:"interval" json:"interval"`
	Disabled bool     `toml:"disabled" json:"disabled,omitempty"`
}

// SerialDesc describes a serial control port.
type SerialDesc struct {
	Role string `toml:"role" json:"role"`
	// Port is a device path ("/dev/ttyUSB0"), "usb:VID:PID" to pick the first
	// USB adapter with those IDs, or "auto" for the first USB serial adapter.
	Port     string `toml:"port" json:"port"`
	Baud     int    `toml:"baud" json:"baud"`           // 0 means 115200
	DataBits int    `toml:"data_bits" json:"data_bits"` // 0 means 8
	Parity   string `toml:"parity" json:"parity"`       // "none" (default), "odd", "even"
	StopBits string `toml:"stop_bits" json:"stop_bits"` // "1" (default), "1.5", "2"
	Disabled bool   `toml:"disabled" json:"disabled,omitempty"`
}

// Description says which line or address does what on one board.
type Description struct {
	Name     string       `toml:"name" json:"name"`
	GPIOChip string       `toml:"gpio_chip" json:"gpio_chip"` // "" lets the driver search every chip by line name
	LEDs     []OutputDesc `toml:"led" json:"leds"`
	Relays   []OutputDesc `toml:"relay" json:"relays"`
	Buttons  []InputDesc  `toml:"button" json:"buttons"`
	Switches []InputDesc  `toml:"switch" json:"switches"`
	Sensors  []SensorDesc `toml:"sensor" json:"sensors"`
	Serial   []SerialDesc `toml:"serial" json:"serial"`
	// Backlight is where the display's brightness is set: "" or "auto"
	// (a backlight in /sys/class/backlight, else DDC/CI on a display
	// connector's I2C bus), "none", a sysfs backlight's name, or
	// "ddc:/dev/i2c-N".
	Backlight string `toml:"backlight" json:"backlight,omitempty"`
	// CameraControl is how the camera moves to presets: "" (it does not),
	// "visca:/dev/ttyUSB1" or "uvc:/dev/video0" (see hal/ptz).
	CameraControl string `toml:"camera_control" json:"camera_control,omitempty"`
}

// Duration is a time.Duration written as "30ms" in config files.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("hal: bad duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Validate reports every problem in the description at once.
func (d Description) Validate() error {
	var errs []error
	seen := map[string]bool{}
	role := func(kind, r string) {
		if r == "" {
			errs = append(errs, fmt.Errorf("hal: board %q: a %s has no role", d.Name, kind))
			return
		}
		if seen[r] {
			errs = append(errs, fmt.Errorf("hal: board %q: role %q is described twice", d.Name, r))
		}
		seen[r] = true
	}
	for _, o := range append(append([]OutputDesc{}, d.LEDs...), d.Relays...) {
		role("output", o.Role)
		if o.Line == "" {
			errs = append(errs, fmt.Errorf("hal: board %q: %s has no GPIO line", d.Name, o.Role))
		}
	}
	for _, in := range append(append([]InputDesc{}, d.Buttons...), d.Switches...) {
		role("input", in.Role)
		if in.Line == "" {
			errs = append(errs, fmt.Errorf("hal: board %q: %s has no GPIO line", d.Name, in.Role))
		}
		switch in.Pull {
		case "", "up", "down", "none":
		default:
			errs = append(errs, fmt.Errorf("hal: board %q: %s: pull must be up, down or none, not %q", d.Name, in.Role, in.Pull))
		}
	}
	for _, s := range d.Sensors {
		role("sensor", s.Role)
		switch s.Model {
		case "bme280", "bmp280":
			if s.Address == 0 {
				errs = append(errs, fmt.Errorf("hal: board %q: %s: an I2C sensor needs an address (0x76 or 0x77)", d.Name, s.Role))
			}
		case "pir":
			if s.Line == "" {
				errs = append(errs, fmt.Errorf("hal: board %q: %s: a pir sensor needs a GPIO line", d.Name, s.Role))
			}
		default:
			errs = append(errs, fmt.Errorf("hal: board %q: %s: unknown sensor model %q (bme280, bmp280, pir)", d.Name, s.Role, s.Model))
		}
	}
	for _, s := range d.Serial {
		role("serial port", s.Role)
		if s.Port == "" {
			errs = append(errs, fmt.Errorf("hal: board %q: %s has no port", d.Name, s.Role))
		}
		switch s.Parity {
		case "", "none", "odd", "even":
		default:
			errs = append(errs, fmt.Errorf("hal: board %q: %s: parity must be none, odd or even", d.Name, s.Role))
		}
		switch s.StopBits {
		case "", "1", "1.5", "2":
		default:
			errs = append(errs, fmt.Errorf("hal: board %q: %s: stop_bits must be 1, 1.5 or 2", d.Name, s.Role))
		}
		if s.DataBits != 0 && (s.DataBits < 5 || s.DataBits > 8) {
			errs = append(errs, fmt.Errorf("hal: board %q: %s: data_bits must be 5 to 8", d.Name, s.Role))
		}
	}
	return errors.Join(errs...)
}

// Profile returns a built-in board description by name: "rpi4", "rpi5" or "sim".
func Profile(name string) (Description, error) {
	p, ok := profiles[name]
	if !ok {
		return Description{}, fmt.Errorf("hal: no built-in board profile %q (have %s)", name, strings.Join(ProfileNames(), ", "))
	}
	return p(), nil
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	var n []string
	for k := range profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// piWiring is the roomd reference wiring on the 40-pin header, the same on
// Raspberry Pi 4 and 5 (BCM numbering, by line name).
func piWiring(name, chip string) Description {
	return Description{
		Name:     name,
		GPIOChip: chip,
		LEDs: []OutputDesc{
			{Role: RoleMuteLED, Line: "GPIO17"},
			{Role: RoleCallLED, Line: "GPIO27"},
		},
		Relays: []OutputDesc{{Role: RoleDisplayPower, Line: "GPIO22"}},
		Buttons: []InputDesc{
			{Role: RoleMuteButton, Line: "GPIO5", ActiveLow: true, Pull: "up"},
			{Role: RoleVolumeUp, Line: "GPIO6", ActiveLow: true, Pull: "up"},
			{Role: RoleVolumeDown, Line: "GPIO13", ActiveLow: true, Pull: "up"},
			{Role: RoleLeaveButton, Line: "GPIO19", ActiveLow: true, Pull: "up"},
		},
		Switches: []InputDesc{{Role: RoleMicSwitch, Line: "GPIO26", ActiveLow: true, Pull: "up", Debounce: Duration(50 * time.Millisecond)}},
		Sensors: []SensorDesc{
			{Role: RoleEnvSensor, Model: "bme280", Bus: "1", Address: 0x76, Interval: Duration(30 * time.Second)},
			{Role: RolePresence, Model: "pir", Line: "GPIO16"},
		},
		Serial: []SerialDesc{{Role: RoleConsole, Port: "auto", Baud: 115200}},
	}
}

var profiles = map[string]func() Description{
	// Raspberry Pi 4 / CM4: the header's lines are on gpiochip0.
	"rpi4": func() Description { return piWiring("rpi4", "gpiochip0") },
	// Raspberry Pi 5: the header is on the RP1 chip, whose number moved
	// between kernels (gpiochip4, later gpiochip0), so lines are found by name.
	"rpi5": func() Description { return piWiring("rpi5", "") },
	// The simulated board has every role of the reference wiring.
	"sim": func() Description {
		d := piWiring("sim", "sim")
		d.Serial = []SerialDesc{{Role: RoleConsole, Port: "pty", Baud: 115200}}
		return d
	},
}
