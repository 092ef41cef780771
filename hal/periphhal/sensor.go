package periphhal

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/bmxx80"

	"github.com/roomd/roomd/hal"
)

// closingSensor is a sensor the board closes.
type closingSensor interface {
	hal.Sensor
	io.Closer
}

// envOpts is the datasheet's "weather monitoring" setting: single forced
// measurements, 1x oversampling, no filter. A room changes slowly.
var envOpts = bmxx80.Opts{Temperature: bmxx80.O1x, Pressure: bmxx80.O1x, Humidity: bmxx80.O1x}

// envSensor is a BME280 (temperature and humidity) or BMP280 (temperature)
// on an I2C bus.
type envSensor struct {
	dev        *bmxx80.Dev
	bus        i2c.Bus
	quantities []hal.Quantity
	now        func() time.Time

	mu     sync.Mutex
	closed bool
}

var _ hal.Sensor = (*envSensor)(nil)

// newEnvSensor finds the chip at addr on bus. model is what the description
// expects; the chip's own ID decides what is measured.
func newEnvSensor(bus i2c.Bus, addr uint16, model string, log *slog.Logger) (*envSensor, error) {
	dev, err := bmxx80.NewI2C(bus, addr, &envOpts)
	if err != nil {
		return nil, fmt.Errorf("periphhal: no %s answered at %#x on I2C bus %s: %w (check the wiring and the address; i2cdetect -y 1 lists what answers)", model, addr, bus, err)
	}
	s := &envSensor{dev: dev, bus: bus, quantities: []hal.Quantity{hal.Temperature}, now: time.Now}
	var precision physic.Env
	dev.Precision(&precision)
	if precision.Humidity != 0 {
		s.quantities = append(s.quantities, hal.Humidity)
	}
	if chip := strings.ToLower(strings.SplitN(dev.String(), "{", 2)[0]); chip != model {
		log.Warn("periphhal: the sensor is not the model described; using what it is", "described", model, "found", chip)
	}
	return s, nil
}

// Quantities lists temperature, and humidity on a BME280.
func (s *envSensor) Quantities() []hal.Quantity {
	return append([]hal.Quantity(nil), s.quantities...)
}

// Read takes one forced measurement.
func (s *envSensor) Read() ([]hal.Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	var e physic.Env
	if err := s.dev.Sense(&e); err != nil {
		return nil, fmt.Errorf("periphhal: reading %s: %w", s.dev, err)
	}
	at := s.now()
	r := []hal.Reading{{Quantity: hal.Temperature, Value: e.Temperature.Celsius(), At: at}}
	if len(s.quantities) > 1 {
		r = append(r, hal.Reading{Quantity: hal.Humidity, Value: float64(e.Humidity) / float64(physic.PercentRH), At: at})
	}
	return r, nil
}

// Close puts the chip to sleep and closes the bus.
func (s *envSensor) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.dev.Halt()
	if c, ok := s.bus.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("periphhal: closing %s: %w", s.dev, err)
	}
	return nil
}

// presenceSensor is a PIR sensor on a GPIO line. It is also a hal.Input, so
// the room can watch occupancy change instead of polling it.
type presenceSensor struct {
	*gpioInput
}

var (
	_ hal.Sensor = (*presenceSensor)(nil)
	_ hal.Input  = (*presenceSensor)(nil)
)

// Quantities is occupancy.
func (p *presenceSensor) Quantities() []hal.Quantity { return []hal.Quantity{hal.Occupancy} }

// Read reports occupancy 1 while the sensor's line is active, 0 otherwise.
func (p *presenceSensor) Read() ([]hal.Reading, error) {
	active, err := p.Active()
	if err != nil {
		return nil, err
	}
	v := 0.0
	if active {
		v = 1
	}
	return []hal.Reading{{Quantity: hal.Occupancy, Value: v, At: p.now()}}, nil
}
