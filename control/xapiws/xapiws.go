// Package xapiws serves Cisco RoomOS's xAPI over WebSocket: JSON-RPC 2.0 at
// /ws, with the user's name and password in the subprotocol
// "auth-<base64url(user:password)>", as RoomOS serves it and as Cisco's
// jsxapi (`jsxapi.connect('wss://room', {username, password})`) and
// integrators' WebSocket drivers speak it.
//
// # Methods
//
//   - xGet {Path: ["Status", "Audio", "Volume"]} → the value ("50");
//     Configuration paths too.
//   - xSet {Path: ["Configuration", …], Value: 60} → null.
//   - xCommand/Audio/Volume/Set {Level: 30} → {"status": "OK"}.
//   - xFeedback/Subscribe {Query: ["Status", "Audio", "Microphones",
//     "Mute"]} → {Id: 0}; then notifications xFeedback/Event with the
//     change and its subscription's Id. Numbers in a path are listed items'
//     ids (["Status", "Call", "Receive", 2, "Fps"]).
//   - xFeedback/Unsubscribe {Id: 0} → true.
//
// Errors are JSON-RPC errors with jsxapi's codes: 3 (invalid path, with
// data.xpath) for a path roomd does not have, 0 with roomd's reason for a
// refused command, -32601 for an unknown method, -32600 / -32700 for a
// request that is not JSON-RPC.
//
// # One console, one authority
//
// Each connection is a console session in Cisco's dialect
// (serial.Server.ServeCisco) that this package drives as jsxapi's TSH
// backend does, so the WebSocket answers what the console answers, word
// for word, and no rule is written twice. Sessions are "not in the room":
// commands reach the room as room.Source{Kind: room.FromRemote, ID:
// "ws:<user>@<address>"}, the authority of the remote panel: they may mute
// but not unmute under the in-room policy.
//
// # Limits
//
// Logins share the SSH console's users and lockout (control/remoteusers).
// A message is at most MaxMessageBytes (64 KiB), a connection holds at most
// MaxSubscriptions (50) subscriptions, at most MaxConnections (8)
// connections are open, a connection silent for IdleTimeout (10 min) is
// closed, and a request the console does not answer within RequestTimeout
// (20 s) fails.
package xapiws

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/control/remoteusers"
	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/room"
)

// Console is what serves a session; *serial.Server is one.
type Console interface {
	ServeCisco(ctx context.Context, rw io.ReadWriteCloser, src room.Source) error
}

// Options configure a Server; zero fields take the defaults in the
// package doc.
type Options struct {
	// Users log in; required (it may be empty: then nobody can).
	Users *remoteusers.Store
	// Logger gets connections and refusals; never a password. Nil discards.
	Logger           *slog.Logger
	MaxMessageBytes  int64
	MaxSubscriptions int
	MaxConnections   int
	IdleTimeout      time.Duration
	RequestTimeout   time.Duration
}

// Server is the /ws endpoint; mount it on a remote (HTTPS) listener.
type Server struct {
	console Console
	opts    Options
	log     *slog.Logger
	slots   chan struct{}
}

// New makes the endpoint for console.
func New(console Console, o Options) (*Server, error) {
	if console == nil {
		return nil, errors.New("xapiws: no console to serve")
	}
	if o.Users == nil {
		return nil, errors.New("xapiws: no user store; give Options.Users")
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 64 << 10
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = 50
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 8
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 20 * time.Second
	}
	s := &Server{console: console, opts: o, log: o.Logger, slots: make(chan struct{}, o.MaxConnections)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// credentials reads the subprotocol "auth-<base64url(user:password)>"; proto
// is the subprotocol as offered, to be echoed.
func credentials(r *http.Request) (user string, pw []byte, proto string, ok bool) {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			p = strings.TrimSpace(p)
			enc, found := strings.CutPrefix(p, "auth-")
			if !found {
				continue
			}
			// jsxapi sends base64url without padding; others send standard.
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
			if err != nil {
				if raw, err = base64.StdEncoding.DecodeString(enc); err != nil {
					return "", nil, "", false
				}
			}
			u, pass, found := strings.Cut(string(raw), ":")
			return u, []byte(pass), p, found && u != ""
		}
	}
	return "", nil, "", false
}

