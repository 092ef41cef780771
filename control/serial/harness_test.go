package serial_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/serialport"
	"github.com/roomd/roomd/room"
)

const (
	testVersion = "1.0.0-test"
	waitOutput  = 5 * time.Second
)

// fakeClock is the server's clock for lockout tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// holdCalls is a call engine that never reports back: a joined call stays
// Joining, which is all the room needs to count as busy.
type holdCalls struct{}

func (holdCalls) Start(context.Context, uint64, room.Meeting) {}
func (holdCalls) End(uint64)                                  {}

// SendDTMF and Decline make holdCalls a room.CallControl: tones and
// declines are accepted and go nowhere.
func (holdCalls) SendDTMF(uint64, string) error { return nil }
func (holdCalls) Decline(string)                {}

// startRoom runs a real room with in-memory devices until the test ends.
func startRoom(t *testing.T, settings *room.Settings) *room.Room {
	t.Helper()
	r := room.New(room.Options{Devices: room.Devices{Calls: holdCalls{}}, Settings: settings, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-r.Ready()
	return r
}

// syncRoom returns once the room has applied everything reported before it.
func syncRoom(t *testing.T, r *room.Room) {
	t.Helper()
	err := r.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromSystem}, Do: room.ChangeSettings{Settings: r.Snapshot().Settings}})
	if err != nil {
		t.Fatalf("sync with the room: %v", err)
	}
}

func pinHash(t testing.TB, pin string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// stream collects what a server writes, for the test to take piece by piece.
type stream struct {
	mu   sync.Mutex
	buf  []byte
	err  error
	wake chan struct{}
}

func newStream(r io.Reader) *stream {
	s := &stream{wake: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			s.mu.Lock()
			s.buf = append(s.buf, b[:n]...)
			if err != nil {
				s.err = err
			}
			s.mu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// take waits for n bytes and removes them. It returns what there is on timeout.
func (s *stream) take(n int, timeout time.Duration) ([]byte, error) {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if len(s.buf) >= n {
			out := bytes.Clone(s.buf[:n])
			s.buf = s.buf[n:]
			s.mu.Unlock()
			return out, nil
		}
		if s.err != nil {
			out, err := bytes.Clone(s.buf), s.err
			s.buf = nil
			s.mu.Unlock()
			return out, err
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-deadline:
			s.mu.Lock()
			out := bytes.Clone(s.buf)
			s.buf = nil
			s.mu.Unlock()
			return out, fmt.Errorf("timed out after %v with %d of %d bytes", timeout, len(out), n)
		}
	}
}

// drain waits d and returns everything received so far.
func (s *stream) drain(d time.Duration) []byte {
	time.Sleep(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.buf
	s.buf = nil
	return out
}

// namedLine gives a pseudo-terminal a stable name, so transcripts that show
// the source (serial:ttyTEST) do not depend on the /dev/pts number.
type namedLine struct {
	*serialport.Line
	name string
}

func (l namedLine) Name() string { return l.name }

var _ hal.SerialLine = namedLine{}

// ptyLine opens a real pseudo-terminal pair: the slave through serialport
// (go.bug.st/serial, as on the appliance), the master for the test.
func ptyLine(t *testing.T) (line hal.SerialLine, master *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	l, err := serialport.Open(hal.SerialDesc{Role: "console", Port: s.Name()})
	s.Close()
	if err != nil {
		m.Close()
		t.Fatalf("opening %s with serialport: %v", s.Name(), err)
	}
	t.Cleanup(func() { m.Close() })
	return namedLine{Line: l, name: "ttyTEST"}, m
}

// serveLine runs srv.ServeLine on line until the test ends; it fails the
// test if ServeLine does not return after cancellation.
func serveLine(t *testing.T, srv *serial.Server, line hal.SerialLine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeLine(ctx, line) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeLine: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeLine did not return after cancellation")
		}
	})
}

// listen runs srv.ListenUnix on a socket in a temporary directory until
// the test ends and returns its path once it accepts connections.
func listen(t *testing.T, srv *serial.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenUnix(ctx, path) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ListenUnix: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ListenUnix did not return after cancellation")
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket %s left behind (%v)", path, err)
		}
	})
	for i := 0; ; i++ {
		if fi, err := os.Lstat(path); err == nil {
			if fi.Mode().Perm() != 0o660 {
				t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
			}
			return path
		}
		select {
		case err := <-done:
			t.Fatalf("ListenUnix: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if i > 1000 {
			t.Fatal("the socket never appeared")
		}
	}
}

func dialRaw(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// logBuffer is a logger target the test can search.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
