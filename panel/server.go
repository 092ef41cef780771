package panel

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/internal/pinlock"
	"github.com/roomd/roomd/room"
)

// Room is what the panel needs of the room, as every control surface's;
// *room.Room satisfies it.
type Room = control.Room

// Access says how a listener's clients are trusted.
type Access int

// Kinds of listener.
const (
	Kiosk  Access = iota // the device's own touch screen, over loopback only
	Remote               // paired tablets with a token
)

func (a Access) String() string {
	switch a {
	case Kiosk:
		return "kiosk"
	case Remote:
		return "remote"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Options configure a Server. Nil fields take defaults.
type Options struct {
	// AdminPINHash returns the bcrypt hash of the admin PIN; it is called at
	// every login, so the fleet may change the PIN at run time. Nil or an
	// empty hash keeps the settings screen closed.
	AdminPINHash func() []byte
	// StateDir holds the paired panels' tokens (hashed). Empty keeps them in
	// memory only, so pairings end with the process.
	StateDir string
	// ShowPairingCode is told each pairing code and until when it is valid,
	// and ("", zero time) when it is no longer shown, so that roomd can put
	// it on the room's display. The kiosk panel shows it in any case.
	ShowPairingCode func(code string, until time.Time)
	// RecentLogs returns the latest log lines for the settings screen.
	RecentLogs func() []string
	// Network describes the unit's network for the settings screen; nil
	// lists the interfaces with net.Interfaces.
	Network func() []NetInterface
	// SoftwareVersion is reported as SystemUnit Software Version.
	SoftwareVersion string
	// Feedback is the daemon's feedback hub, shared with the other
	// surfaces; nil makes one for this server from the room and
	// SoftwareVersion. A given hub reports its own software version.
	Feedback *feedback.Hub
	// RemoteEnabled says whether a remote listener is configured; the
	// settings screen says so.
	RemoteEnabled bool
	Logger        *slog.Logger
	Now           func() time.Time
	// RequestTimeout bounds how long a command waits for the room (default 15s).
	RequestTimeout time.Duration
	// PairingTTL is how long a pairing code is valid (default 2 min).
	PairingTTL time.Duration
	// Timeouts bound each request on Serve's listeners; zero fields take
	// netguard's defaults (headers 5 s, whole request 30 s, response 60 s,
	// keep-alive idle 90 s), so a client trickling a body is cut off.
	// WebSockets lift them for their own connection and ping instead.
	Timeouts netguard.ServerOptions
	// XAPI, when set, is served at /ws on Remote listeners: RoomOS's xAPI
	// over WebSocket (control/xapiws), which logs its own users in with
	// their password. Kiosk listeners never serve it.
	XAPI http.Handler
	// KioskUIDs are the users whose programs a Kiosk listener serves: the
	// kiosk browser's user. The kernel tells who owns each connecting
	// socket; everyone else's requests get 403. Empty means this process's
	// own user only.
	KioskUIDs []int
}

// NetInterface is one network interface as the settings screen lists it.
type NetInterface struct {
	Name      string   `json:"name"`
	Up        bool     `json:"up"`
	Addresses []string `json:"addresses"`
}

// Server serves the panel on any number of kiosk and remote listeners.
type Server struct {
	room   Room
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	hub    *feedback.Hub // the status tree and its changes, for every panel
	tokens *tokenStore
	csrf   []byte // key for the CSRF tokens; new with each process
	static fs.FS

	mu       sync.Mutex
	sessions map[*session]struct{}
	admins   map[string]adminSession // hashed admin cookie → who
	pair     pairing
	closed   bool

	strangers refusals // kiosk requests from other users

	authMu    sync.Mutex   // held while a PIN is checked
	adminLock pinlock.Lock // wrong admin PINs, across every panel
}

// client is who sent a request.
type client struct {
	access Access
	panel  PairedPanel // for Remote
}

func (c client) id() string {
	if c.access == Kiosk {
		return "kiosk"
	}
	return "panel:" + c.panel.ID
}

func (c client) source() room.Source {
	if c.access == Kiosk {
		return room.Source{Kind: room.FromPanel, ID: "kiosk"}
	}
	return room.Source{Kind: room.FromRemote, ID: "panel:" + c.panel.ID}
}

// New makes a server for r.
func New(r Room, o Options) (*Server, error) {
	if r == nil {
		return nil, errors.New("panel: no room")
	}
	s := &Server{
		room:     r,
		opts:     o,
		log:      o.Logger,
		now:      o.Now,
		hub:      o.Feedback,
		tokens:   newTokenStore(o.StateDir),
		csrf:     make([]byte, 32),
		sessions: map[*session]struct{}{},
		admins:   map[string]adminSession{},
	}
	rand.Read(s.csrf)
	if s.hub == nil {
		s.hub = feedback.New(r, feedback.Options{System: control.System{SoftwareVersion: o.SoftwareVersion}})
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.RequestTimeout <= 0 {
		s.opts.RequestTimeout = 15 * time.Second
	}
	if s.opts.PairingTTL <= 0 {
		s.opts.PairingTTL = 2 * time.Minute
	}
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		return nil, fmt.Errorf("panel: embedded UI: %w", err)
	}
	s.static = sub
	switch aside, refused, err := s.tokens.repair(s.now()); {
	case aside != "":
		s.log.Error("panel: paired panels unreadable; the file is set aside and every remote panel must pair again", "err", err, "set_aside", aside)
	case refused:
		s.log.Error("panel: paired panels unreadable and not set aside; every remote panel is refused until the file is removed", "err", err)
	case err != nil:
		s.log.Warn("panel: paired panels", "err", err)
	}
	return s, nil
}

// Run does the server's background work until ctx ends: it ends pairing
// codes on time and closes the connections of panels revoked by another
// process. Cancellation is not an error.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	defer s.Close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.expirePairing()
			s.dropRevoked()
		}
	}
}

