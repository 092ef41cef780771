package netguard

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Defaults for [ServerOptions].
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 90 * time.Second
	DefaultMaxHeaderBytes    = 32 << 10
)

// ServerOptions configure [NewHTTPServer]. A zero field takes its default;
// none can be turned off, so a slow client always ends.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request's headers (default 5 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (default
	// 30 s): a client trickling a body is cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request's headers
	// to the end of the response (default 60 s). A handler that holds a
	// request longer calls [LiftDeadlines].
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request (default 90 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (default 32 KiB).
	MaxHeaderBytes int
	// MaxBodyBytes, when positive, bounds every request body: a handler
	// reading past it gets an *http.MaxBytesError and the connection is
	// closed after the response. 0 leaves bodies to the handlers (which
	// should use [http.MaxBytesReader] before reading).
	MaxBodyBytes int64
	// Logger gets the server's own errors (TLS handshakes, panics) at
	// level Warn. Nil discards them.
	Logger *slog.Logger
}

// NewHTTPServer returns a server for h with every timeout of o set. Serve it
// on a listener from [Listen]:
//
//	srv := netguard.NewHTTPServer(mux, netguard.ServerOptions{Logger: log})
//	go srv.Serve(netguard.Listen(ln, netguard.Options{Name: "debug", Logger: log}))
//
// The caller may still set fields such as TLSConfig or ConnContext on the
// result before serving.
func NewHTTPServer(h http.Handler, o ServerOptions) *http.Server {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxBodyBytes > 0 {
		h = LimitBody(h, o.MaxBodyBytes)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// LimitBody bounds every request body h reads to n bytes.
func LimitBody(h http.Handler, n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, n)
		}
		h.ServeHTTP(w, r)
	})
}

// LiftDeadlines removes the server's read and write deadlines from the
// connection serving r, for a handler that legitimately outlives them: a
// WebSocket (call it before accepting the upgrade; the hijacked connection
// keeps the deadlines set at that moment), a long poll, a held button. It
// applies to that connection only; the handler then bounds its own time
// (pings with a read deadline, a context timeout). It fails when w cannot
// set deadlines (an httptest.ResponseRecorder, some middleware that does
// not Unwrap).
func LiftDeadlines(w http.ResponseWriter) error {
	rc := http.NewResponseController(w)
	return errors.Join(rc.SetReadDeadline(time.Time{}), rc.SetWriteDeadline(time.Time{}))
}

// LoopbackHost reports whether a Host header (with or without a port) names
// the device itself: localhost, 127.0.0.0/8 or [::1].
func LoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackOnly answers only requests whose Host names the device itself
// (see [LoopbackHost]); any other gets 421 Misdirected Request. A listener
// on 127.0.0.1 is not enough on its own: a web page can point a name it
// controls at 127.0.0.1 (DNS rebinding) and the browser then sends that
// name as Host. Refusals are logged to log (nil discards).
func LoopbackOnly(h http.Handler, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !LoopbackHost(r.Host) {
			log.Warn("netguard: refused a request naming another host", "host", r.Host, "remote", r.RemoteAddr, "path", r.URL.Path)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			w.Write([]byte("this endpoint answers only the device itself: use http://127.0.0.1:<port>/ or http://localhost:<port>/\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// StrictCSP is the touch panel's Content-Security-Policy: its own scripts,
// styles and API only, and no framing.
const StrictCSP = "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// SecurityHeaders sets the headers the touch panel sends on every response
// before h runs: Content-Security-Policy csp ([StrictCSP] when empty; keep
// frame-ancestors 'none' in any other), X-Frame-Options DENY, nosniff, no
// referrer, no caching. h may override any of them.
func SecurityHeaders(h http.Handler, csp string) http.Handler {
	if csp == "" {
		csp = StrictCSP
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
