package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
)

const consoleTestToken = "Zx8dB3kq0a7Yw2mN5pR1sT4uV6xW9yZ-console1"

// consoleFleet is a fleet with the organisation acme, an active device in
// the room fjord that reported its health, and a device in birch waiting
// for approval.
func consoleFleet(t *testing.T, now func() time.Time) *Fleet {
	t.Helper()
	dir := t.TempDir()
	st, err := openStore(context.Background(), filepath.Join(dir, "fleet.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := loadOrCreateKeys(filepath.Join(dir, "keys"), "acme")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{Store: st, Keys: keys, Log: slog.New(slog.DiscardHandler), Now: now}
	seedConsoleRooms(t, f)
	return f
}

// seedConsoleRooms fills f with consoleFleet's organisation, rooms and
// devices.
func seedConsoleRooms(t testing.TB, f *Fleet) {
	t.Helper()
	ctx := context.Background()
	seedFleet(t, f, "fjord", "Fjord", nil)
	addRoom(t, f, "birch", "Birch", nil)
	now := f.now()
	for _, d := range []Device{
		{ID: "dev-fjord", OrgID: "acme", RoomID: "fjord", Fingerprint: "0123-4567-89AB-CDEF-0123-4567-89AB-CDEF", State: stateActive, Serial: "SN-1", CreatedAt: now},
		{ID: "dev-birch", OrgID: "acme", RoomID: "birch", Fingerprint: "FEDC-BA98-7654-3210-FEDC-BA98-7654-3210", State: statePending, CreatedAt: now},
	} {
		if err := f.Store.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	temp, hum, occ := 21.5, 40.0, true
	rep, _ := json.Marshal(provisioning.HealthReport{At: now, Software: "roomd 2.3.1", Schemas: []int{1, 2}, ConfigVersion: 0, UptimeSeconds: 3600,
		Hardware:    map[string]string{"camera": "loaded", "display": "failed: no backlight"},
		CallQuality: &provisioning.CallQuality{Calls: 3, Minutes: 95, AvgRTTMillis: 42, AvgLossPct: 0.4},
		Environment: &provisioning.Environment{TemperatureC: &temp, HumidityPct: &hum, Occupied: &occ}})
	if err := f.Store.AddReport(ctx, "dev-fjord", now.Add(-2*time.Minute), string(rep)); err != nil {
		t.Fatal(err)
	}
}

// consoleClient is a browser's side of the console: its session cookie,
// CSRF token and origin, each of which a test may leave out or spoil.
type consoleClient struct {
	t      *testing.T
	base   string // https://host:port
	hc     *http.Client
	cookie string
	csrf   string
	origin string
}

func newConsoleClient(t *testing.T, srv *httptest.Server) *consoleClient {
	return &consoleClient{t: t, base: srv.URL, hc: srv.Client(), origin: srv.URL}
}

// do sends a request to the console; hdr adds or, with "", removes headers.
func (c *consoleClient) do(method, path, body string, hdr map[string]string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", consoleCookie+"="+c.cookie)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (c *consoleClient) want(code int, method, path, body string, hdr map[string]string) []byte {
	c.t.Helper()
	resp := c.do(method, path, body, hdr)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, code)
	}
	return b
}

// signIn takes an anonymous CSRF token from the session endpoint, signs in
// and keeps the session's cookie and CSRF token.
func (c *consoleClient) signIn(token string) *http.Cookie {
	c.t.Helper()
	var s consoleSession
	json.Unmarshal(c.want(http.StatusOK, "GET", ConsolePrefix+"api/session", "", nil), &s)
	if s.SignedIn || s.CSRF == "" || s.Org != "acme" {
		c.t.Fatalf("anonymous session %+v", s)
	}
	c.csrf = s.CSRF
	resp := c.do("POST", ConsolePrefix+"api/login", `{"token":"`+token+`"}`, nil)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("sign in: %d %s", resp.StatusCode, b)
	}
	json.NewDecoder(resp.Body).Decode(&s)
	for _, ck := range resp.Cookies() {
		if ck.Name == consoleCookie {
			c.cookie, c.csrf = ck.Value, s.CSRF
			return ck
		}
	}
	c.t.Fatal("sign-in set no session cookie")
	return nil
}