// Close ends every open session. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ss := range s.sessions {
		ss.cancel()
	}
	s.mu.Unlock()
	return nil
}

// Connection caps of the listeners (package netguard). The kiosk listener
// caps by user instead of address (kioskConns, strangerConns): every local
// program connects from 127.0.0.1.
const (
	remotePerClient = netguard.DefaultPerClient // connections one tablet address may hold
	remoteMaxConns  = 512                       // connections all remote clients may hold
)

// Serve serves the panel on ln, a plain TCP listener, until ctx ends, and
// closes ln. Connections are capped per client address (per user for the
// kiosk) and in total, a temporary accept error (out of file descriptors)
// is retried, never fatal, and every request is bounded by
// Options.Timeouts. Cancellation is not an error.
func (s *Server) Serve(ctx context.Context, ln net.Listener, a Access) error {
	return s.serve(ctx, ln, a, nil)
}

// ServeTLS is Serve over TLS with cfg, for the remote panel: the caps count
// connections before their handshake.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener, a Access, cfg *tls.Config) error {
	return s.serve(ctx, ln, a, cfg)
}

func (s *Server) serve(ctx context.Context, ln net.Listener, a Access, tlsCfg *tls.Config) error {
	if a == Kiosk {
		ln = s.kioskListener(netguard.Listen(ln, netguard.Options{Name: "panel kiosk", PerClient: -1, Logger: s.log}))
	} else {
		ln = netguard.Listen(ln, netguard.Options{Name: "panel remote", PerClient: remotePerClient, MaxConns: remoteMaxConns, Logger: s.log})
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	to := s.opts.Timeouts
	to.Logger = s.log
	if to.MaxBodyBytes <= 0 {
		to.MaxBodyBytes = maxMessage
	}
	srv := netguard.NewHTTPServer(s.handler(ctx, a), to)
	srv.ConnContext = connContext
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		srv.Shutdown(sctx)
	})
	defer stop()
	err := srv.Serve(ln)
	if ctx.Err() != nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("panel: serving %s panel: %w", a, err)
}

// Handler returns the panel for one kind of listener, for tests and for
// callers with their own http.Server. Sessions end with Close.
func (s *Server) Handler(a Access) http.Handler { return s.handler(context.Background(), a) }

