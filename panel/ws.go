package panel

import (
	"context"
	"embed"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/internal/netguard"
)

//go:embed ui
var uiFiles embed.FS

// writeTimeout bounds one WebSocket write: a panel that stops reading is
// dropped rather than allowed to hold anything up.
const writeTimeout = 5 * time.Second

// pingEvery is how often a WebSocket is pinged; a panel that does not answer
// within writeTimeout is dropped.
const pingEvery = 30 * time.Second

// requestQueue is how many requests of one connection may wait for its
// worker before the server stops reading that connection.
const requestQueue = 16

// session is one WebSocket connection.
type session struct {
	client client
	cancel context.CancelFunc
	out    chan any // messages from outside the session (pairing, revoked)

	mu      sync.Mutex
	revoked bool
}

// post queues m for the session without blocking; a panel that falls this
// far behind gets the state again when it reconnects.
func (ss *session) post(m any) {
	select {
	case ss.out <- m:
	default:
	}
}

func (ss *session) revoke() {
	ss.mu.Lock()
	already := ss.revoked
	ss.revoked = true
	ss.mu.Unlock()
	if !already {
		ss.post(revokedMessage{Type: "revoked"})
		// If the panel does not take the goodbye in time, cut it off.
		time.AfterFunc(writeTimeout, ss.cancel)
	}
}

// revokedMessage tells a remote panel that its pairing was revoked; the
// server closes the connection after it.
type revokedMessage struct {
	Type string `json:"type"` // "revoked"
}

// HelloMessage is the first message on a WebSocket.
type HelloMessage struct {
	Type          string `json:"type"` // "hello"
	Access        string `json:"access"`
	Source        string `json:"source"`
	SchemaVersion string `json:"schemaVersion"`
}

// The most WebSockets open at once, counted apart so that tablets cannot
// take the kiosk's: the kiosk browser normally holds one.
const (
	maxRemoteSessions = 64
	maxKioskSessions  = 8
)

func (s *Server) serveWS(base context.Context, w http.ResponseWriter, r *http.Request, c client) {
	limit := maxRemoteSessions
	if c.access == Kiosk {
		limit = maxKioskSessions
	}
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	ss := &session{client: c, cancel: cancel, out: make(chan any, 16)}
	// The slot is taken before the upgrade, so parallel handshakes cannot
	// pass the cap together.
	s.mu.Lock()
	n := 0
	for o := range s.sessions {
		if o.client.access == c.access {
			n++
		}
	}
	if s.closed || n >= limit {
		closed := s.closed
		s.mu.Unlock()
		if closed {
			writeError(w, http.StatusServiceUnavailable, "roomd is stopping")
			return
		}
		s.log.Warn("panel: refusing a connection; too many panels connected", "access", c.access.String(), "max", limit)
		writeError(w, http.StatusServiceUnavailable, "too many panels are connected; close one and try again")
		return
	}
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
	}()
	// The server's request timeouts would cut the socket; pings find a
	// panel that went away instead.
	if err := netguard.LiftDeadlines(w); err != nil {
		s.log.Debug("panel: WebSocket keeps the request's deadlines", "err", err)
	}
	// Accept checks that Origin names this host, so another site's page
	// cannot open the socket with the panel's cookie.
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Info("panel: WebSocket refused", "err", err, "origin", r.Header.Get("Origin"))
		return
	}
	conn.SetReadLimit(maxMessage)
	s.log.Info("panel: connected", "source", c.source().String())
	defer s.log.Info("panel: disconnected", "source", c.source().String())

	var wmu sync.Mutex
	send := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
		defer wcancel()
		wmu.Lock()
		defer wmu.Unlock()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			s.log.Debug("panel: WebSocket ended", "source", c.source().String(), "err", err)
		}
		cancel()
	}
	if err := send(HelloMessage{Type: "hello", Access: c.access.String(), Source: c.source().String(), SchemaVersion: control.SchemaVersion}); err != nil {
		fail(err)
		conn.CloseNow()
		return
	}
	if c.access == Kiosk {
		s.mu.Lock()
		p := s.pair
		s.mu.Unlock()
		if p.code != "" && s.now().Before(p.until) {
			ss.post(PairingMessage{Type: "pairing", Code: p.code, Until: p.until})
		}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	// Pings: a tablet that left without closing (Wi-Fi gone) is dropped.
	wg.Go(func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, writeTimeout)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil {
					fail(err)
					return
				}
			}
		}
	})
	// Status: the whole tree, then every change, as the feedback hub
	// hands it to every panel.
	wg.Go(func() {
		batches := s.hub.Subscribe(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-ss.out:
				if err := send(m); err != nil {
					fail(err)
					return
				}
				if _, ok := m.(revokedMessage); ok {
					conn.Close(websocket.StatusPolicyViolation, "this panel's pairing was revoked")
					fail(nil)
					return
				}
			case b, ok := <-batches:
				if !ok {
					fail(nil)
					return
				}
				if m, any := statusMessage(b); any {
					if err := send(m); err != nil {
						fail(err)
						return
					}
				}
				for _, e := range eventMessages(b.Events) {
					if err := send(e); err != nil {
						fail(err)
						return
					}
				}
			}
		}
	})
	// Requests: one worker per connection carries them out one at a time,
	// in the order the panel sent them, so a Mute then an Unmute (or volume
	// 30 then 40) reach the room in that order, and results go back in the
	// same order with their ids. Each connection has its own worker, so a
	// slow request holds up only the panel that sent it.
	reqs := make(chan []byte, requestQueue)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-reqs:
				if err := send(s.exec(ctx, c, b)); err != nil {
					fail(err)
					return
				}
			}
		}
	})
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			fail(err)
			break
		}
		if c.access == Remote && !s.tokens.valid(c.panel.ID) {
			ss.revoke()
			continue
		}
		// A full queue stops reading: the panel's writes wait in TCP
		// rather than in memory.
		select {
		case reqs <- b:
		case <-ctx.Done():
		}
	}
	wg.Wait()
	conn.Close(websocket.StatusNormalClosure, "")
}
