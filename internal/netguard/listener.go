// Package netguard keeps one client, or a shortage of file descriptors, from
// taking a roomd or fleetd server down. Every server the daemons run (the
// touch panel's kiosk and remote listeners, the sim/debug endpoint, the
// control socket, fleetd's device and admin APIs) goes through it.
//
// # Listeners
//
// [Listen] wraps a net.Listener so that:
//
//   - one client address holds at most [Options.PerClient] connections at
//     once (32 by default; every Unix-socket peer counts as one client), and
//     the whole listener at most [Options.MaxConns] (no total cap by
//     default). A connection over a cap is closed as soon as it is
//     accepted, so the client sees a reset rather than a hang, and the
//     listener goes on serving everyone else;
//   - a temporary accept error (EMFILE, ENFILE, ENOBUFS, ENOMEM,
//     ECONNABORTED, a timeout, and the network errors accept(2) says to
//     retry) is never returned: Accept waits 5 ms, doubling up to 1 s, and
//     tries again, as net/http's Server does, logging at most once per
//     [LogEvery]. Only closing the listener (or a permanent error) ends it.
//
// A slot is released when the accepted connection is closed (Close is
// idempotent), so wrap the raw TCP listener and put TLS on top:
//
//	ln, err := net.Listen("tcp", addr)
//	...
//	ln = netguard.Listen(ln, netguard.Options{Name: "panel remote", Logger: log})
//	ln = tls.NewListener(ln, tlsConfig)
//	srv := netguard.NewHTTPServer(handler, netguard.ServerOptions{Logger: log})
//	go srv.Serve(ln)
//
// Listeners that must keep room for a trusted client (the kiosk beside 64
// tablets) get a listener of their own, with its own caps.
//
// # HTTP servers
//
// [NewHTTPServer] builds an *http.Server whose read-header, read, write and
// idle timeouts and header size are bounded (see [ServerOptions] for the
// defaults), and [ServerOptions.MaxBodyBytes] bounds every request body
// before a handler reads it. Long-lived requests (a WebSocket, a long poll,
// a held sim button) call [LiftDeadlines] before they start, which removes
// the server's read and write deadlines for that one connection only; they
// then keep their own (WebSocket pings, a context timeout).
//
// [LoopbackOnly] and [SecurityHeaders] are the guards a server that answers
// only the device itself wraps its handler in, so a browser on the same
// machine cannot reach it through DNS rebinding or frame it.
package netguard

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Defaults for [Options].
const (
	DefaultPerClient = 32               // connections one client address may hold
	LogEvery         = 10 * time.Second // the most often Accept logs refusals or accept errors
	minBackoff       = 5 * time.Millisecond
	maxBackoff       = time.Second
)

// Options configure [Listen]. The zero value caps each client at
// [DefaultPerClient] connections and the listener not at all.
type Options struct {
	// Name says which listener in log lines, such as "panel remote".
	Name string
	// PerClient is the most connections one client address (an IP; every
	// Unix-socket peer is the same client) may hold open. 0 means
	// [DefaultPerClient]; negative means no per-client cap.
	PerClient int
	// MaxConns is the most connections the listener holds open; 0 or
	// negative means no total cap.
	MaxConns int
	// Logger gets rate-limited warnings about refused connections and
	// accept errors. Nil discards.
	Logger *slog.Logger
}

// Listen wraps ln with the caps and the accept retry of [Options]. Closing
// the returned listener closes ln and wakes an Accept that is backing off.
func Listen(ln net.Listener, o Options) net.Listener {
	if o.PerClient == 0 {
		o.PerClient = DefaultPerClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = ln.Addr().String()
	}
	return &listener{Listener: ln, o: o, perClient: make(map[string]int), closed: make(chan struct{})}
}

// listener is the guarded net.Listener [Listen] returns.
type listener struct {
	net.Listener
	o         Options
	closeOnce sync.Once
	closed    chan struct{} // closed by Close, to end a backoff

	mu        sync.Mutex
	perClient map[string]int // open connections by client key
	total     int
	refused   int       // connections closed over a cap since the last log
	errs      int       // temporary accept errors since the last log
	lastLog   time.Time // when refusals or errors were last logged
}

// Accept returns the next connection within the caps. It returns an error
// only when the listener is closed or accept fails permanently.
func (l *listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !Temporary(err) {
				return nil, err
			}
			delay = min(max(2*delay, minBackoff), maxBackoff)
			l.note(func() { l.errs++ }, "netguard: accept failed; retrying", "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		key := clientKey(c.RemoteAddr())
		if !l.acquire(key) {
			c.Close()
			l.note(func() { l.refused++ }, "netguard: closed connections over the cap", "client", key, "per_client", l.o.PerClient, "max_conns", l.o.MaxConns)
			continue
		}
		return &conn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

// Close closes the wrapped listener; it is safe to call more than once.
func (l *listener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.closed)
		err = l.Listener.Close()
	})
	return err
}

func (l *listener) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.o.PerClient > 0 && l.perClient[key] >= l.o.PerClient {
		return false
	}
	if l.o.MaxConns > 0 && l.total >= l.o.MaxConns {
		return false
	}
	l.perClient[key]++
	l.total++
	return true
}

func (l *listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perClient[key]--; l.perClient[key] <= 0 {
		delete(l.perClient, key)
	}
	l.total--
}

// note counts an event with count and logs msg with the counts at most once
// per LogEvery, so a flood costs a line every few seconds, not a line each.
func (l *listener) note(count func(), msg string, args ...any) {
	l.mu.Lock()
	count()
	now := time.Now()
	if now.Sub(l.lastLog) < LogEvery {
		l.mu.Unlock()
		return
	}
	l.lastLog = now
	refused, errs := l.refused, l.errs
	l.refused, l.errs = 0, 0
	l.mu.Unlock()
	l.o.Logger.Warn(msg, append([]any{"listener", l.o.Name, "refused", refused, "accept_errors", errs}, args...)...)
}

// conn releases its slot once, on the first Close.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		err = c.Conn.Close()
		c.release()
	})
	return err
}

// clientKey is who a connection counts against: the IP of a network peer
// (IPv4-mapped IPv6 as IPv4), or one key for every Unix-socket peer.
func clientKey(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap().String()
		}
	case *net.UnixAddr:
		return "unix"
	case nil:
		return ""
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// Temporary reports whether an accept error is worth retrying: the process
// or system is out of descriptors or memory, a connection died before it
// was accepted, or a deadline passed. Closing the listener is not temporary.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EAGAIN, syscall.EINTR,
		// accept(2): pending network errors "should be treated like EAGAIN".
		syscall.ENETDOWN, syscall.EPROTO, syscall.ENOPROTOOPT, syscall.EHOSTDOWN,
		syscall.EHOSTUNREACH, syscall.EOPNOTSUPP, syscall.ENETUNREACH:
		return true
	}
	return false
}
