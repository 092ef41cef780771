//go:build linux

package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/serialport"
)

// openCable makes the cable for d and opens its device side through
// serialport, so the daemon's serial code runs exactly as on hardware.
func openCable(d hal.SerialDesc, runDir string, log *slog.Logger, f *faults) (_ *cable, err error) {
	c := &cable{role: d.Role, log: log, faults: f}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	for i := range c.masters {
		m, s, err := pty.Open()
		if err != nil {
			return nil, fmt.Errorf("sim: opening a pseudo-terminal: %w", err)
		}
		c.spares[i] = s
		if c.masters[i], err = pollable(m); err != nil {
			return nil, err
		}
		// Raw from the start: a cooked slave would echo bytes back into the
		// cable or mangle line endings before anyone has opened it.
		if err := makeRaw(s); err != nil {
			return nil, err
		}
	}
	c.devicePath = c.spares[0].Name()
	c.personPath = c.spares[1].Name()

	dev := d
	dev.Port = c.devicePath
	if c.device, err = serialport.Open(dev); err != nil {
		return nil, fmt.Errorf("sim: opening the device side: %w", err)
	}
	if runDir != "" {
		if c.link, err = symlink(runDir, d.Role, c.personPath); err != nil {
			// The line works without it; the path is in the state dump.
			log.Warn("sim: serial line has no symlink", "role", d.Role, "path", c.personPath, "err", err)
			err = nil
		}
	}
	c.start()
	return c, nil
}

// pollable swaps a pty master for a non-blocking duplicate. pty.Open leaves
// the master in blocking mode (it calls Fd), where Close cannot interrupt a
// Read and write deadlines do not work; a non-blocking file goes through the
// runtime poller, which supports both.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sim: duplicating pty master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sim: pty master: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// makeRaw puts a pty slave in raw mode (cfmakeraw) through f, without
// switching f to blocking mode.
func makeRaw(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("sim: %s: %w", f.Name(), err)
	}
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ioErr = err
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		ioErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err = errors.Join(err, ioErr); err != nil {
		return fmt.Errorf("sim: raw mode on %s: %w", f.Name(), err)
	}
	return nil
}
