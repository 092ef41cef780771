package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/internal/pinlock"
	"github.com/roomd/roomd/room"
)

// Room is what the console needs of the room, as every control surface's;
// *room.Room satisfies it.
type Room = control.Room

const defaultLine = 4096 // Options.MaxLineLength when unset

// Options configure a Server. The zero value serves without login.
type Options struct {
	// RequireLogin makes serial sessions (and any other session that is
	// not FromSocket or FromRemote) ask for the PIN before anything else.
	// The Unix socket is guarded by its file mode instead, and remote
	// surfaces log their users in themselves.
	RequireLogin bool
	// PINHash is the bcrypt hash of the console PIN. With RequireLogin and
	// no hash, no PIN is accepted: the serial console stays locked while
	// the socket works.
	PINHash []byte
	// SoftwareVersion is reported as SystemUnit Software Version.
	SoftwareVersion string
	// Logger gets session and login events; never a PIN. Nil discards.
	Logger *slog.Logger
	// Now is the clock for the lockout; nil means time.Now.
	Now func() time.Time
	// MaxLineLength is the longest request line in bytes (default 4096).
	MaxLineLength int
	// MaxSessions bounds the socket sessions open at once (default 32).
	MaxSessions int
	// RequestTimeout bounds how long a command waits for the room (default 15s).
	RequestTimeout time.Duration
	// Feedback is the daemon's feedback hub, shared with the other
	// surfaces; nil makes one for this server from the room and
	// SoftwareVersion. A given hub reports its own software version.
	Feedback *feedback.Hub
	// LineDialect is the dialect ServeLine's sessions start in: an
	// integrator's Cisco driver never sends xPreferences Dialect Cisco, so
	// a console cabled to one starts in DialectCisco (greeted with OK
	// after the PIN). The zero value is roomd's own.
	LineDialect Dialect
}

// Dialect is the language a session starts in; a client may switch with
// xPreferences Dialect.
type Dialect int

// Dialects.
const (
	DialectRoomd Dialect = iota // roomd's own: CR LF, schema 1.x JSON
	DialectCisco                // Cisco RoomOS's, as jsxapi and Cisco drivers expect (cisco.go)
)

// ParseDialect reads a dialect's name as configuration files write it:
// "roomd" or "cisco" (any case).
func ParseDialect(name string) (Dialect, error) {
	switch {
	case strings.EqualFold(name, "roomd"):
		return DialectRoomd, nil
	case strings.EqualFold(name, "cisco"):
		return DialectCisco, nil
	}
	return DialectRoomd, fmt.Errorf("serial: dialect %q: use roomd or cisco", name)
}

func (d Dialect) String() string {
	switch d {
	case DialectRoomd:
		return "roomd"
	case DialectCisco:
		return "cisco"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Server serves the console protocol to any number of sessions at once.
// Sessions share the room and the PIN lockout and nothing else.
type Server struct {
	room   Room
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	hub    *feedback.Hub // status, feedback and catch-up for every session
	nextID atomic.Uint64
	authMu sync.Mutex   // PIN checks run one at a time so parallel sessions cannot outrun the lockout
	lock   pinlock.Lock // wrong PINs, shared by every session
}

// NewServer makes a server for r.
func NewServer(r Room, o Options) (*Server, error) {
	if r == nil {
		return nil, errors.New("serial: no room")
	}
	if o.RequireLogin && len(o.PINHash) > 0 {
		if _, err := bcrypt.Cost(o.PINHash); err != nil {
			return nil, fmt.Errorf("serial: login is required but the PIN hash is not a bcrypt hash (%v); set one with roomd's PIN setting", err)
		}
	}
	s := &Server{room: r, opts: o, log: o.Logger, now: o.Now, hub: o.Feedback}
	if s.hub == nil {
		s.hub = feedback.New(r, feedback.Options{System: control.System{SoftwareVersion: o.SoftwareVersion}})
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.MaxLineLength <= 0 {
		s.opts.MaxLineLength = defaultLine
	}
	if s.opts.MaxSessions <= 0 {
		s.opts.MaxSessions = 32
	}
	if s.opts.RequestTimeout <= 0 {
		s.opts.RequestTimeout = 15 * time.Second
	}
	return s, nil
}

// Serve runs one session on rw until the client says bye, the stream ends or
// ctx is cancelled, and closes rw. src says who the room hears commands
// from: room.Source{Kind: room.FromSocket, ID: "socket#3"}. Serial sessions
// echo what is typed; others do not. Cancellation is not an error.
func (s *Server) Serve(ctx context.Context, rw io.ReadWriteCloser, src room.Source) error {
	return s.serve(ctx, rw, src, false)
}

func (s *Server) serve(ctx context.Context, rw io.ReadWriteCloser, src room.Source, cisco bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { rw.Close() })
	defer stop()
	_, err := s.session(ctx, rw, src, cisco)
	rw.Close()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// ServeLine runs sessions on a serial line, one after another (bye logs out
// and a new session starts, as the cable stays), until ctx is cancelled or
// the line fails. It closes the line when it returns. Commands come from
// room.Source{Kind: room.FromSerial, ID: line.Name()}.
func (s *Server) ServeLine(ctx context.Context, line hal.SerialLine) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { line.Close() })
	defer stop()
	defer line.Close()
	src := room.Source{Kind: room.FromSerial, ID: line.Name()}
	for {
		bye, err := s.session(ctx, line, src, s.opts.LineDialect == DialectCisco)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return fmt.Errorf("serial: console on %s: %w", line.Name(), err)
		case !bye:
			return nil
		}
	}
}

