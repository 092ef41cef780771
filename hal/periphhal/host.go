package periphhal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/serialport"
)

// periphHardware is the machine as periph's host drivers found it.
type periphHardware struct {
	initErr error      // host.Init failed as a whole
	chips   []gpioChip // Linux GPIO character devices
	state   *driverreg.State
}

// newPeriphHardware runs host.Init, which periph makes idempotent, and notes
// which GPIO chips it opened.
func newPeriphHardware(log *slog.Logger) *periphHardware {
	h := &periphHardware{}
	state, err := host.Init()
	if err != nil {
		h.initErr = fmt.Errorf("periphhal: periph host drivers failed to start: %w", err)
		log.Warn("periphhal: host.Init failed", "err", err)
		return h
	}
	h.state = state
	for _, f := range state.Failed {
		log.Debug("periphhal: periph driver failed", "driver", f.D.String(), "err", f.Err)
	}
	for _, c := range gpioioctl.Chips {
		h.chips = append(h.chips, ioctlChip{c})
	}
	return h
}

func (h *periphHardware) gpioLine(chip, line string) (gpio.PinIO, bool, error) {
	if h.initErr != nil {
		return nil, false, h.initErr
	}
	if len(h.chips) == 0 {
		return nil, false, h.whyNoChip(chip)
	}
	pin, err := findLine(h.chips, chip, line)
	// Reading a gpioioctl output line would turn it into an input.
	return pin, false, err
}

// whyNoChip tells a missing chip from one roomd may not open.
func (h *periphHardware) whyNoChip(chip string) error {
	paths, _ := filepath.Glob("/dev/gpiochip*")
	if len(paths) == 0 {
		return errNoChip(chip)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		return fmt.Errorf("periphhal: cannot open %s: %w (add roomd's user to the gpio group, or check the udev rules)", paths[0], err)
	}
	_ = f.Close()
	return fmt.Errorf("periphhal: %s exists but periph could not use it%s", paths[0], h.driverFailure("ioctl-gpio"))
}

// driverFailure is periph's own reason for a driver not loading, if any.
func (h *periphHardware) driverFailure(name string) string {
	if h.state == nil {
		return ""
	}
	for _, f := range append(append([]driverreg.DriverFailure(nil), h.state.Failed...), h.state.Skipped...) {
		if f.D.String() == name {
			return ": " + f.Err.Error()
		}
	}
	return ""
}

func (h *periphHardware) i2cBus(name string) (i2c.BusCloser, error) {
	if h.initErr != nil {
		return nil, h.initErr
	}
	refs := i2creg.All()
	if len(refs) == 0 {
		return nil, errors.New("periphhal: no I2C bus found (enable I2C with dtparam=i2c_arm=on in the boot config.txt and reboot, then check /dev/i2c-1 exists)")
	}
	b, err := i2creg.Open(name)
	if err != nil {
		var have []string
		for _, r := range refs {
			have = append(have, r.Name)
		}
		return nil, fmt.Errorf("periphhal: opening I2C bus %q: %w (this machine has %s; is /dev/i2c-N readable by roomd's user, e.g. through the i2c group?)", name, err, strings.Join(have, ", "))
	}
	return b, nil
}

func (h *periphHardware) serialLine(d hal.SerialDesc) (hal.SerialLine, error) {
	l, err := serialport.Open(d)
	if errors.Is(err, serialport.ErrNoPort) {
		return nil, fmt.Errorf("periphhal: %w; plug in a USB serial adapter, or set port to a device path such as /dev/ttyAMA0", err)
	}
	if err != nil {
		return nil, fmt.Errorf("periphhal: %w (is the device present and roomd's user in the dialout group?)", err)
	}
	return l, nil
}
