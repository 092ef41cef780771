// Package periphhal is roomd's real hardware driver: GPIO lines through the
// Linux GPIO character device (periph.io/x/host/v3/gpioioctl), BME280/BMP280
// environment sensors over I2C (periph.io/x/devices/v3/bmxx80) and serial
// control ports through hal/serialport (go.bug.st/serial).
//
// # Loading
//
// [Load] opens a board role by role. Each role ends Loaded, Skipped (disabled,
// or something this driver does not provide) or Failed with a reason that says
// what to check, in the board's [hal.Report]. Load itself never fails: on a
// machine without GPIO, I2C or serial hardware it returns a board whose roles
// all failed, and the daemon runs degraded.
//
// # Inputs
//
// Buttons, switches and presence sensors are watched for both edges and
// debounced: a burst of edges counts once the line has been quiet for the
// debounce time, and only if the level then differs from the last reported
// one. Each input runs at most one goroutine, and only while someone watches.
//
// # Testing without hardware
//
// The drivers are built on periph's interfaces (gpio.PinIO, i2c.Bus), so the
// tests drive them with periph's own fakes: gpiotest.Pin and i2ctest.Playback.
package periphhal

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/backlight"
	"github.com/roomd/roomd/hal/ptz"
)

// ErrClosed is returned by a device used after its board was closed.
var ErrClosed = errors.New("periphhal: device is closed")

// Options configures [Load]. A nil *Options means defaults.
type Options struct {
	// Logger receives load progress and driver warnings; nil means slog.Default().
	Logger *slog.Logger
	// Root is where /sys and /dev are looked up for the display's
	// backlight; "" means "/".
	Root string
	// CameraPresets is the file a UVC camera's presets are kept in
	// (camera_control = "uvc:…"); "" keeps them in memory only.
	CameraPresets string
}

