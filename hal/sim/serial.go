package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomd/roomd/hal/serialport"
)

// grace is how long a pump waits for the far side to take bytes before
// dropping them, as a real line does when nobody is listening. Once it has
// dropped, it waits only briefly until the far side reads again, so the
// device side is never held up for long.
const (
	grace        = 100 * time.Millisecond
	stalledGrace = time.Millisecond
)

// cable is a null-modem cable between the device side, opened through
// go.bug.st/serial like any serial port, and the person side, a pty slave
// that a person or a test opens by path. It is two pty pairs whose masters
// are joined by two pumps.
type cable struct {
	role   string
	log    *slog.Logger
	faults *faults

	device     *serialport.Line // opened on slave A; also in hal.Board.Serial
	devicePath string           // slave A
	personPath string           // slave B
	link       string           // RunDir/<role>, or "" when there is none

	// masters[0] is A (device side), masters[1] is B (person side).
	masters [2]*os.File
	// spares hold each slave open, so the masters never see EIO or a
	// hang-up while nobody else has the slave open.
	spares [2]*os.File

	wg                          sync.WaitGroup
	toDevice, toPerson, dropped atomic.Uint64
	closeOnce                   sync.Once
	closeErr                    error
}

// start runs the two pumps.
func (c *cable) start() {
	c.wg.Add(2)
	go c.pump(c.masters[1], c.masters[0], &c.toPerson)
	go c.pump(c.masters[0], c.masters[1], &c.toDevice)
}

// pump copies bytes from src to dst until either is closed.
func (c *cable) pump(dst, src *os.File, count *atomic.Uint64) {
	defer c.wg.Done()
	buf := make([]byte, 4096)
	stalled := false
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if c.faults.check(c.role) != nil {
				c.dropped.Add(uint64(n)) // a cut cable
			} else if werr := c.deliver(dst, buf[:n], count, &stalled); werr != nil {
				if !errors.Is(werr, os.ErrClosed) {
					c.log.Warn("sim: serial line stopped", "role", c.role, "err", werr)
				}
				return
			}
		}
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				c.log.Warn("sim: serial line stopped", "role", c.role, "err", err)
			}
			return
		}
	}
}

// deliver writes p to dst, dropping what the far side does not take in time.
func (c *cable) deliver(dst *os.File, p []byte, count *atomic.Uint64, stalled *bool) error {
	wait := grace
	if *stalled {
		wait = stalledGrace
	}
	if err := dst.SetWriteDeadline(time.Now().Add(wait)); err != nil {
		return err
	}
	n, err := dst.Write(p)
	count.Add(uint64(n))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if !*stalled {
			c.log.Debug("sim: nobody is reading the serial line; dropping bytes", "role", c.role)
		}
		*stalled = true
		c.dropped.Add(uint64(len(p) - n))
		return nil
	case err != nil:
		return err
	}
	*stalled = false
	return nil
}

// close tears the cable down and waits for the pumps.
func (c *cable) close() error {
	c.closeOnce.Do(func() {
		var errs []error
		if c.device != nil {
			if err := c.device.Close(); err != nil {
				errs = append(errs, fmt.Errorf("sim: closing %s device side: %w", c.role, err))
			}
		}
		// Closing a master wakes the pump reading it and the one writing it.
		for _, m := range c.masters {
			if m != nil {
				m.Close()
			}
		}
		c.wg.Wait()
		for _, s := range c.spares {
			if s != nil {
				s.Close()
			}
		}
		if c.link != "" {
			// Leave it alone if another run has replaced it since.
			if target, err := os.Readlink(c.link); err == nil && target == c.personPath {
				if err := os.Remove(c.link); err != nil {
					errs = append(errs, fmt.Errorf("sim: removing %s: %w", c.link, err))
				}
			}
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// symlink points dir/role at target, replacing a link left by an earlier run.
func symlink(dir, role, target string) (string, error) {
	if role == "" || role == "." || role == ".." || strings.ContainsAny(role, `/\`) {
		return "", fmt.Errorf("sim: role %q cannot be a file name; no symlink made", role)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sim: making run directory: %w", err)
	}
	p := filepath.Join(dir, role)
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return "", fmt.Errorf("sim: %s exists and is not a symlink; remove it", p)
	}
	// Make it aside and rename it into place, so the path is never missing
	// or half made.
	tmp := p + ".new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return "", fmt.Errorf("sim: linking %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("sim: linking %s: %w", p, err)
	}
	return p, nil
}
