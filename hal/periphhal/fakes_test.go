package periphhal

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/roomd/roomd/hal"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeChip is a GPIO chip of gpiotest pins.
type fakeChip struct {
	name, label string
	lines       []*gpiotest.Pin
}

func (c *fakeChip) Name() string  { return c.name }
func (c *fakeChip) Label() string { return c.label }

func (c *fakeChip) lineNamed(name string) gpio.PinIO {
	for _, l := range c.lines {
		if l.N == name {
			return l
		}
	}
	return nil
}

func (c *fakeChip) lineAt(offset int) gpio.PinIO {
	if offset < 0 || offset >= len(c.lines) {
		return nil
	}
	return c.lines[offset]
}

// piChip is a Raspberry Pi 4's gpiochip0: GPIO0 to GPIO27, ready for edges.
func piChip() *fakeChip {
	c := &fakeChip{name: "gpiochip0", label: "pinctrl-bcm2711"}
	for i := range 28 {
		c.lines = append(c.lines, &gpiotest.Pin{N: fmt.Sprintf("GPIO%d", i), Num: i, EdgesChan: make(chan gpio.Level, 32)})
	}
	return c
}

// expanderChip is the Pi 4's second chip, whose lines have other names.
func expanderChip() *fakeChip {
	c := &fakeChip{name: "gpiochip1", label: "raspberrypi-exp-gpio"}
	for i, n := range []string{"BT_ON", "WL_ON", "PWR_LED_OFF", "GLOBAL_RESET"} {
		c.lines = append(c.lines, &gpiotest.Pin{N: n, Num: i, EdgesChan: make(chan gpio.Level, 32)})
	}
	return c
}

// fakeHardware is a machine made of periph's fakes.
type fakeHardware struct {
	chips    []gpioChip
	buses    map[string]*i2ctest.Playback
	ports    map[string]*pipeLine
	requests []string // every device asked for, in order
	panicOn  string   // a line whose lookup panics, to test recovery
}

func (f *fakeHardware) gpioLine(chip, line string) (gpio.PinIO, bool, error) {
	f.requests = append(f.requests, "gpio:"+line)
	if line == f.panicOn {
		panic("fake driver bug")
	}
	p, err := findLine(f.chips, chip, line)
	return p, true, err
}

func (f *fakeHardware) i2cBus(name string) (i2c.BusCloser, error) {
	f.requests = append(f.requests, "i2c:"+name)
	b, ok := f.buses[name]
	if !ok {
		return nil, fmt.Errorf("periphhal: no I2C bus %q", name)
	}
	return b, nil
}

func (f *fakeHardware) serialLine(d hal.SerialDesc) (hal.SerialLine, error) {
	f.requests = append(f.requests, "serial:"+d.Port)
	p, ok := f.ports[d.Port]
	if !ok {
		return nil, fmt.Errorf("periphhal: opening %s: no such device", d.Port)
	}
	return p, nil
}

// pipeLine is a serial line whose far end the test holds.
type pipeLine struct {
	net.Conn
	name string
}

func (p *pipeLine) Name() string { return p.name }

func newPipeLine(name string) (*pipeLine, net.Conn) {
	a, b := net.Pipe()
	return &pipeLine{Conn: a, name: name}, b
}

// bme280Init is what bmxx80.NewI2C exchanges with a BME280 at 0x76 using
// envOpts; the calibration bytes come from bmxx80's own tests.
func bme280Init() []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x76, W: []byte{0xd0}, R: []byte{0x60}}, // chip ID: BME280
		{Addr: 0x76, W: []byte{0x88}, R: []byte{0x10, 0x6e, 0x6c, 0x66, 0x32, 0x0, 0x5d, 0x95, 0xb8, 0xd5, 0xd0, 0xb, 0x77, 0x1e, 0x9d, 0xff, 0xf9, 0xff, 0xac, 0x26, 0xa, 0xd8, 0xbd, 0x10, 0x0, 0x4b}},
		{Addr: 0x76, W: []byte{0xe1}, R: []byte{0x6e, 0x1, 0x0, 0x13, 0x5, 0x0, 0x1e}},
		// ctrl_meas sleep with 1x oversampling, ctrl_hum 1x, config, ctrl_meas again.
		{Addr: 0x76, W: []byte{0xf4, 0x24, 0xf2, 0x01, 0xf5, 0xa0, 0xf4, 0x24}},
	}
}

// bme280Sense is one forced measurement: 23.72°C, 65.3%RH.
func bme280Sense() []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x76, W: []byte{0xf4, 0x25}},         // forced mode
		{Addr: 0x76, W: []byte{0xf3}, R: []byte{8}}, // measuring
		{Addr: 0x76, W: []byte{0xf3}, R: []byte{0}}, // idle
		{Addr: 0x76, W: []byte{0xf7}, R: []byte{0x4a, 0x52, 0xc0, 0x80, 0x96, 0xc0, 0x7a, 0x76}},
	}
}

// checkGoroutines returns a check that fails t if more goroutines run than
// when it was made, once those winding down have had time to return.
func checkGoroutines(t *testing.T) func() {
	t.Helper()
	base := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Fatalf("goroutine leak: %d running, %d before\n%s", runtime.NumGoroutine(), base, buf)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
