package panel

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"
)

// Who may use a Kiosk listener. Loopback alone would let any program of
// any local user act as someone in the room (unmute, enroll), so the kiosk
// panel also asks the kernel which user owns the connecting socket
// (peerUID) and serves only the users of Options.KioskUIDs: the kiosk
// browser's user on the device.
//
// Connection slots: the kiosk's users hold up to kioskConns connections of
// their own, which no other user and no tablet can take; other local users
// get at most strangerConns at once, only to be told no.
const (
	kioskConns    = 32
	strangerConns = 4
	refusalLogGap = 10 * time.Second
)

// kioskPeer is what the kiosk listener learnt of a connection's client.
type kioskPeer struct {
	uid     int // -1 when unknown
	trusted bool
}

type kioskPeerKey struct{}

// kioskUIDs returns the users the kiosk panel serves.
func (s *Server) kioskUIDs() []int {
	if len(s.opts.KioskUIDs) > 0 {
		return s.opts.KioskUIDs
	}
	return []int{os.Getuid()}
}

// lookupPeer asks the kernel who owns the client end of a connection.
func (s *Server) lookupPeer(local, remote net.Addr) kioskPeer {
	l, lok := addrPort(local)
	r, rok := addrPort(remote)
	if !lok || !rok || !r.Addr().Unmap().IsLoopback() {
		return kioskPeer{uid: -1}
	}
	uid, err := peerUID(r, l)
	if err != nil {
		s.log.Debug("panel: kiosk peer unknown", "err", err)
		return kioskPeer{uid: -1}
	}
	return kioskPeer{uid: uid, trusted: slices.Contains(s.kioskUIDs(), uid)}
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort(), true
	case nil:
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

// requestPeer is the client of a request on a Kiosk listener: as the
// listener found it, or looked up now for a handler served by someone
// else's http.Server.
func (s *Server) requestPeer(r *http.Request) kioskPeer {
	if p, ok := r.Context().Value(kioskPeerKey{}).(kioskPeer); ok {
		return p
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if local == nil || err != nil {
		return kioskPeer{uid: -1}
	}
	return s.lookupPeer(local, net.TCPAddrFromAddrPort(remote))
}

// kioskListener sorts a Kiosk listener's connections by who makes them and
// keeps the kiosk's slots for the kiosk.
type kioskListener struct {
	net.Listener
	s *Server

	mu      sync.Mutex
	open    [2]int // open connections: [0] other users', [1] the kiosk's
	refused refusals
}

func (s *Server) kioskListener(ln net.Listener) net.Listener {
	return &kioskListener{Listener: ln, s: s}
}

// Accept returns the next connection that has a slot; connections over
// their class's cap are closed at once.
func (l *kioskListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p := l.s.lookupPeer(c.LocalAddr(), c.RemoteAddr())
		class, limit := 0, strangerConns
		if p.trusted {
			class, limit = 1, kioskConns
		}
		l.mu.Lock()
		if l.open[class] >= limit {
			l.mu.Unlock()
			c.Close()
			if n := l.refused.note(time.Now()); n > 0 {
				l.s.log.Warn("panel: kiosk connections over their cap closed", "uid", p.uid, "kiosk_user", p.trusted, "closed", n, "cap", limit)
			}
			continue
		}
		l.open[class]++
		l.mu.Unlock()
		return &kioskConn{Conn: c, peer: p, release: func() {
			l.mu.Lock()
			l.open[class]--
			l.mu.Unlock()
		}}, nil
	}
}

// kioskConn frees its slot on the first Close.
type kioskConn struct {
	net.Conn
	peer    kioskPeer
	once    sync.Once
	release func()
}

func (c *kioskConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		err = c.Conn.Close()
		c.release()
	})
	return err
}

// refusals counts refused requests and says when to log them, so a flood
// costs a log line every refusalLogGap rather than one per request.
type refusals struct {
	mu      sync.Mutex
	n       int
	lastLog time.Time
}

// note counts one refusal at now; it returns how many to report, or 0 when
// the line waits.
func (r *refusals) note(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if now.Sub(r.lastLog) < refusalLogGap {
		return 0
	}
	n := r.n
	r.n, r.lastLog = 0, now
	return n
}

// connContext hands the kiosk listener's finding to the handlers.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if kc, ok := c.(*kioskConn); ok {
		return context.WithValue(ctx, kioskPeerKey{}, kc.peer)
	}
	return ctx
}
