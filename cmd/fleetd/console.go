package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/roomd/roomd/internal/netguard"
)

// The fleet console: a small web page on the admin listener for what an
// admin does every day (rooms and their health, approving rooms, activation
// codes, configuration). It holds no rules of its own: its API forwards to
// the admin API's handlers, authenticated with the admin token the console
// was signed in with.
//
// A session is a cookie (HttpOnly, Secure, SameSite=Strict) holding its
// expiry and a random nonce, signed with a key derived from the admin
// token: replicas sharing the token accept each other's sessions, a new
// token ends them all, and a restart keeps them. State changes need the
// Origin of the console itself (as the touch panel's) and an X-CSRF-Token
// bound to the session.

// ConsolePrefix is where the console lives on the admin listener.
const ConsolePrefix = "/console/"

// consoleAPI is the console's own API; consoleAPI+AdminPrefix… forwards to
// the admin API.
const consoleAPI = ConsolePrefix + "api/"

// ConsoleSessionTTL is how long a console session lasts after sign-in.
const ConsoleSessionTTL = 12 * time.Hour

const consoleCookie = "fleetd_console"

//go:embed console
var consoleAssets embed.FS

// console serves the fleet console; make one with Fleet.AdminSite.
type console struct {
	f     *Fleet
	token []byte
	key   []byte // signs sessions and CSRF tokens
	admin http.Handler

	mu    sync.Mutex
	ended map[string]time.Time // nonces of sessions signed out, until they expire
}

// AdminSite serves the admin listener: the admin API (AdminHandler) and
// the fleet console at ConsolePrefix, both authenticated by token.
func (f *Fleet) AdminSite(token []byte) http.Handler {
	c := newConsole(f, token)
	mux := http.NewServeMux()
	mux.Handle(ConsolePrefix, netguard.SecurityHeaders(c.guard(c.handler()), netguard.StrictCSP))
	mux.Handle("GET /{$}", http.RedirectHandler(ConsolePrefix, http.StatusSeeOther))
	mux.Handle("GET "+strings.TrimSuffix(ConsolePrefix, "/"), http.RedirectHandler(ConsolePrefix, http.StatusSeeOther))
	mux.Handle("/", c.admin)
	return mux
}

func newConsole(f *Fleet, token []byte) *console {
	m := hmac.New(sha256.New, token)
	m.Write([]byte("fleetd console session v1"))
	return &console{f: f, token: token, key: m.Sum(nil), admin: f.AdminHandler(token), ended: map[string]time.Time{}}
}

func (c *console) handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(consoleAssets, "console")
	files := http.StripPrefix(ConsolePrefix, http.FileServerFS(static))
	mux.Handle("GET "+ConsolePrefix+"{$}", files)
	mux.Handle("GET "+ConsolePrefix+"{file}", files)
	mux.HandleFunc("GET "+consoleAPI+"session", c.serveSession)
	mux.HandleFunc("POST "+consoleAPI+"login", c.serveLogin)
	mux.HandleFunc("POST "+consoleAPI+"logout", c.signedIn(c.serveLogout))
	mux.HandleFunc(consoleAPI+strings.TrimPrefix(AdminPrefix, "/"), c.signedIn(c.forward))
	mux.HandleFunc(consoleAPI, func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, errors.New("fleetd: no such console endpoint; see docs/provisioning.md"))
	})
	return mux
}