// ServeHTTP logs the client in and runs its JSON-RPC session.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pw, proto, ok := credentials(r)
	if !ok {
		http.Error(w, "xapiws: log in with the WebSocket subprotocol auth-<base64url(user:password)>", http.StatusUnauthorized)
		return
	}
	if err := s.opts.Users.CheckPassword(user, pw, r.RemoteAddr); err != nil {
		code := http.StatusUnauthorized
		if errors.Is(err, remoteusers.ErrLocked) {
			code = http.StatusTooManyRequests
		}
		http.Error(w, err.Error(), code)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		s.log.Warn("xapiws: refusing a connection; too many open", "user", user, "remote", r.RemoteAddr, "max", s.opts.MaxConnections)
		http.Error(w, "xapiws: too many xAPI WebSockets are open; close one and try again", http.StatusServiceUnavailable)
		return
	}
	// The HTTP server's request timeouts would cut the socket; the idle
	// timeout and pings bound it instead.
	if err := netguard.LiftDeadlines(w); err != nil {
		s.log.Debug("xapiws: WebSocket keeps the request's deadlines", "err", err)
	}
	// Accept checks that a browser's Origin names this host.
	conn, err := websocket.Accept(normalClosure{w}, r, &websocket.AcceptOptions{Subprotocols: []string{proto}})
	if err != nil {
		s.log.Info("xapiws: WebSocket refused", "err", err, "origin", r.Header.Get("Origin"))
		return
	}
	conn.SetReadLimit(s.opts.MaxMessageBytes)
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	src := room.Source{Kind: room.FromRemote, ID: "ws:" + user + "@" + host}
	s.log.Info("xapiws: logged in", "source", src.String())
	err = s.session(r.Context(), conn, src)
	s.log.Info("xapiws: session ended", "source", src.String(), "err", err)
}

// session is one connection's JSON-RPC conversation over its console.
type session struct {
	srv  *Server
	conn *websocket.Conn
	src  room.Source

	wmu     sync.Mutex // one writer at a time on the WebSocket
	console net.Conn   // our end of the console session

	mu      sync.Mutex
	nextTag int
	pending map[string]chan *node
	subs    map[int][]pathPart // Id → query
	nextSub int
}

func (s *Server) session(ctx context.Context, conn *websocket.Conn, src room.Source) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ours, theirs := net.Pipe()
	ss := &session{srv: s, conn: conn, src: src, console: ours, pending: map[string]chan *node{}, subs: map[int][]pathPart{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ours.Close()
	wg.Go(func() {
		if err := s.console.ServeCisco(ctx, theirs, src); err != nil {
			s.log.Info("xapiws: console session ended", "source", src.String(), "err", err)
		}
		cancel()
	})
	br := bufio.NewReader(ours)
	// The greeting ends in the line OK; then JSON, one object per reply.
	for {
		ours.SetReadDeadline(time.Now().Add(s.opts.RequestTimeout))
		line, err := br.ReadString('\n')
		if err != nil {
			conn.Close(websocket.StatusInternalError, "the console did not start")
			return fmt.Errorf("xapiws: the console's greeting: %w", err)
		}
		if strings.TrimRight(line, "\r\n") == "OK" {
			break
		}
	}
	ours.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(ours, "xpreferences outputmode json\n"); err != nil {
		return fmt.Errorf("xapiws: %w", err)
	}
	wg.Go(func() {
		defer cancel()
		ss.readConsole(ctx, br)
	})
	wg.Go(func() { ss.ping(ctx) })
	err := ss.readClient(ctx)
	if websocket.CloseStatus(err) == -1 {
		conn.CloseNow()
	}
	cancel()
	return err
}

// ping finds a client that went away without closing.
func (ss *session) ping(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := ss.conn.Ping(pctx)
			cancel()
			if err != nil {
				ss.conn.CloseNow()
				return
			}
		}
	}
}

