// Package serialport opens serial control ports with go.bug.st/serial: real
// RS-232/USB adapters and, on the simulated board, pseudo-terminals, so both
// go through the same driver.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"

	"github.com/roomd/roomd/hal"
)

// ErrNoPort is returned when "auto" or "usb:VID:PID" matches no adapter.
var ErrNoPort = errors.New("serialport: no matching serial adapter is plugged in")

// Mode turns a description's settings into go.bug.st/serial's, with the
// defaults 115200 8N1.
func Mode(d hal.SerialDesc) (*serial.Mode, error) {
	m := &serial.Mode{BaudRate: d.Baud, DataBits: d.DataBits, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	if m.BaudRate == 0 {
		m.BaudRate = 115200
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	switch d.Parity {
	case "", "none":
	case "odd":
		m.Parity = serial.OddParity
	case "even":
		m.Parity = serial.EvenParity
	default:
		return nil, fmt.Errorf("serialport: %s: parity must be none, odd or even, not %q", d.Role, d.Parity)
	}
	switch d.StopBits {
	case "", "1":
	case "1.5":
		m.StopBits = serial.OnePointFiveStopBits
	case "2":
		m.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("serialport: %s: stop_bits must be 1, 1.5 or 2, not %q", d.Role, d.StopBits)
	}
	return m, nil
}

// Resolve turns "auto" or "usb:VID:PID" into a device path by enumerating
// USB serial adapters; any other value is returned as it is.
func Resolve(port string) (string, error) {
	want := ""
	switch {
	case port == "auto":
	case strings.HasPrefix(port, "usb:"):
		want = strings.ToLower(strings.TrimPrefix(port, "usb:"))
	default:
		return port, nil
	}
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return "", fmt.Errorf("serialport: listing ports: %w", err)
	}
	for _, p := range ports {
		if !p.IsUSB {
			continue
		}
		if want == "" || strings.ToLower(p.VID+":"+p.PID) == want {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("%w (%s)", ErrNoPort, port)
}

// Line is an open serial port.
type Line struct {
	serial.Port
	name string
}

// Name is the device path.
func (l *Line) Name() string { return l.name }

// Write writes all of p. go.bug.st/serial makes a single write(2), which a
// signal (Go's preemption among them) can cut short without an error; this
// keeps the io.Writer contract by writing the rest.
func (l *Line) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := l.Port.Write(p[done:])
		done += n
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.ErrShortWrite
		}
	}
	return done, nil
}

var _ hal.SerialLine = (*Line)(nil)

// Open opens the port a description names with its settings.
func Open(d hal.SerialDesc) (*Line, error) {
	mode, err := Mode(d)
	if err != nil {
		return nil, err
	}
	path, err := Resolve(d.Port)
	if err != nil {
		return nil, err
	}
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, fmt.Errorf("serialport: opening %s: %w", path, err)
	}
	return &Line{Port: p, name: path}, nil
}