// guard refuses, before anything else runs, an API request with a query
// string (secrets never travel in URLs) and a state change from another
// origin or without a JSON body.
func (c *console) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" && strings.HasPrefix(r.URL.Path, consoleAPI) {
			adminError(w, http.StatusBadRequest, errors.New("fleetd: the console API takes no query string"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !consoleOrigin(r) {
				c.f.Log.Warn("console: refused a cross-origin request", "origin", r.Header.Get("Origin"), "host", r.Host, "path", r.URL.Path)
				adminError(w, http.StatusForbidden, errors.New("fleetd: cross-origin request refused; use the console at "+ConsolePrefix))
				return
			}
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				adminError(w, http.StatusUnsupportedMediaType, errors.New("fleetd: send application/json"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// consoleOrigin holds when r comes from a page of this server: its Origin
// header is https://Host and the browser, when it says, calls it
// same-origin. A request without an Origin is refused.
func consoleOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	o, err := url.Parse(r.Header.Get("Origin"))
	if err != nil || o.Path != "" || o.User != nil {
		return false
	}
	want := "http"
	if r.TLS != nil {
		want = "https"
	}
	return o.Scheme == want && o.Host != "" && strings.EqualFold(o.Host, r.Host)
}

// consoleSession is what GET session answers.
type consoleSession struct {
	SignedIn bool   `json:"signed_in"`
	CSRF     string `json:"csrf"`
	Org      string `json:"org"` // the fleet's own organisation, shown first
}

func (c *console) serveSession(w http.ResponseWriter, r *http.Request) {
	nonce, ok := c.session(r)
	if !ok {
		nonce = ""
	}
	writeJSON(w, http.StatusOK, consoleSession{SignedIn: ok, CSRF: c.csrf(nonce), Org: c.f.Keys.Root.OrgID})
}

// consoleLogin is the body of POST login.
type consoleLogin struct {
	Token string `json:"token"`
}

func (c *console) serveLogin(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(r, "") {
		adminError(w, http.StatusForbidden, errors.New("fleetd: missing or wrong X-CSRF-Token; reload the console"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	var in consoleLogin
	if err := readStrict(r, &in); err != nil {
		adminStatus(w, err)
		return
	}
	got, want := sha256.Sum256([]byte(strings.TrimSpace(in.Token))), sha256.Sum256(c.token)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		c.f.Log.Warn("console: sign-in refused: wrong admin token", "remote", r.RemoteAddr)
		adminError(w, http.StatusUnauthorized, errors.New("fleetd: wrong admin token; it is the file given to fleetd serve -admin-token"))
		return
	}
	value, nonce := c.newSession()
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: value, Path: ConsolePrefix,
		MaxAge: int(ConsoleSessionTTL / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	c.f.Log.Info("console: signed in", "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, consoleSession{SignedIn: true, CSRF: c.csrf(nonce), Org: c.f.Keys.Root.OrgID})
}

func (c *console) serveLogout(w http.ResponseWriter, r *http.Request, nonce string) {
	c.mu.Lock()
	now := c.f.now()
	for n, exp := range c.ended {
		if now.After(exp) {
			delete(c.ended, n)
		}
	}
	c.ended[nonce] = now.Add(ConsoleSessionTTL)
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: "", Path: ConsolePrefix, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// signedIn runs h for a request of a signed-in session; state changes need
// the session's CSRF token too.
func (c *console) signedIn(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		nonce, ok := c.session(r)
		if !ok {
			adminError(w, http.StatusUnauthorized, errors.New("fleetd: sign in to the console with the admin token"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !c.checkCSRF(r, nonce) {
			adminError(w, http.StatusForbidden, errors.New("fleetd: missing or wrong X-CSRF-Token; reload the console"))
			return
		}
		h(w, r, nonce)
	}
}

// forward hands a console request to the admin API's own handler, as a
// request bearing the admin token, so the console applies the API's rules
// and nothing else.
func (c *console) forward(w http.ResponseWriter, r *http.Request, _ string) {
	prefix := strings.TrimSuffix(consoleAPI, "/")
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
	r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	r2.Header.Del("Cookie")
	r2.Header.Set("Authorization", "Bearer "+string(c.token))
	c.admin.ServeHTTP(w, r2)
}

// newSession returns a session cookie's value and its nonce.
func (c *console) newSession() (value, nonce string) {
	payload := make([]byte, 8+16)
	binary.BigEndian.PutUint64(payload, uint64(c.f.now().Add(ConsoleSessionTTL).Unix()))
	_, _ = rand.Read(payload[8:])
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + c.mac("session:"+p), base64.RawURLEncoding.EncodeToString(payload[8:])
}

// session returns the nonce of r's session when its cookie is genuine,
// unexpired and not signed out.
func (c *console) session(r *http.Request) (string, bool) {
	ck, err := r.Cookie(consoleCookie)
	if err != nil {
		return "", false
	}
	p, sig, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(c.mac("session:"+p))) {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || len(payload) != 8+16 {
		return "", false
	}
	if c.f.now().Unix() >= int64(binary.BigEndian.Uint64(payload)) {
		return "", false
	}
	nonce := base64.RawURLEncoding.EncodeToString(payload[8:])
	c.mu.Lock()
	_, gone := c.ended[nonce]
	c.mu.Unlock()
	return nonce, !gone
}

func (c *console) mac(s string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrf is the CSRF token of the session nonce ("" before sign-in).
func (c *console) csrf(nonce string) string { return c.mac("csrf:" + nonce) }

func (c *console) checkCSRF(r *http.Request, nonce string) bool {
	got := r.Header.Get("X-CSRF-Token")
	return got != "" && hmac.Equal([]byte(got), []byte(c.csrf(nonce)))
}