func (o *Options) logger() *slog.Logger {
	if o == nil || o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// Load initialises periph's host drivers and opens every role the description
// names. It never fails as a whole: see the returned board's Report for what
// loaded, and call its Close to release what did.
func Load(desc hal.Description, opts *Options) *hal.Board {
	log := opts.logger().With("board", desc.Name)
	root := "/"
	if opts != nil && opts.Root != "" {
		root = opts.Root
	}
	var presets string
	if opts != nil {
		presets = opts.CameraPresets
	}
	return load(desc, newPeriphHardware(log), root, presets, log)
}

// withCamera adds the camera's preset control to a loaded board, and
// releases it with the board.
func withCamera(b *hal.Board, spec, presetsFile string, log *slog.Logger) {
	cam, c, st := ptz.Load(spec, presetsFile)
	log.Debug("periphhal: role", "role", st.Name, "kind", st.Kind, "state", st.State, "reason", st.Reason)
	b.Report = append(b.Report, st)
	b.Camera = cam
	if c != nil {
		closeBoard := b.Close
		b.Close = sync.OnceValue(func() error { return errors.Join(c.Close(), closeBoard()) })
	}
}

// withBacklight adds the display's backlight to a loaded board, and
// releases its bus with the board.
func withBacklight(b *hal.Board, root, spec string, log *slog.Logger) {
	bl, st := backlight.Load(root, spec)
	log.Debug("periphhal: role", "role", st.Name, "kind", st.Kind, "state", st.State, "reason", st.Reason)
	b.Report = append(b.Report, st)
	b.Backlight = bl
	if c, ok := bl.(io.Closer); ok {
		closeBoard := b.Close
		b.Close = sync.OnceValue(func() error { return errors.Join(c.Close(), closeBoard()) })
	}
}

// hardware is what loading needs from the machine; tests replace it with
// periph's fakes.
type hardware interface {
	// gpioLine finds a line by name or offset on chip, or on every chip when
	// chip is "". readBack says whether the line can be read while it is an
	// output without turning it into an input.
	gpioLine(chip, line string) (pin gpio.PinIO, readBack bool, err error)
	// i2cBus opens an I2C bus by name or number; "" is the first bus.
	i2cBus(name string) (i2c.BusCloser, error)
	// serialLine opens a serial control port.
	serialLine(d hal.SerialDesc) (hal.SerialLine, error)
}

// skipError marks a role this driver does not provide: Skipped, not Failed.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "periphhal: " + e.reason }

// loader opens one description's roles and remembers what to close.
type loader struct {
	hw      hardware
	log     *slog.Logger
	board   *hal.Board
	chip    string
	closers []io.Closer
	used    map[gpio.PinIO]string // GPIO line -> role that has it
}

func load(desc hal.Description, hw hardware, root, cameraPresets string, log *slog.Logger) *hal.Board {
	name := desc.Name
	if name == "" {
		name = "custom"
	}
	b := &hal.Board{
		Name:     name,
		LEDs:     map[string]hal.LED{},
		Relays:   map[string]hal.Relay{},
		Buttons:  map[string]hal.Button{},
		Switches: map[string]hal.Switch{},
		Sensors:  map[string]hal.Sensor{},
		Serial:   map[string]hal.SerialLine{},
	}
	l := &loader{hw: hw, log: log, board: b, chip: desc.GPIOChip, used: map[gpio.PinIO]string{}}

	for _, d := range desc.LEDs {
		l.add(d.Role, "led", d.Disabled, func() (io.Closer, error) {
			o, err := l.output(d)
			if err != nil {
				return nil, err
			}
			b.LEDs[d.Role] = o
			return o, nil
		})
	}
	for _, d := range desc.Relays {
		l.add(d.Role, "relay", d.Disabled, func() (io.Closer, error) {
			o, err := l.output(d)
			if err != nil {
				return nil, err
			}
			b.Relays[d.Role] = o
			return o, nil
		})
	}
	for _, d := range desc.Buttons {
		l.add(d.Role, "button", d.Disabled, func() (io.Closer, error) {
			in, err := l.input(d)
			if err != nil {
				return nil, err
			}
			b.Buttons[d.Role] = in
			return in, nil
		})
	}
	for _, d := range desc.Switches {
		l.add(d.Role, "switch", d.Disabled, func() (io.Closer, error) {
			in, err := l.input(d)
			if err != nil {
				return nil, err
			}
			b.Switches[d.Role] = in
			return in, nil
		})
	}
	for _, d := range desc.Sensors {
		l.add(d.Role, "sensor", d.Disabled, func() (io.Closer, error) {
			s, err := l.sensor(d)
			if err != nil {
				return nil, err
			}
			b.Sensors[d.Role] = hal.WithInterval(s, time.Duration(d.Interval))
			return s, nil
		})
	}
	for _, d := range desc.Serial {
		l.add(d.Role, "serial", d.Disabled, func() (io.Closer, error) {
			if d.Port == "pty" {
				return nil, &skipError{"pty ports exist only on the simulated board (--sim)"}
			}
			s, err := l.hw.serialLine(d)
			if err != nil {
				return nil, err
			}
			b.Serial[d.Role] = s
			return s, nil
		})
	}

	b.Close = closeOnce(l.closers)
	withBacklight(b, root, desc.Backlight, log)
	withCamera(b, desc.CameraControl, cameraPresets, log)
	loaded, skipped, failed := b.Report.Counts()
	log.Info("periphhal: board loaded", "loaded", loaded, "skipped", skipped, "failed", failed)
	return b
}

// add opens one role and records how it came up. A panicking driver fails
// its role rather than the daemon.
func (l *loader) add(role, kind string, disabled bool, open func() (io.Closer, error)) {
	st := hal.DeviceStatus{Name: role, Kind: kind}
	if disabled {
		st.State, st.Reason = hal.Skipped, "disabled in the board description"
	} else {
		c, err := func() (c io.Closer, err error) {
			defer func() {
				if p := recover(); p != nil {
					c, err = nil, fmt.Errorf("periphhal: driver panicked: %v", p)
				}
			}()
			return open()
		}()
		var skip *skipError
		switch {
		case errors.As(err, &skip):
			st.State, st.Reason = hal.Skipped, skip.reason
		case err != nil:
			st.State, st.Reason = hal.Failed, strings.TrimPrefix(err.Error(), "periphhal: ")
		default:
			st.State = hal.Loaded
			l.closers = append(l.closers, c)
		}
	}
	l.log.Debug("periphhal: role", "role", role, "kind", kind, "state", st.State, "reason", st.Reason)
	l.board.Report = append(l.board.Report, st)
}

// line finds a role's GPIO line and claims it, so two roles cannot share one.
func (l *loader) line(role, line string) (gpio.PinIO, bool, error) {
	if line == "" {
		return nil, false, errors.New(`periphhal: no GPIO line is set (set line to a name such as "GPIO17" or an offset)`)
	}
	pin, readBack, err := l.hw.gpioLine(l.chip, line)
	if err != nil {
		return nil, false, err
	}
	if other, ok := l.used[pin]; ok {
		return nil, false, fmt.Errorf("periphhal: GPIO line %s is already used by %s; give each role its own line", line, other)
	}
	l.used[pin] = role
	return pin, readBack, nil
}

func (l *loader) output(d hal.OutputDesc) (*gpioOutput, error) {
	pin, readBack, err := l.line(d.Role, d.Line)
	if err != nil {
		return nil, err
	}
	o, err := newOutput(pin, d.ActiveLow, readBack)
	if err != nil {
		return nil, withConsumer(err, pin)
	}
	return o, nil
}

func (l *loader) input(d hal.InputDesc) (*gpioInput, error) {
	pull, err := parsePull(d.Pull)
	if err != nil {
		return nil, err
	}
	pin, _, err := l.line(d.Role, d.Line)
	if err != nil {
		return nil, err
	}
	in, err := newInput(pin, inputConfig{activeLow: d.ActiveLow, pull: pull, debounce: time.Duration(d.Debounce)}, l.log.With("role", d.Role))
	if err != nil {
		return nil, withConsumer(err, pin)
	}
	return in, nil
}

func (l *loader) sensor(d hal.SensorDesc) (closingSensor, error) {
	switch d.Model {
	case "bme280", "bmp280":
		bus, err := l.hw.i2cBus(d.Bus)
		if err != nil {
			return nil, err
		}
		s, err := newEnvSensor(bus, d.Address, d.Model, l.log.With("role", d.Role))
		if err != nil {
			_ = bus.Close()
			return nil, err
		}
		return s, nil
	case "pir":
		pin, _, err := l.line(d.Role, d.Line)
		if err != nil {
			return nil, err
		}
		// Pulled down so an unplugged sensor reads as an empty room, not noise.
		in, err := newInput(pin, inputConfig{pull: gpio.PullDown}, l.log.With("role", d.Role))
		if err != nil {
			return nil, withConsumer(err, pin)
		}
		return &presenceSensor{in}, nil
	}
	return nil, &skipError{fmt.Sprintf("sensor model %q is not supported (periphhal drives bme280, bmp280 and pir)", d.Model)}
}

// parsePull maps a description's pull to periph's; "" leaves the line as is.
func parsePull(s string) (gpio.Pull, error) {
	switch s {
	case "":
		return gpio.PullNoChange, nil
	case "up":
		return gpio.PullUp, nil
	case "down":
		return gpio.PullDown, nil
	case "none":
		return gpio.Float, nil
	}
	return gpio.PullNoChange, fmt.Errorf("periphhal: pull must be up, down or none, not %q", s)
}

// withConsumer adds who held a line when periph scanned the chips, which is
// usually why requesting it failed.
func withConsumer(err error, pin gpio.PinIO) error {
	c, ok := pin.(interface{ Consumer() string })
	if !ok || c.Consumer() == "" {
		return err
	}
	return fmt.Errorf("%w (the line was held by %q; stop that program or driver, or choose another line)", err, c.Consumer())
}

// closeOnce closes cs in reverse order the first time and returns the same
// result every time.
func closeOnce(cs []io.Closer) func() error {
	var (
		once sync.Once
		err  error
	)
	return func() error {
		once.Do(func() {
			var errs []error
			for i := len(cs) - 1; i >= 0; i-- {
				errs = append(errs, cs[i].Close())
			}
			err = errors.Join(errs...)
		})
		return err
	}
}
