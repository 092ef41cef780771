package periphhal

import (
	"errors"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestOutputPolarity(t *testing.T) {
	for _, tc := range []struct {
		name      string
		activeLow bool
		onLevel   gpio.Level
	}{
		{"active high", false, gpio.High},
		{"active low", true, gpio.Low},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pin := &gpiotest.Pin{N: "GPIO17"}
			o, err := newOutput(pin, tc.activeLow, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := pin.Read(); got != !tc.onLevel {
				t.Fatalf("after load the line is %s, want %s (off)", got, !tc.onLevel)
			}
			if on, err := o.Get(); err != nil || on {
				t.Fatalf("Get after load = %t, %v; want off", on, err)
			}
			if err := o.Set(true); err != nil {
				t.Fatal(err)
			}
			if got := pin.Read(); got != tc.onLevel {
				t.Fatalf("on drives the line %s, want %s", got, tc.onLevel)
			}
			if on, err := o.Get(); err != nil || !on {
				t.Fatalf("Get after Set(true) = %t, %v; want on", on, err)
			}
			// Read-back comes from the line, not from what was last set.
			_ = pin.Out(!tc.onLevel)
			if on, err := o.Get(); err != nil || on {
				t.Fatalf("Get with the line at %s = %t, %v; want off", !tc.onLevel, on, err)
			}
		})
	}
}

func TestOutputWithoutReadBackReportsLastSet(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO22"}
	o, err := newOutput(pin, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Set(true); err != nil {
		t.Fatal(err)
	}
	_ = pin.Out(gpio.High) // someone else moved the line; Get must not read it
	if on, err := o.Get(); err != nil || !on {
		t.Fatalf("Get = %t, %v; want the last set level, on", on, err)
	}
}

// failingPin refuses to drive its line, like a line another program holds.
type failingPin struct{ gpiotest.Pin }

func (p *failingPin) Out(gpio.Level) error {
	return errors.New("line_request ioctl: device or resource busy")
}

func TestOutputDriveErrorSaysWhichLine(t *testing.T) {
	_, err := newOutput(&failingPin{Pin: gpiotest.Pin{N: "GPIO27"}}, false, false)
	if err == nil {
		t.Fatal("newOutput succeeded on a line that cannot be driven")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "periphhal: ") || !strings.Contains(msg, "GPIO27") || !strings.Contains(msg, "busy") {
		t.Fatalf("error %q should be prefixed periphhal: and name the line and the cause", msg)
	}
}

func TestOutputCloseReleasesOnce(t *testing.T) {
	pin := &closingPin{Pin: gpiotest.Pin{N: "GPIO17"}}
	o, err := newOutput(pin, false, true)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if pin.closes != 1 {
		t.Fatalf("line released %d times, want 1", pin.closes)
	}
	if err := o.Set(true); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close = %v, want ErrClosed", err)
	}
	if _, err := o.Get(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
}

// closingPin is a gpiotest.Pin released like a gpioioctl line.
type closingPin struct {
	gpiotest.Pin
	closes int
}

func (p *closingPin) Close() { p.closes++ }
