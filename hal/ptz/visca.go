package ptz

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/serialport"
)

// VISCA errors (the camera's error replies, y0 6z ee FF), for callers that
// branch on them.
var (
	ErrVISCATimeout      = errors.New("ptz: the VISCA camera did not answer")
	ErrVISCANotNow       = errors.New("ptz: the VISCA camera cannot execute the command now")
	ErrVISCASyntax       = errors.New("ptz: the VISCA camera refused the command as malformed")
	ErrVISCABufferFull   = errors.New("ptz: the VISCA camera's command buffers are full")
	ErrVISCACanceled     = errors.New("ptz: the VISCA command was canceled")
	ErrVISCAReplyGarbled = errors.New("ptz: garbled VISCA reply")
)

// MaxVISCAPreset is the highest preset a VISCA camera stores (pp 0x00..0x7F).
const MaxVISCAPreset = 128

// VISCAOptions tune a VISCA camera; nil means defaults.
type VISCAOptions struct {
	Address     int           // camera address 1..7 on the daisy chain; 0 means 1
	AckTimeout  time.Duration // for the ACK; 0 means 1s
	DoneTimeout time.Duration // for the completion (a recall moves the head); 0 means 15s
}

// VISCA is a PTZ camera on a serial line speaking Sony's VISCA: presets are
// CAM_Memory Set (8x 01 04 3F 01 pp FF) and Recall (8x 01 04 3F 02 pp FF),
// each answered by an ACK (y0 4z FF) and a completion (y0 5z FF), or an
// error (y0 6z ee FF). The camera stores the presets itself.
type VISCA struct {
	line    io.ReadWriteCloser
	addr    byte
	ack     time.Duration
	done    time.Duration
	replies chan []byte
	readErr chan error // closed when the line's reader ends

	mu        sync.Mutex // one command in flight
	orphan    int        // socket of a command ACKed that timed out before completing; -1 for none
	closeOnce sync.Once
}

var _ hal.CameraPresets = (*VISCA)(nil)

// OpenVISCA opens the serial port d names (9600 8N1 unless it says
// otherwise, as Sony's cameras ship).
func OpenVISCA(d hal.SerialDesc, o *VISCAOptions) (*VISCA, error) {
	if d.Baud == 0 {
		d.Baud = 9600
	}
	l, err := serialport.Open(d)
	if err != nil {
		return nil, fmt.Errorf("ptz: VISCA camera: %w", err)
	}
	return NewVISCA(l, o), nil
}

// NewVISCA speaks VISCA over line, which it owns from now on.
func NewVISCA(line io.ReadWriteCloser, o *VISCAOptions) *VISCA {
	if o == nil {
		o = &VISCAOptions{}
	}
	v := &VISCA{line: line, addr: 1, ack: o.AckTimeout, done: o.DoneTimeout,
		replies: make(chan []byte, 16), readErr: make(chan error, 1), orphan: -1}
	if o.Address >= 1 && o.Address <= 7 {
		v.addr = byte(o.Address)
	}
	if v.ack <= 0 {
		v.ack = time.Second
	}
	if v.done <= 0 {
		v.done = 15 * time.Second
	}
	go v.read()
	return v
}

// read splits the line into packets ending in FF until it fails or closes.
func (v *VISCA) read() {
	buf := make([]byte, 64)
	var pkt []byte
	for {
		n, err := v.line.Read(buf)
		for _, b := range buf[:n] {
			pkt = append(pkt, b)
			if b == 0xFF {
				select {
				case v.replies <- pkt:
				default: // nobody waits for it: a late or unsolicited reply
				}
				pkt = nil
			} else if len(pkt) > 16 {
				pkt = nil // no VISCA reply is this long: resynchronise on the next FF
			}
		}
		if err != nil {
			v.readErr <- err
			close(v.readErr)
			return
		}
	}
}

// RecallPreset moves the camera to preset n (1..MaxVISCAPreset) and waits
// until it is there.
func (v *VISCA) RecallPreset(n int) error { return v.memory(0x02, n) }

// StorePreset stores the camera's position as preset n.
func (v *VISCA) StorePreset(n int) error { return v.memory(0x01, n) }

// Close closes the serial line.
func (v *VISCA) Close() error {
	var err error
	v.closeOnce.Do(func() { err = v.line.Close() })
	return err
}

func (v *VISCA) memory(op byte, n int) error {
	if n < 1 || n > MaxVISCAPreset {
		return fmt.Errorf("ptz: preset %d is not in 1..%d", n, MaxVISCAPreset)
	}
	return v.command(0x01, 0x04, 0x3F, op, byte(n-1))
}

// command sends 8x <payload> FF and waits for its ACK, then its completion.
func (v *VISCA) command(payload ...byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for len(v.replies) > 0 { // left from a command that timed out
		<-v.replies
	}
	msg := append(append([]byte{0x80 | v.addr}, payload...), 0xFF)
	if _, err := v.line.Write(msg); err != nil {
		return fmt.Errorf("ptz: VISCA write: %w", err)
	}
	from := 0x80 | (v.addr+8)<<4 // y0: the camera's address + 8, high nibble
	socket := -1
	deadline := time.NewTimer(v.ack)
	defer deadline.Stop()
	for {
		select {
		case err, ok := <-v.readErr:
			if !ok {
				err = io.EOF
			}
			return fmt.Errorf("ptz: VISCA line: %w", err)
		case <-deadline.C:
			if socket < 0 {
				return fmt.Errorf("%w within %v (no ACK to % X; check the cable, baud rate and camera address)", ErrVISCATimeout, v.ack, msg)
			}
			v.orphan = socket // its completion may still come: not ours
			return fmt.Errorf("%w within %v (ACKed, never completed)", ErrVISCATimeout, v.done)
		case r := <-v.replies:
			if len(r) < 3 || r[0] != byte(from) {
				continue // another camera on the chain, or noise
			}
			kind, z := r[1]&0xF0, int(r[1]&0x0F)
			if socket < 0 && z == v.orphan && kind != 0x40 {
				v.orphan = -1 // the late end of the command that timed out
				continue
			}
			switch {
			case kind == 0x40 && len(r) == 3 && socket < 0:
				socket = z
				deadline.Reset(v.done)
			case kind == 0x50 && len(r) == 3 && (z == socket || socket < 0):
				return nil // some cameras complete at once, without an ACK
			case kind == 0x60 && len(r) == 4 && (z == socket || z == 0 || socket < 0):
				return viscaError(r[2])
			default:
				return fmt.Errorf("%w: % X", ErrVISCAReplyGarbled, r)
			}
		}
	}
}

// viscaError is the error a camera's error code means.
func viscaError(code byte) error {
	switch code {
	case 0x01:
		return fmt.Errorf("%w (message length error)", ErrVISCASyntax)
	case 0x02:
		return ErrVISCASyntax
	case 0x03:
		return ErrVISCABufferFull
	case 0x04:
		return ErrVISCACanceled
	case 0x05:
		return fmt.Errorf("%w (no such socket)", ErrVISCACanceled)
	case 0x41:
		return ErrVISCANotNow
	}
	return fmt.Errorf("%w: error code %#02x", ErrVISCAReplyGarbled, code)
}