func (s *Server) handler(ctx context.Context, a Access) http.Handler {
	mux := http.NewServeMux()
	authed := func(h func(http.ResponseWriter, *http.Request, client)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c, ok := s.authenticate(r, a)
			if !ok {
				writeError(w, http.StatusUnauthorized, "this panel is not paired with the room; pair it with the code shown on the room's panel")
				return
			}
			if r.Method == http.MethodPost && !s.checkCSRF(r, c.id()) {
				writeError(w, http.StatusForbidden, "missing or wrong X-CSRF-Token; reload the panel")
				return
			}
			h(w, r, c)
		}
	}
	mux.HandleFunc("GET /api/session", func(w http.ResponseWriter, r *http.Request) { s.serveSession(w, r, a) })
	mux.HandleFunc("GET /api/ws", func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.authenticate(r, a)
		if !ok {
			writeError(w, http.StatusUnauthorized, "this panel is not paired with the room")
			return
		}
		s.serveWS(ctx, w, r, c)
	})
	if a == Remote && s.opts.XAPI != nil {
		mux.Handle("GET /ws", s.opts.XAPI)
	}
	mux.HandleFunc("GET /api/status", authed(s.serveStatus))
	mux.HandleFunc("GET /api/schema", authed(func(w http.ResponseWriter, r *http.Request, _ client) {
		writeJSON(w, http.StatusOK, control.Export())
	}))
	mux.HandleFunc("POST /api/command", authed(s.serveCommand))
	mux.HandleFunc("POST /api/pair/request", func(w http.ResponseWriter, r *http.Request) { s.servePairRequest(w, r, a) })
	mux.HandleFunc("POST /api/pair", func(w http.ResponseWriter, r *http.Request) { s.servePair(w, r, a) })
	mux.HandleFunc("POST /api/admin/login", authed(s.serveAdminLogin))
	mux.HandleFunc("POST /api/admin/logout", authed(s.serveAdminLogout))
	mux.HandleFunc("GET /api/admin/info", authed(s.admin(s.serveAdminInfo)))
	mux.HandleFunc("POST /api/admin/enroll", authed(s.admin(s.serveEnroll)))
	mux.HandleFunc("POST /api/admin/revoke", authed(s.admin(s.serveRevoke)))
	mux.HandleFunc("POST /api/admin/pair", authed(s.admin(s.serveAdminPair)))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint; see docs/panel.md")
	}
	mux.HandleFunc("GET /api/", notFound)
	mux.HandleFunc("POST /api/", notFound)
	mux.HandleFunc("GET /", s.serveStatic)
	return netguard.SecurityHeaders(s.guard(a, mux), netguard.StrictCSP)
}

// guard refuses what no listener of kind a may serve: kiosk requests from
// anywhere but loopback or naming another host, and state changes from
// another origin or without a JSON body.
func (s *Server) guard(a Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a == Kiosk && (!loopbackAddr(r.RemoteAddr) || !netguard.LoopbackHost(r.Host)) {
			s.log.Warn("panel: refused a kiosk request from off the device", "remote", r.RemoteAddr, "host", r.Host)
			writeError(w, http.StatusForbidden, "the kiosk panel answers only the device itself; pair a tablet on the remote panel address")
			return
		}
		if a == Kiosk {
			if p := s.requestPeer(r); !p.trusted {
				if n := s.strangers.note(time.Now()); n > 0 {
					s.log.Warn("panel: refused kiosk requests from another user than the kiosk browser's", "uid", p.uid, "refused", n)
				}
				writeError(w, http.StatusForbidden, "the kiosk panel answers only the kiosk browser's user (panel.kiosk_user); use the console or the control socket, or pair a tablet")
				return
			}
		}
		if len(r.URL.RawQuery) > 0 && strings.HasPrefix(r.URL.Path, "/api/") {
			writeError(w, http.StatusBadRequest, "the panel API takes no query string; secrets never travel in URLs")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) {
				s.log.Warn("panel: refused a cross-origin request", "origin", r.Header.Get("Origin"), "host", r.Host, "path", r.URL.Path)
				writeError(w, http.StatusForbidden, "cross-origin request refused")
				return
			}
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "send application/json")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxMessage)
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin requires an Origin header naming this server.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	if sf := r.Header.Get("Sec-Fetch-Site"); sf != "" && sf != "same-origin" {
		return false
	}
	return strings.EqualFold(o, scheme+r.Host)
}

