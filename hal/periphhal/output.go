package periphhal

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomd/roomd/hal"
)

// gpioOutput is an LED or relay on one GPIO line.
type gpioOutput struct {
	pin       gpio.PinIO
	activeLow bool
	// readBack is false for gpioioctl lines: periph's Read turns an output
	// line back into an input, so Get reports the level last driven instead.
	readBack bool

	mu     sync.Mutex
	on     bool
	closed bool
}

var _ hal.Output = (*gpioOutput)(nil)

// newOutput claims pin as an output and drives it off, so every output
// starts from a known level whatever the line's polarity.
func newOutput(pin gpio.PinIO, activeLow, readBack bool) (*gpioOutput, error) {
	o := &gpioOutput{pin: pin, activeLow: activeLow, readBack: readBack}
	if err := o.Set(false); err != nil {
		return nil, err
	}
	return o, nil
}

// Set drives the output on or off.
func (o *gpioOutput) Set(on bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	if err := o.pin.Out(gpio.Level(on != o.activeLow)); err != nil {
		return fmt.Errorf("periphhal: driving %s %s: %w", o.pin.Name(), onOff(on), err)
	}
	o.on = on
	return nil
}

// Get reports whether the output is on, read from the line where the driver
// allows it.
func (o *gpioOutput) Get() (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false, ErrClosed
	}
	if o.readBack {
		return (o.pin.Read() == gpio.High) != o.activeLow, nil
	}
	return o.on, nil
}

// Close releases the line; it leaves the level as it is.
func (o *gpioOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	return release(o.pin)
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// release gives a line back to the kernel if its driver holds it open.
func release(pin gpio.PinIO) error {
	switch c := pin.(type) {
	case interface{ Close() error }:
		return c.Close()
	case interface{ Close() }: // periph's *gpioioctl.GPIOLine
		c.Close()
	}
	return nil
}
