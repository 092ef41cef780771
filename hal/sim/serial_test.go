//go:build linux

package sim_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
)

// openPerson opens the person side the way picocom or a test harness would.
func openPerson(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("opening person side %s: %v", path, err)
	}
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return p
}

// readFull reads len(want) bytes within 5s and compares.
func readFull(t *testing.T, r io.Reader, want string) {
	t.Helper()
	var got []byte
	buf := make([]byte, 256)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read after %q: %v", got, err)
		}
	}
	if string(got) != want {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// deviceSide is the console line the daemon would use, with a read timeout
// so the test cannot hang.
func deviceSide(t *testing.T, b *sim.Board) hal.SerialLine {
	t.Helper()
	line := b.Hardware().Serial[hal.RoleConsole]
	if line == nil {
		t.Fatalf("no console line; report %+v", b.Hardware().Report)
	}
	line.(interface{ SetReadTimeout(time.Duration) error }).SetReadTimeout(100 * time.Millisecond)
	return line
}

func TestSerialCarriesBytesBothWays(t *testing.T) {
	runDir := t.TempDir()
	desc, _ := hal.Profile("sim")
	b, err := sim.New(desc, &sim.Options{RunDir: runDir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dev := deviceSide(t, b)

	link := filepath.Join(runDir, hal.RoleConsole)
	if target, err := os.Readlink(link); err != nil || target != b.SerialPath(hal.RoleConsole) {
		t.Fatalf("symlink %s -> %q (%v), want %q", link, target, err, b.SerialPath(hal.RoleConsole))
	}
	if !strings.HasPrefix(dev.Name(), "/dev/pts/") || dev.Name() == b.SerialPath(hal.RoleConsole) {
		t.Errorf("device side %q, person side %q: want two different ptys", dev.Name(), b.SerialPath(hal.RoleConsole))
	}

	for round := range 3 { // the person side closes and reopens between rounds
		person := openPerson(t, link)
		// CR LF and control bytes pass untouched: both sides are raw.
		in := "mute on\r\n\x03\x00" + strings.Repeat("x", round*3000)
		writeAll(t, person, []byte(in))
		readFull(t, dev, in)
		out := "ok muted\r\n"
		writeAll(t, dev, []byte(out))
		readFull(t, person, out)
		if err := person.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The pump counts just after the bytes are on their way.
	waitFor(t, func() bool { return b.State().Serial[hal.RoleConsole].ToPerson == 30 })
	st := b.State().Serial[hal.RoleConsole]
	if st.Path != b.SerialPath(hal.RoleConsole) || st.Link != link || st.Device != dev.Name() {
		t.Errorf("serial state = %+v", st)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("symlink still there after Close: %v", err)
	}
}

// Nobody on the person side must not block the daemon, and a fault cuts the
// cable.
func TestSerialNobodyListeningAndCutCable(t *testing.T) {
	b := newBoard(t)
	dev := deviceSide(t, b)
	chunk := bytes.Repeat([]byte("status: idle\r\n"), 1000)
	start := time.Now()
	for range 20 { // ~280 KB, far more than the kernel buffers
		writeAll(t, dev, chunk)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("writing with nobody listening took %v", d)
	}
	// Every byte is either held for the person side or dropped.
	waitFor(t, func() bool {
		st := b.State().Serial[hal.RoleConsole]
		return st.Dropped > 0 && st.ToPerson+st.Dropped == 20*uint64(len(chunk))
	})

	person := openPerson(t, b.SerialPath(hal.RoleConsole))
	defer person.Close()
	b.Fail(hal.RoleConsole, nil)
	dropped := b.State().Serial[hal.RoleConsole].Dropped
	writeAll(t, person, []byte("lost\n"))
	waitFor(t, func() bool { return b.State().Serial[hal.RoleConsole].Dropped >= dropped+5 })
	b.Heal(hal.RoleConsole)
	writeAll(t, person, []byte("ping\n"))
	readFull(t, dev, "ping\n")
}

func TestSerialCloseLeavesNothingRunning(t *testing.T) {
	before := runtime.NumGoroutine()
	desc, _ := hal.Profile("sim")
	b, err := sim.New(desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	person := openPerson(t, b.SerialPath(hal.RoleConsole))
	dev := b.Hardware().Serial[hal.RoleConsole]
	// A daemon reader blocked on the device side must be woken by Close.
	readErr := make(chan error, 1)
	go func() {
		_, err := dev.Read(make([]byte, 16))
		readErr <- err
	}()
	person.Write([]byte("x"))
	<-readErr
	go func() {
		_, err := dev.Read(make([]byte, 16))
		readErr <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Error("device Read after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("device Read still blocked after Close")
	}
	// The person side sees the line go away instead of hanging.
	if _, err := person.Read(make([]byte, 1)); err == nil {
		t.Log("person Read after Close returned no error (timeout)")
	}
	person.Close()
	checkNoLeaks(t, before)
}

// writeAll writes p in full: go.bug.st/serial's Write is one write(2), which
// a signal (such as the Go runtime's preemption) can cut short without an
// error.
func writeAll(t *testing.T, w io.Writer, p []byte) {
	t.Helper()
	for len(p) > 0 {
		n, err := w.Write(p)
		if err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