// The console needs the admin token: without a session nothing but the
// login page and the session probe answers; a wrong token, a forged,
// signed-out or expired cookie, or one made with another admin token is
// refused; the cookie is HttpOnly, Secure and SameSite=Strict.
func TestConsoleAuth(t *testing.T) {
	clock := newFakeClock()
	f := consoleFleet(t, clock.Now)
	srv := httptest.NewTLSServer(f.AdminSite([]byte(consoleTestToken)))
	defer srv.Close()
	c := newConsoleClient(t, srv)
	health := ConsolePrefix + "api/admin/v1/orgs/acme/health"

	if b := c.want(http.StatusOK, "GET", ConsolePrefix, "", nil); !strings.Contains(string(b), `id="login-form"`) {
		t.Errorf("the console page: %.200s", b)
	}
	c.want(http.StatusUnauthorized, "GET", health, "", nil)
	c.cookie = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.forged"
	c.want(http.StatusUnauthorized, "GET", health, "", nil)
	c.cookie = ""
	// The admin API itself still wants its bearer token.
	c.want(http.StatusUnauthorized, "GET", AdminPrefix+"orgs/acme/health", "", nil)

	var s consoleSession
	json.Unmarshal(c.want(http.StatusOK, "GET", ConsolePrefix+"api/session", "", nil), &s)
	c.csrf = s.CSRF
	c.want(http.StatusUnauthorized, "POST", ConsolePrefix+"api/login", `{"token":"`+consoleTestToken[:len(consoleTestToken)-1]+`"}`, nil)
	c.want(http.StatusForbidden, "POST", ConsolePrefix+"api/login", `{"token":"`+consoleTestToken+`"}`, map[string]string{"X-CSRF-Token": ""})
	c.want(http.StatusForbidden, "POST", ConsolePrefix+"api/login", `{"token":"`+consoleTestToken+`"}`, map[string]string{"Origin": "https://evil.example"})

	ck := c.signIn(consoleTestToken)
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != ConsolePrefix {
		t.Errorf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=%s", ck, ConsolePrefix)
	}
	if strings.Contains(ck.Value, consoleTestToken) {
		t.Error("the cookie holds the admin token")
	}
	var ds []AdminDevice
	if err := json.Unmarshal(c.want(http.StatusOK, "GET", health, "", nil), &ds); err != nil || len(ds) != 2 {
		t.Fatalf("health through the console: %v %+v", err, ds)
	}
	session := c.cookie

	// Another fleetd with another admin token does not accept the cookie;
	// one with the same token (a replica) does.
	other := httptest.NewTLSServer(f.AdminSite([]byte(strings.Repeat("o", 40))))
	defer other.Close()
	oc := newConsoleClient(t, other)
	oc.cookie = session
	oc.want(http.StatusUnauthorized, "GET", health, "", nil)
	replica := httptest.NewTLSServer(f.AdminSite([]byte(consoleTestToken)))
	defer replica.Close()
	rc := newConsoleClient(t, replica)
	rc.cookie = session
	rc.want(http.StatusOK, "GET", health, "", nil)

	// A session ends after ConsoleSessionTTL.
	clock.Advance(ConsoleSessionTTL - time.Second)
	c.want(http.StatusOK, "GET", health, "", nil)
	clock.Advance(time.Second)
	c.want(http.StatusUnauthorized, "GET", health, "", nil)

	// Signing out ends the session on this server.
	c.signIn(consoleTestToken)
	c.want(http.StatusOK, "GET", health, "", nil)
	c.want(http.StatusForbidden, "POST", ConsolePrefix+"api/logout", "{}", map[string]string{"X-CSRF-Token": ""})
	c.want(http.StatusNoContent, "POST", ConsolePrefix+"api/logout", "{}", nil)
	c.want(http.StatusUnauthorized, "GET", health, "", nil)
}

// signedInConsole serves consoleFleet's console and signs a client in.
func signedInConsole(t *testing.T) (*Fleet, *consoleClient) {
	t.Helper()
	f := consoleFleet(t, nil)
	srv := httptest.NewTLSServer(f.AdminSite([]byte(consoleTestToken)))
	t.Cleanup(srv.Close)
	c := newConsoleClient(t, srv)
	c.signIn(consoleTestToken)
	return f, c
}

// A state change through the console needs the session's CSRF token, the
// console's own origin and a JSON body; anything else is refused and
// changes nothing.
func TestConsoleRefusesForgedRequests(t *testing.T) {
	f, c := signedInConsole(t)
	approve := ConsolePrefix + "api/admin/v1/devices/dev-birch/approve"
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		code int
	}{
		{"no CSRF token", map[string]string{"X-CSRF-Token": ""}, http.StatusForbidden},
		{"the anonymous CSRF token", map[string]string{"X-CSRF-Token": anonymousCSRF(f)}, http.StatusForbidden},
		{"another origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"http origin", map[string]string{"Origin": strings.Replace(c.base, "https", "http", 1)}, http.StatusForbidden},
		{"no origin", map[string]string{"Origin": ""}, http.StatusForbidden},
		{"null origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"a form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"no session", map[string]string{"Cookie": consoleCookie + "=x.y"}, http.StatusUnauthorized},
	} {
		if resp := c.do("POST", approve, "{}", tc.hdr); resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
	}
	c.want(http.StatusBadRequest, "GET", ConsolePrefix+"api/admin/v1/orgs/acme/health?token=x", "", nil)
	if d, _ := f.Store.Device(context.Background(), "dev-birch"); d.State != statePending {
		t.Fatalf("a refused request approved the device: %s", d.State)
	}
	c.want(http.StatusNoContent, "POST", approve, "{}", nil)
}

// anonymousCSRF is the CSRF token f's console (with the test token) hands
// out before sign-in.
func anonymousCSRF(f *Fleet) string {
	return newConsole(f, []byte(consoleTestToken)).csrf("")
}

