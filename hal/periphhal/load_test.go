package periphhal

import (
	"bufio"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/ptz"
)

func rpi4(t *testing.T) hal.Description {
	t.Helper()
	d, err := hal.Profile("rpi4")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// roles lists every role of a description with its kind.
func roles(d hal.Description) map[string]string {
	r := map[string]string{}
	for _, o := range d.LEDs {
		r[o.Role] = "led"
	}
	for _, o := range d.Relays {
		r[o.Role] = "relay"
	}
	for _, i := range d.Buttons {
		r[i.Role] = "button"
	}
	for _, i := range d.Switches {
		r[i.Role] = "switch"
	}
	for _, s := range d.Sensors {
		r[s.Role] = "sensor"
	}
	for _, s := range d.Serial {
		r[s.Role] = "serial"
	}
	r[hal.RoleBacklight] = "backlight" // every board says whether it has one
	r[ptz.RoleCamera] = "camera"       // and whether its camera moves
	return r
}

// checkReport fails unless the report has every role of d exactly once,
// with its kind, and a reason for every role that did not load.
func checkReport(t *testing.T, d hal.Description, r hal.Report) map[string]hal.DeviceStatus {
	t.Helper()
	want := roles(d)
	got := map[string]hal.DeviceStatus{}
	for _, s := range r {
		if _, dup := got[s.Name]; dup {
			t.Errorf("role %q reported twice", s.Name)
		}
		got[s.Name] = s
		if want[s.Name] != s.Kind {
			t.Errorf("role %q reported as kind %q, want %q", s.Name, s.Kind, want[s.Name])
		}
		if (s.State == hal.Loaded) != (s.Reason == "") {
			t.Errorf("role %q is %s with reason %q", s.Name, s.State, s.Reason)
		}
		if strings.HasPrefix(s.Reason, "periphhal:") {
			t.Errorf("role %q: reason %q repeats the package prefix", s.Name, s.Reason)
		}
	}
	for role := range want {
		if _, ok := got[role]; !ok {
			t.Errorf("role %q missing from the report", role)
		}
	}
	return got
}

func present(pattern string) bool {
	m, _ := filepath.Glob(pattern)
	return len(m) > 0
}

// TestLoadOnThisMachine loads the Pi 4 profile for real. Where this machine
// lacks a kind of hardware (a build machine has no gpiochip, no I2C bus, no
// USB serial adapter) those roles must fail with a reason; where it has it,
// they must still each be accounted for.
func TestLoadOnThisMachine(t *testing.T) {
	desc := rpi4(t)
	hasGPIO := present("/dev/gpiochip*")
	hasI2C := present("/dev/i2c-*")
	hasSerial := present("/dev/ttyUSB*") || present("/dev/ttyACM*")
	for range 2 { // host.Init runs again harmlessly
		b := Load(desc, &Options{Logger: discardLogger()})
		if b.Name != "rpi4" {
			t.Errorf("board name %q, want rpi4", b.Name)
		}
		got := checkReport(t, desc, b.Report)
		for role, kind := range roles(desc) {
			absent := false
			switch {
			case kind == "backlight", kind == "camera":
				continue // optional: skipped when absent, see TestBoardBacklight
			case kind == "serial":
				absent = !hasSerial
			case role == hal.RoleEnvSensor:
				absent = !hasI2C
			default:
				absent = !hasGPIO
			}
			if absent && got[role].State != hal.Failed {
				t.Errorf("role %q is %s on a machine without its hardware, want failed", role, got[role].State)
			}
		}
		if !hasGPIO {
			if r := got[hal.RoleMuteLED].Reason; r != "no GPIO chip found (is /dev/gpiochip0 present and readable by roomd?)" {
				t.Errorf("mute_led reason %q does not say what to check", r)
			}
		}
		if !hasI2C && !strings.Contains(got[hal.RoleEnvSensor].Reason, "no I2C bus found") {
			t.Errorf("environment reason %q does not say the I2C bus is missing", got[hal.RoleEnvSensor].Reason)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestLoadDisabledRolesAreSkipped(t *testing.T) {
	desc := rpi4(t)
	for i := range desc.LEDs {
		desc.LEDs[i].Disabled = true
	}
	desc.Relays[0].Disabled = true
	desc.Buttons[0].Disabled = true
	desc.Switches[0].Disabled = true
	desc.Sensors[0].Disabled = true
	desc.Serial[0].Disabled = true
	disabled := []string{hal.RoleMuteLED, hal.RoleCallLED, hal.RoleDisplayPower, desc.Buttons[0].Role, hal.RoleMicSwitch, hal.RoleEnvSensor, hal.RoleConsole}

	// On real hardware, which on this machine fails everything else.
	b := Load(desc, &Options{Logger: discardLogger()})
	got := checkReport(t, desc, b.Report)
	for _, role := range disabled {
		if got[role].State != hal.Skipped || !strings.Contains(got[role].Reason, "disabled") {
			t.Errorf("disabled role %q: %s %q, want skipped as disabled", role, got[role].State, got[role].Reason)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// On fake hardware: a disabled role is never even looked up.
	hw := &fakeHardware{chips: []gpioChip{piChip()}}
	b = load(desc, hw, t.TempDir(), "", discardLogger())
	defer b.Close()
	for _, line := range []string{"GPIO17", "GPIO27", "GPIO22", "GPIO5", "GPIO26"} {
		if slices.Contains(hw.requests, "gpio:"+line) {
			t.Errorf("disabled role's line %s was requested", line)
		}
	}
	if slices.ContainsFunc(hw.requests, func(r string) bool { return strings.HasPrefix(r, "i2c:") || strings.HasPrefix(r, "serial:") }) {
		t.Errorf("disabled sensor or serial port was opened: %v", hw.requests)
	}
	if got := checkReport(t, desc, b.Report); got[hal.RoleVolumeUp].State != hal.Loaded {
		t.Errorf("enabled volume_up: %s %q, want loaded", got[hal.RoleVolumeUp].State, got[hal.RoleVolumeUp].Reason)
	}
}

func TestLoadEveryRoleOnFakeHardware(t *testing.T) {
	check := checkGoroutines(t)
	desc := rpi4(t)
	chip := piChip()
	bus := &i2ctest.Playback{Ops: append(bme280Init(), bme280Sense()...), DontPanic: true}
	console, far := newPipeLine("/dev/ttyUSB0")
	hw := &fakeHardware{
		chips: []gpioChip{chip},
		buses: map[string]*i2ctest.Playback{"1": bus},
		ports: map[string]*pipeLine{"auto": console},
	}
	desc.CameraControl = "visca:" + ptyPath(t) // a PTZ camera's serial port
	b := load(desc, hw, fakeBacklight(t, "0"), "", discardLogger())
	got := checkReport(t, desc, b.Report)
	for role, s := range got {
		if s.State != hal.Loaded {
			t.Errorf("role %q: %s %q, want loaded", role, s.State, s.Reason)
		}
	}
	if len(b.LEDs) != 2 || len(b.Relays) != 1 || len(b.Buttons) != 4 || len(b.Switches) != 1 || len(b.Sensors) != 2 || len(b.Serial) != 1 {
		t.Fatalf("board has %d LEDs, %d relays, %d buttons, %d switches, %d sensors, %d serial; want 2, 1, 4, 1, 2, 1",
			len(b.LEDs), len(b.Relays), len(b.Buttons), len(b.Switches), len(b.Sensors), len(b.Serial))
	}

	// The mute LED is GPIO17, active high.
	if err := b.LEDs[hal.RoleMuteLED].Set(true); err != nil {
		t.Fatal(err)
	}
	if chip.lines[17].Read() != gpio.High {
		t.Error("mute LED on did not drive GPIO17 high")
	}

	// The mute button is GPIO5, active low.
	ch := b.Buttons[hal.RoleMuteButton].Watch(t.Context())
	chip.lines[5].EdgesChan <- gpio.Low
	if e := nextEdge(t, ch); !e.Pressed {
		t.Errorf("mute button edge %+v, want pressed", e)
	}

	r, err := b.Sensors[hal.RoleEnvSensor].Read()
	if err != nil || len(r) != 2 {
		t.Fatalf("environment Read = %+v, %v", r, err)
	}
	chip.lines[16].Out(gpio.High)
	if r, err := b.Sensors[hal.RolePresence].Read(); err != nil || r[0].Value != 1 {
		t.Fatalf("presence Read = %+v, %v; want occupied", r, err)
	}
	if _, ok := b.Sensors[hal.RolePresence].(hal.Input); !ok {
		t.Error("the presence sensor should also be a hal.Input")
	}

	go func() { _, _ = b.Serial[hal.RoleConsole].Write([]byte("mute on\n")) }()
	line, err := bufio.NewReader(far).ReadString('\n')
	if err != nil || line != "mute on\n" {
		t.Fatalf("console read %q, %v", line, err)
	}

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err) // includes Playback's check that all I/O happened
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitClosed(t, ch)
	if err := b.LEDs[hal.RoleMuteLED].Set(false); !errors.Is(err, ErrClosed) {
		t.Errorf("LED Set after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Serial[hal.RoleConsole].Write([]byte("x")); err == nil {
		t.Error("console still writable after Close")
	}
	check()
}

func TestLoadFailuresAreReported(t *testing.T) {
	desc := hal.Description{
		Name:     "bench",
		GPIOChip: "gpiochip0",
		LEDs: []hal.OutputDesc{
			{Role: "mute_led", Line: "GPIO17"},
			{Role: "call_led", Line: "GPIO17"},
			{Role: "status_led", Line: "GPIO99"},
			{Role: "no_line"},
		},
		Buttons: []hal.InputDesc{
			{Role: "mute", Line: "GPIO5", Pull: "sideways"},
			{Role: "leave", Line: "GPIO19"},
		},
		Sensors: []hal.SensorDesc{
			{Role: "environment", Model: "bme280", Bus: "1", Address: 0x76},
			{Role: "co2", Model: "scd41", Bus: "1", Address: 0x62},
			{Role: "presence", Model: "pir", Line: "GPIO16"},
		},
		Serial: []hal.SerialDesc{
			{Role: "console", Port: "/dev/ttyUSB3"},
			{Role: "sim_console", Port: "pty"},
		},
	}
	hw := &fakeHardware{
		chips:   []gpioChip{piChip()},
		buses:   map[string]*i2ctest.Playback{"1": {DontPanic: true}}, // nothing answers
		panicOn: "GPIO16",
	}
	b := load(desc, hw, t.TempDir(), "", discardLogger())
	defer b.Close()
	got := checkReport(t, desc, b.Report)
	for _, tc := range []struct {
		role   string
		state  hal.LoadState
		reason string
	}{
		{"mute_led", hal.Loaded, ""},
		{"call_led", hal.Failed, "GPIO17 is already used by mute_led"},
		{"status_led", hal.Failed, `no GPIO line named "GPIO99" on gpiochip0`},
		{"no_line", hal.Failed, "no GPIO line is set"},
		{"mute", hal.Failed, `pull must be up, down or none, not "sideways"`},
		{"leave", hal.Loaded, ""},
		{"environment", hal.Failed, "no bme280 answered at 0x76"},
		{"co2", hal.Skipped, `sensor model "scd41" is not supported`},
		{"presence", hal.Failed, "driver panicked: fake driver bug"},
		{"console", hal.Failed, "/dev/ttyUSB3"},
		{"sim_console", hal.Skipped, "simulated board"},
	} {
		s := got[tc.role]
		if s.State != tc.state || !strings.Contains(s.Reason, tc.reason) {
			t.Errorf("%s: %s %q, want %s with a reason containing %q", tc.role, s.State, s.Reason, tc.state, tc.reason)
		}
	}
	if b.Name != "bench" {
		t.Errorf("board name %q", b.Name)
	}
	if _, ok := b.LEDs["call_led"]; ok {
		t.Error("a failed role is on the board")
	}
}

func TestLoadNamesAnUnnamedBoard(t *testing.T) {
	b := load(hal.Description{}, &fakeHardware{}, t.TempDir(), "", discardLogger())
	// Only the backlight and the camera control, which every board
	// reports (here: none).
	if b.Name == "" || len(b.Report) != 2 || b.Report[0].Name != hal.RoleBacklight || b.Close() != nil {
		t.Fatalf("empty description: name %q, report %v", b.Name, b.Report)
	}
}