// ListenUnix serves sessions on a Unix socket at path (mode 0660) until ctx
// is cancelled; a stale socket left by a crash is replaced, a live one is
// an error. The socket is removed on return. Cancellation is not an error.
func (s *Server) ListenUnix(ctx context.Context, path string) error {
	ln, err := ListenUnix(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	return s.ServeListener(ctx, ln)
}

// ServeListener serves a session on every connection ln accepts, as
// FromSocket "socket#N", until ctx is cancelled; it closes ln and returns
// once every session has ended. A temporary accept error (the process is out
// of file descriptors, a client hung up before it was accepted) is retried
// with backoff, never the end of the socket.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	// Every socket peer is the same client to netguard, so it caps nothing
	// here: MaxSessions below does, with a message the peer can read.
	ln = netguard.Listen(ln, netguard.Options{Name: "control socket", PerClient: -1, Logger: s.log})
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	slots := make(chan struct{}, s.opts.MaxSessions)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("serial: accepting control sessions: %w", err)
		}
		select {
		case slots <- struct{}{}:
		default:
			s.log.Warn("serial: refusing a socket session; too many open", "max", s.opts.MaxSessions)
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.Write([]byte("** end\r\nERROR: too many control sessions are open (" + strconv.Itoa(s.opts.MaxSessions) + "); close one and try again\r\n"))
			conn.Close()
			continue
		}
		src := room.Source{Kind: room.FromSocket, ID: "socket#" + strconv.FormatUint(s.nextID.Add(1), 10)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := s.Serve(ctx, conn, src); err != nil {
				s.log.Info("serial: session ended", "source", src.String(), "err", err)
			}
		}()
	}
}

// ListenUnix binds path with mode 0660 without a window in which the socket
// has looser permissions: it binds a temporary name, sets the mode, then
// renames it into place.
func ListenUnix(path string) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("serial: %s exists and is not a socket; not replacing it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("serial: another server is listening on %s; stop it first", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("serial: removing stale socket: %w", err)
		}
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid()))
	os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("serial: listening on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o660); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("serial: setting the socket's mode: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("serial: placing the socket at %s: %w", path, err)
	}
	return ln, nil
}

// SetPINHash replaces the console PIN's bcrypt hash while the server runs,
// as when the fleet sends new PINs; sessions already logged in stay so, and
// the next login checks the new hash. Empty clears the PIN, so nobody can log
// in on the serial port. A hash that is not bcrypt is refused and the old one
// stays. The hash is never logged.
func (s *Server) SetPINHash(hash []byte) error {
	if len(hash) > 0 {
		if _, err := bcrypt.Cost(hash); err != nil {
			return fmt.Errorf("serial: the new PIN hash is not a bcrypt hash (%v); the PIN in force stays", err)
		}
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.opts.PINHash = append([]byte(nil), hash...)
	return nil
}

// needsLogin says whether a session from src must give the PIN first. The
// socket is guarded by its file mode; remote surfaces (the xAPI WebSocket)
// log their users in before they start a session.
func (s *Server) needsLogin(src room.Source) bool {
	return s.opts.RequireLogin && src.Kind != room.FromSocket && src.Kind != room.FromRemote
}

// checkPIN compares pin with the hash under the shared lockout. msg says
// why a login failed and, when locked, for how long. The PIN is never logged.
func (s *Server) checkPIN(pin []byte, src room.Source) (ok bool, msg string) {
	s.authMu.Lock()
	defer s.authMu.Unlock()
	if len(s.opts.PINHash) == 0 {
		s.log.Warn("serial: login refused; no PIN is set", "source", src.String())
		return false, "no PIN is set on this unit, so nobody can log in here; set one in roomd's configuration"
	}
	now := s.now()
	if wait := s.lock.Remaining(now); wait > 0 {
		s.log.Warn("serial: login refused; console locked", "source", src.String(), "for", wait.String())
		return false, "the console is locked after too many wrong PINs; try again in " + pinlock.HumanDuration(wait)
	}
	if pin != nil && bcrypt.CompareHashAndPassword(s.opts.PINHash, pin) == nil {
		s.lock.Succeed()
		s.log.Info("serial: login", "source", src.String())
		return true, ""
	}
	fails, d := s.lock.Fail(now)
	if d == 0 {
		s.log.Warn("serial: wrong PIN", "source", src.String(), "failures", fails)
		return false, "wrong PIN"
	}
	s.log.Warn("serial: wrong PIN; console locked", "source", src.String(), "failures", fails, "for", d.String())
	return false, fmt.Sprintf("wrong PIN; the console is locked for %s after %d wrong PINs", pinlock.HumanDuration(d), fails)
}