// Each action of the console does what the admin API does, with its
// rules: approve, issue a code (one a device can redeem), push a
// configuration (refused with the API's validation error, signed when
// valid), and the rooms' health as the reports hold it.
func TestConsoleActions(t *testing.T) {
	ctx := context.Background()
	f, c := signedInConsole(t)
	api := ConsolePrefix + "api/admin/v1/"

	var ds []AdminDevice
	json.Unmarshal(c.want(http.StatusOK, "GET", api+"orgs/acme/health", "", nil), &ds)
	if len(ds) != 2 || ds[1].ID != "dev-fjord" || ds[1].Report == nil || ds[1].Report.Software != "roomd 2.3.1" ||
		ds[1].Report.CallQuality.AvgRTTMillis != 42 || *ds[1].Report.Environment.TemperatureC != 21.5 || ds[0].State != statePending {
		t.Fatalf("health: %+v", ds)
	}

	c.want(http.StatusNoContent, "POST", api+"devices/dev-birch/approve", "{}", nil)
	if d, _ := f.Store.Device(ctx, "dev-birch"); d.State != stateActive {
		t.Errorf("approved device is %s", d.State)
	}
	c.want(http.StatusConflict, "POST", api+"devices/dev-birch/approve", "{}", nil)
	c.want(http.StatusNotFound, "POST", api+"devices/nobody/approve", "{}", nil)

	var code AdminCode
	json.Unmarshal(c.want(http.StatusCreated, "POST", api+"orgs/acme/rooms/fjord/codes", `{"ttl_seconds":3600,"require_approval":true}`, nil), &code)
	if !regexp.MustCompile(`^\d{4}(-\d{4}){3}$`).MatchString(code.Code) {
		t.Fatalf("code %+v", code)
	}
	if got, err := f.Store.UseCode(ctx, f.Keys.HashCode(code.Code), time.Now()); err != nil || got.RoomID != "fjord" || !got.NeedsApproval {
		t.Errorf("the console's code: %+v %v", got, err)
	}
	c.want(http.StatusBadRequest, "POST", api+"orgs/acme/rooms/fjord/codes", `{"ttl_seconds":5}`, nil)
	c.want(http.StatusNotFound, "POST", api+"orgs/acme/rooms/attic/codes", `{}`, nil)

	b := c.want(http.StatusBadRequest, "PUT", api+"orgs/acme/rooms/fjord/config", `{"room":{"time_zone":"Mars/Olympus_Mons"}}`, nil)
	if !strings.Contains(string(b), "Mars/Olympus_Mons") {
		t.Errorf("the refusal does not say what is wrong: %s", b)
	}
	c.want(http.StatusBadRequest, "PUT", api+"orgs/acme/rooms/fjord/config", `{"room":{"nmae":"typo"}}`, nil)
	if cfg, _ := f.Store.RoomConfig(ctx, "acme", "fjord"); cfg != "" {
		t.Fatalf("a refused configuration was stored: %s", cfg)
	}
	c.want(http.StatusNoContent, "PUT", api+"orgs/acme/rooms/fjord/config", `{"room":{"name":"Fjord (console)"}}`, nil)
	if cfg, _ := f.Store.RoomConfig(ctx, "acme", "fjord"); !strings.Contains(cfg, "Fjord (console)") {
		t.Errorf("stored configuration %q", cfg)
	}
	if v, _, err := f.Store.Bundle(ctx, "dev-fjord"); err != nil || v != 1 {
		t.Errorf("bundle for the room's device: version %d, %v", v, err)
	}
	c.want(http.StatusNotFound, "GET", ConsolePrefix+"api/nothing", "", nil)
}

// serveOn puts the console on the admin listener, and only there.
func TestConsoleOnAdminListener(t *testing.T) {
	sf := startServe(t, serveOptions{}, nil)
	tr := &http.Transport{TLSClientConfig: sf.tls}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(addr, path string) *http.Response {
		t.Helper()
		resp, err := hc.Get("https://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get(sf.adminAddr, "/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != ConsolePrefix {
		t.Errorf("GET / on the admin listener: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, p := range []string{"", "app.js", "style.css"} {
		r := get(sf.adminAddr, ConsolePrefix+p)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s%s: %d, CSP %q", ConsolePrefix, p, r.StatusCode, r.Header.Get("Content-Security-Policy"))
		}
	}
	// The device listener asks for a client certificate and has no console.
	tr.TLSClientConfig = sf.tls.Clone()
	if r := get(sf.addr, ConsolePrefix); r.StatusCode == http.StatusOK {
		t.Errorf("the device API serves the console")
	}
}

// The console's assets come from fleetd alone: every src and href is a
// relative path of the embedded files, no CDN, no inline script.
func TestConsoleAssetsEmbedded(t *testing.T) {
	page, err := consoleAssets.ReadFile("console/index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html refers to %v", refs)
	}
	for _, m := range refs {
		if _, err := consoleAssets.ReadFile("console/" + m[1]); err != nil {
			t.Errorf("index.html refers to %q, not an embedded file: %v", m[1], err)
		}
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).Match(page) {
		t.Error("index.html has an inline script; the CSP refuses it")
	}
}