// errIdle ends a session whose client sent nothing for IdleTimeout.
var errIdle = errors.New("xapiws: idle for too long")

// readClient answers the client's requests in order until it leaves,
// idles out or breaks the protocol.
func (ss *session) readClient(ctx context.Context) error {
	var idled atomic.Bool
	idle := time.AfterFunc(ss.srv.opts.IdleTimeout, func() {
		idled.Store(true)
		ss.conn.Close(websocket.StatusPolicyViolation, "idle for too long")
	})
	defer idle.Stop()
	for {
		typ, msg, err := ss.conn.Read(ctx)
		switch {
		case idled.Load():
			return errIdle
		case err != nil:
			return err
		}
		idle.Reset(ss.srv.opts.IdleTimeout)
		if typ != websocket.MessageText {
			ss.send(errorResponse(nil, codeInvalidRequest, "xapiws: send JSON-RPC requests as text messages", nil))
			continue
		}
		ss.handle(ctx, msg)
	}
}

// readConsole reads the console's replies and events.
func (ss *session) readConsole(ctx context.Context, br *bufio.Reader) {
	d := json.NewDecoder(br)
	for {
		n, err := readNode(d)
		if err != nil {
			if ctx.Err() == nil {
				ss.srv.log.Info("xapiws: the console's output ended", "source", ss.src.String(), "err", err)
			}
			return
		}
		if !n.isObj {
			continue
		}
		if tag := n.get("ResultId"); tag != nil {
			ss.mu.Lock()
			ch := ss.pending[tag.text()]
			delete(ss.pending, tag.text())
			ss.mu.Unlock()
			if ch != nil {
				ch <- n
			}
			continue
		}
		ss.feedback(n)
	}
}

// feedback sends an event to every subscription whose query it holds.
func (ss *session) feedback(n *node) {
	if n.get("CommandResponse") != nil { // an untagged error: nothing of ours
		return
	}
	c := collapse(n)
	ss.mu.Lock()
	var ids []int
	for id, q := range ss.subs {
		if dig(c, q) != nil {
			ids = append(ids, id)
		}
	}
	ss.mu.Unlock()
	sort.Ints(ids)
	for _, id := range ids {
		ss.send(notification{JSONRPC: "2.0", Method: "xFeedback/Event", Params: c.with("Id", &node{scalar: json.RawMessage(strconv.Itoa(id))})})
	}
}

// send writes one message; a client that does not take it within 5 s is
// cut off.
func (ss *session) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ss.srv.log.Error("xapiws: encoding a message", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if err := ss.conn.Write(ctx, websocket.MessageText, b); err != nil {
		ss.conn.CloseNow()
	}
}

// ask sends one request line to the console, tagged, and waits for its
// reply.
func (ss *session) ask(ctx context.Context, line string, body *string) (*node, error) {
	ss.mu.Lock()
	ss.nextTag++
	tag := "ws" + strconv.Itoa(ss.nextTag)
	ch := make(chan *node, 1)
	ss.pending[tag] = ch
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		delete(ss.pending, tag)
		ss.mu.Unlock()
	}()
	req := line + ` | resultId="` + tag + `"` + "\n"
	if body != nil {
		req += *body + "\n"
		req = "{" + strconv.Itoa(len(req)) + "} \n" + req
	}
	ss.console.SetWriteDeadline(time.Now().Add(ss.srv.opts.RequestTimeout))
	if _, err := io.WriteString(ss.console, req); err != nil {
		return nil, fmt.Errorf("xapiws: the console is gone: %w", err)
	}
	t := time.NewTimer(ss.srv.opts.RequestTimeout)
	defer t.Stop()
	select {
	case n := <-ch:
		return n, nil
	case <-t.C:
		return nil, fmt.Errorf("xapiws: the console did not answer within %v", ss.srv.opts.RequestTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
