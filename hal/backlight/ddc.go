package backlight

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/hal"
)

// DDC/CI framing (VESA DDC/CI 1.1, MCCS VCP code 0x10 "Luminance").
const (
	ddcAddr      = 0x37   // the display's DDC/CI slave address (0x6E written, 0x6F read)
	i2cSlave     = 0x0703 // I2C_SLAVE ioctl of i2c-dev
	vcpLuminance = 0x10
	ddcWait      = 50 * time.Millisecond // the standard's minimum between a request and its reply is 40 ms
)

// ErrDDCReply means the display's reply was garbled, had a bad checksum or
// answered another code.
var ErrDDCReply = errors.New("backlight: bad DDC/CI reply")

// DDC is a display's brightness over DDC/CI.
type DDC struct {
	name  string
	mu    sync.Mutex // one request and its reply at a time
	rw    io.ReadWriter
	close func() error
	sleep func(time.Duration)
	max   int
}

var _ hal.Backlight = (*DDC)(nil)

// OpenDDC opens an i2c-dev node and asks the display for its brightness
// range; a display that does not answer DDC/CI fails here.
func OpenDDC(dev string) (*DDC, error) {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("backlight: %w (i2c-dev loaded? roomd in the i2c group?)", err)
	}
	if err := unix.IoctlSetInt(int(f.Fd()), i2cSlave, ddcAddr); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("backlight: %s: I2C_SLAVE 0x37: %w", dev, err)
	}
	d, err := NewDDC(dev, f, time.Sleep)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	d.close = f.Close
	return d, nil
}

// NewDDC speaks DDC/CI over rw, a bus already addressed to the display;
// sleep waits between a request and its reply (tests pass a no-op).
func NewDDC(name string, rw io.ReadWriter, sleep func(time.Duration)) (*DDC, error) {
	d := &DDC{name: name, rw: rw, sleep: sleep, close: func() error { return nil }}
	_, m, err := d.get()
	if err != nil {
		return nil, err
	}
	if m <= 0 {
		return nil, fmt.Errorf("backlight: %s: the display reports a brightness range of 0", name)
	}
	d.max = m
	return d, nil
}

// Close releases the bus.
func (d *DDC) Close() error { return d.close() }

// String names the display for status and logs.
func (d *DDC) String() string { return "ddc:" + d.name }

// Brightness asks the display for its luminance, in percent of its range.
func (d *DDC) Brightness() (int, error) {
	v, m, err := d.get()
	if err != nil {
		return 0, err
	}
	return toPercent(v, m), nil
}

// SetBrightness sets the display's luminance (Set VCP Feature).
func (d *DDC) SetBrightness(percent int) error {
	if err := checkPercent(percent); err != nil {
		return err
	}
	v := fromPercent(percent, d.max)
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.rw.Write(frame(0x03, vcpLuminance, byte(v>>8), byte(v))); err != nil {
		return fmt.Errorf("backlight: %s: set VCP 0x10: %w", d.name, err)
	}
	d.sleep(ddcWait)
	return nil
}

// get is Get VCP Feature 0x10: the current value and the maximum.
func (d *DDC) get() (cur, max int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.rw.Write(frame(0x01, vcpLuminance)); err != nil {
		return 0, 0, fmt.Errorf("backlight: %s: get VCP 0x10: %w", d.name, err)
	}
	d.sleep(ddcWait)
	r := make([]byte, 11)
	if _, err := io.ReadFull(d.rw, r); err != nil {
		return 0, 0, fmt.Errorf("backlight: %s: get VCP 0x10 reply: %w", d.name, err)
	}
	return parseVCPReply(d.name, r)
}

// frame is a host-to-display message: destination 0x6E, source 0x51, the
// length with bit 7 set, the payload and an XOR checksum of it all.
func frame(payload ...byte) []byte {
	m := append([]byte{0x51, 0x80 | byte(len(payload))}, payload...)
	sum := byte(0x6E)
	for _, b := range m {
		sum ^= b
	}
	return append(m, sum)
}

// parseVCPReply reads a VCP Feature Reply: 6E 88 02 rc 10 type mh ml ch cl
// checksum, the checksum taken from the virtual host address 0x50.
func parseVCPReply(name string, r []byte) (cur, max int, err error) {
	sum := byte(0x50)
	for _, b := range r[:len(r)-1] {
		sum ^= b
	}
	switch {
	case r[0] != 0x6E || r[1] != 0x88 || r[2] != 0x02:
		return 0, 0, fmt.Errorf("%w from %s: % x (a display without DDC/CI, or DDC/CI off in its menu)", ErrDDCReply, name, r)
	case sum != r[10]:
		return 0, 0, fmt.Errorf("%w from %s: checksum %#x, want %#x", ErrDDCReply, name, r[10], sum)
	case r[4] != vcpLuminance:
		return 0, 0, fmt.Errorf("%w from %s: answers VCP %#x, not 0x10", ErrDDCReply, name, r[4])
	case r[3] != 0:
		return 0, 0, fmt.Errorf("%w from %s: the display does not support brightness (VCP 0x10)", ErrDDCReply, name)
	}
	return int(r[8])<<8 | int(r[9]), int(r[6])<<8 | int(r[7]), nil
}