const tokenCookie = "roomd_panel"

// authenticate says who sent r on a listener of kind a.
func (s *Server) authenticate(r *http.Request, a Access) (client, bool) {
	if a == Kiosk {
		return client{access: Kiosk}, true
	}
	ck, err := r.Cookie(tokenCookie)
	if err != nil {
		return client{}, false
	}
	p, ok := s.tokens.lookup(ck.Value)
	return client{access: Remote, panel: p}, ok
}

// csrfToken binds a CSRF token to a client for this process's lifetime.
func (s *Server) csrfToken(id string) string {
	m := hmac.New(sha256.New, s.csrf)
	io.WriteString(m, id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) checkCSRF(r *http.Request, id string) bool {
	got := r.Header.Get("X-CSRF-Token")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfToken(id))) == 1
}

// sessionInfo is GET /api/session's answer.
type sessionInfo struct {
	Access        string `json:"access"`
	Paired        bool   `json:"paired"`
	Panel         string `json:"panel,omitempty"` // the remote panel's ID
	CSRF          string `json:"csrf"`
	Admin         bool   `json:"admin"`
	SchemaVersion string `json:"schemaVersion"`
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, a Access) {
	c, ok := s.authenticate(r, a)
	info := sessionInfo{Access: a.String(), Paired: ok, SchemaVersion: control.SchemaVersion}
	if !ok {
		info.CSRF = s.csrfToken("anonymous")
		writeJSON(w, http.StatusOK, info)
		return
	}
	info.CSRF = s.csrfToken(c.id())
	info.Admin = s.isAdmin(r, c)
	if a == Remote {
		info.Panel = c.panel.ID
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request, _ client) {
	status, config := s.hub.Now()
	writeJSON(w, http.StatusOK, map[string]any{
		"schemaVersion": control.SchemaVersion,
		"status":        leafMap(status),
		"config":        leafMap(config),
	})
}

func (s *Server) serveCommand(w http.ResponseWriter, r *http.Request, c client) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request too large")
		return
	}
	res := s.exec(r.Context(), c, b)
	code := http.StatusOK
	if !res.OK {
		code = http.StatusUnprocessableEntity
		if res.Reason == "NotAllowed" {
			code = http.StatusForbidden
		}
	}
	writeJSON(w, code, res)
}

// exec parses and runs one request from c.
func (s *Server) exec(ctx context.Context, c client, b []byte) Result {
	req, err := ParseRequest(b)
	if err != nil {
		return resultFor(req.ID, req.Command.Result, err)
	}
	switch req.Type {
	case TypeRetry:
		// The room keeps the last meeting it joined, passcode included;
		// the panel keeps no copy.
		err := s.do(ctx, c, room.Rejoin{})
		if errors.Is(err, room.ErrNoEarlierJoin) {
			return resultFor(req.ID, "", err)
		}
		return resultFor(req.ID, "CallJoinResult", err)
	}
	s.log.Debug("panel: command", "source", c.source().String(), "command", req.Command.Path.String())
	return resultFor(req.ID, req.Command.Result, s.do(ctx, c, req.Command.Action))
}

func (s *Server) do(ctx context.Context, c client, a room.Action) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	err := s.room.Do(ctx, room.Command{From: c.source(), Do: a})
	if errors.Is(err, context.DeadlineExceeded) {
		return errTimeout
	}
	return err
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(s.static, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(name[strings.LastIndexByte(name, '.'):])
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"ok": false, "error": msg})
}

// readJSON decodes a small request body into v.
func readJSON(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("malformed request: %v", err)
	}
	return nil
}
