package panel_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// pair runs the pairing protocol for c and returns the paired panel's ID.
func pair(t *testing.T, tp *testPanel, c *apiClient) string {
	t.Helper()
	c.session()
	var res map[string]any
	if code := c.do("POST", "/api/pair/request", map[string]any{}, &res); code != 200 {
		t.Fatalf("pair request: %d %v", code, res)
	}
	var code string
	select {
	case code = <-tp.codes:
	case <-time.After(5 * time.Second):
		t.Fatal("no pairing code reached the room's display")
	}
	if st := c.do("POST", "/api/pair", map[string]any{"code": code, "name": "Test tablet"}, &res); st != 200 {
		t.Fatalf("pair: %d %v", st, res)
	}
	c.session()
	return res["panel"].(string)
}

func TestPanelKioskAccess(t *testing.T) {
	r, _ := startRoom(t)
	tp := startPanel(t, r, nil)
	c := newClient(t, tp.kiosk)
	s := c.session()
	if s["access"] != "kiosk" || s["paired"] != true {
		t.Fatalf("kiosk session %v", s)
	}
	var res panel.Result
	if code := c.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Mute"}, &res); code != 200 || !res.OK {
		t.Fatalf("mute: %d %+v", code, res)
	}
	if !r.Snapshot().MicMute {
		t.Fatal("not muted")
	}
	// The kiosk is in the room: it may unmute.
	if code := c.do("POST", "/api/command", map[string]any{"command": "audio/microphones/unmute"}, &res); code != 200 || !res.OK {
		t.Fatalf("unmute: %d %+v", code, res)
	}
	if r.Snapshot().MicMute {
		t.Fatal("still muted")
	}

	for _, tc := range []struct {
		name string
		mod  func(*http.Request)
		want int
	}{
		{"no origin", func(r *http.Request) { r.Header.Set("X-CSRF-Token", c.csrf) }, 403},
		{"other origin", func(r *http.Request) {
			r.Header.Set("Origin", "http://evil.example")
			r.Header.Set("X-CSRF-Token", c.csrf)
		}, 403},
		{"cross-site fetch", func(r *http.Request) {
			r.Header.Set("Origin", tp.kiosk)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			r.Header.Set("X-CSRF-Token", c.csrf)
		}, 403},
		{"no CSRF token", func(r *http.Request) { r.Header.Set("Origin", tp.kiosk) }, 403},
		{"wrong CSRF token", func(r *http.Request) {
			r.Header.Set("Origin", tp.kiosk)
			r.Header.Set("X-CSRF-Token", "x"+c.csrf)
		}, 403},
		{"DNS rebinding", func(r *http.Request) {
			r.Host = "rebind.example:80"
			r.Header.Set("Origin", "http://rebind.example:80")
			r.Header.Set("X-CSRF-Token", c.csrf)
		}, 403},
		{"form post", func(r *http.Request) {
			r.Header.Set("Origin", tp.kiosk)
			r.Header.Set("X-CSRF-Token", c.csrf)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}, 415},
	} {
		before := r.Snapshot().MicMute
		if code := c.doWith("POST", "/api/command", map[string]any{"command": "Audio Microphones ToggleMute"}, nil, tc.mod); code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.want)
		}
		if r.Snapshot().MicMute != before {
			t.Errorf("%s: the command was carried out", tc.name)
		}
	}
	// No secrets in URLs: the API takes no query string at all.
	if code := c.do("GET", "/api/status?token=x", nil, nil); code != 400 {
		t.Errorf("query string: %d", code)
	}
	// The WebSocket refuses another site's page.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, strings.Replace(tp.kiosk, "http", "ws", 1)+"/api/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("cross-origin WebSocket: %v %v", resp, err)
	}
}

func TestPanelRemoteNeedsPairingUntilRevoked(t *testing.T) {
	r, _ := startRoom(t)
	tp := startPanel(t, r, nil)
	c := newClient(t, tp.remote)
	if s := c.session(); s["paired"] != false || s["access"] != "remote" {
		t.Fatalf("unpaired session %v", s)
	}
	// Unpaired: nothing but the pairing endpoints.
	var res map[string]any
	for _, p := range []string{"/api/status", "/api/schema", "/api/admin/info"} {
		if code := c.do("GET", p, nil, &res); code != 401 {
			t.Errorf("unpaired GET %s: %d", p, code)
		}
	}
	if code := c.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Mute"}, &res); code != 401 || r.Snapshot().MicMute {
		t.Errorf("unpaired command: %d, muted %v", code, r.Snapshot().MicMute)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := strings.Replace(tp.remote, "http", "ws", 1) + "/api/ws"
	if _, resp, err := websocket.Dial(ctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("unpaired WebSocket: %v %v", resp, err)
	}

	// Wrong codes use up the code.
	c.do("POST", "/api/pair/request", map[string]any{}, &res)
	code := <-tp.codes
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 0; i < 5; i++ {
		if st := c.do("POST", "/api/pair", map[string]any{"code": wrong}, &res); st != 403 {
			t.Fatalf("wrong code %d: %d %v", i, st, res)
		}
	}
	if st := c.do("POST", "/api/pair", map[string]any{"code": code}, &res); st != 403 {
		t.Fatalf("the right code after five wrong ones: %d %v", st, res)
	}
	if st := c.do("POST", "/api/pair/request", map[string]any{}, &res); st != 429 {
		t.Fatalf("a new code right after a voided one: %d", st)
	}

	tp2 := startPanel(t, r, nil) // a fresh server without the cool-down
	c = newClient(t, tp2.remote)
	id := pair(t, tp2, c)
	if st := c.do("POST", "/api/command", map[string]any{"command": "Audio Volume Set", "args": map[string]any{"Level": 35}}, &res); st != 200 || r.Snapshot().Volume != 35 {
		t.Fatalf("paired command: %d %v volume %d", st, res, r.Snapshot().Volume)
	}
	// A remote panel is not in the room: it may mute but not unmute.
	c.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Mute"}, &res)
	if st := c.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Unmute"}, &res); st != 403 || res["reason"] != "NotAllowed" || !r.Snapshot().MicMute {
		t.Fatalf("remote unmute: %d %v", st, res)
	}

	// The token is stored hashed, 0600, and never in the clear.
	b, err := os.ReadFile(filepath.Join(tp2.dir, panel.TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(tp2.dir, panel.TokensFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode %v", fi.Mode().Perm())
	}
	u, _ := http.NewRequest("GET", tp2.remote, nil)
	for _, ck := range c.http.Jar.Cookies(u.URL) {
		if ck.Name == "roomd_panel" && strings.Contains(string(b), ck.Value) {
			t.Fatal("the token is stored in the clear")
		}
	}

	// A live WebSocket is closed when the panel is revoked by the local command.
	hdr := http.Header{"Origin": {tp2.remote}}
	for _, ck := range c.http.Jar.Cookies(u.URL) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, _, err := websocket.Dial(ctx, strings.Replace(tp2.remote, "http", "ws", 1)+"/api/ws", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("paired WebSocket: %v", err)
	}
	defer conn.CloseNow()
	var hello panel.HelloMessage
	readJSONMessage(t, ctx, conn, &hello)
	if hello.Source != "remote:panel:"+id {
		t.Errorf("hello %+v", hello)
	}
	if _, err := panel.Revoke(tp2.dir, id); err != nil {
		t.Fatal(err)
	}
	sawRevoked := false
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Errorf("closed with %v", err)
			}
			break
		}
		sawRevoked = sawRevoked || strings.Contains(string(b), `"revoked"`)
	}
	if !sawRevoked {
		t.Error("no revoked message before the close")
	}
	if st := c.do("GET", "/api/status", nil, &res); st != 401 {
		t.Errorf("revoked panel GET /api/status: %d", st)
	}

	// Revocation from the settings screen.
	c2 := newClient(t, tp2.remote)
	id2 := pair(t, tp2, c2)
	if st := c2.do("GET", "/api/status", nil, &res); st != 200 {
		t.Fatalf("second panel: %d", st)
	}
	k := newClient(t, tp2.kiosk)
	k.session()
	if st := k.do("POST", "/api/admin/revoke", map[string]any{"id": id2}, &res); st != 401 {
		t.Fatalf("revoke without the admin PIN: %d", st)
	}
	k.do("POST", "/api/admin/login", map[string]any{"pin": "1234"}, &res)
	var info panel.AdminInfo
	if k.do("GET", "/api/admin/info", nil, &info); len(info.Panels) != 1 || info.Panels[0].ID != id2 {
		t.Fatalf("paired panels in the settings: %+v", info.Panels)
	}
	if st := k.do("POST", "/api/admin/revoke", map[string]any{"id": id2}, &res); st != 200 {
		t.Fatalf("revoke: %d %v", st, res)
	}
	if st := c2.do("GET", "/api/status", nil, &res); st != 401 {
		t.Errorf("panel revoked in the settings GET /api/status: %d", st)
	}
}

func readJSONMessage(t *testing.T, ctx context.Context, c *websocket.Conn, v any) {
	t.Helper()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

func TestPanelAdminPINLockout(t *testing.T) {
	r, _ := startRoom(t)
	now := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	var clock = func() time.Time { return now }
	tp := startPanel(t, r, func(o *panel.Options) { o.Now = func() time.Time { return clock() } })
	c := newClient(t, tp.kiosk)
	c.session()
	var res map[string]any
	if st := c.do("GET", "/api/admin/info", nil, &res); st != 401 {
		t.Fatalf("info without PIN: %d", st)
	}
	for i := 1; i <= 5; i++ {
		if st := c.do("POST", "/api/admin/login", map[string]any{"pin": "9999"}, &res); st != 403 {
			t.Fatalf("wrong PIN %d: %d", i, st)
		}
	}
	if !strings.Contains(res["error"].(string), "locked for 30s") {
		t.Fatalf("fifth wrong PIN: %v", res)
	}
	if st := c.do("POST", "/api/admin/login", map[string]any{"pin": "1234"}, &res); st != 403 || !strings.Contains(res["error"].(string), "try again in") {
		t.Fatalf("right PIN while locked: %d %v", st, res)
	}
	now = now.Add(31 * time.Second)
	if st := c.do("POST", "/api/admin/login", map[string]any{"pin": "1234"}, &res); st != 200 {
		t.Fatalf("right PIN after the lock: %d %v", st, res)
	}
	var info panel.AdminInfo
	if st := c.do("GET", "/api/admin/info", nil, &info); st != 200 || len(info.Logs) == 0 || len(info.Network) == 0 {
		t.Fatalf("info: %d %+v", st, info)
	}
	// Enrollment without a fleet server is refused by the room, and says so.
	if st := c.do("POST", "/api/admin/enroll", map[string]any{"code": "ABCD-EFGH-JKLM"}, &res); st != 422 || res["reason"] != "NoFleet" {
		t.Fatalf("enroll: %d %v", st, res)
	}
	// The admin cookie is not a remote panel's: a remote client cannot use it.
	rc := newClient(t, tp.remote)
	rc.session()
	if st := rc.do("GET", "/api/admin/info", nil, &res); st != 401 {
		t.Fatalf("remote info: %d", st)
	}
	c.do("POST", "/api/admin/logout", map[string]any{}, &res)
	if st := c.do("GET", "/api/admin/info", nil, &res); st != 401 {
		t.Fatalf("info after logout: %d", st)
	}
	_ = room.FromPanel
}

// Over HTTPS the remote panel's token cookie is Secure and the origin check
// expects https.
func TestPanelRemoteOverTLS(t *testing.T) {
	r, _ := startRoom(t)
	codes := make(chan string, 4)
	srv, err := panel.New(r, panel.Options{StateDir: t.TempDir(), ShowPairingCode: func(c string, _ time.Time) {
		if c != "" {
			codes <- c
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewTLSServer(srv.Handler(panel.Remote))
	defer ts.Close()
	c := newClient(t, ts.URL)
	var setCookies []string
	base := ts.Client().Transport
	c.http.Transport = roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if err == nil {
			setCookies = append(setCookies, resp.Header.Values("Set-Cookie")...)
		}
		return resp, err
	})
	c.session()
	var res map[string]any
	if st := c.do("POST", "/api/pair/request", map[string]any{}, &res); st != 200 {
		t.Fatalf("pair request: %d %v", st, res)
	}
	var setCookie string
	st := c.doWith("POST", "/api/pair", map[string]any{"code": <-codes}, &res, func(r *http.Request) {
		r.Header.Set("Origin", ts.URL)
		r.Header.Set("X-CSRF-Token", c.csrf)
	})
	u, _ := url.Parse(ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "roomd_panel" {
			setCookie = ck.Value
		}
	}
	if st != 200 || setCookie == "" {
		t.Fatalf("pair over TLS: %d %v", st, res)
	}
	if len(setCookies) != 1 || !strings.Contains(setCookies[0], "; Secure") || !strings.Contains(setCookies[0], "; HttpOnly") || !strings.Contains(setCookies[0], "SameSite=Strict") {
		t.Errorf("token cookie %q: want Secure, HttpOnly, SameSite=Strict", setCookies)
	}
	// The jar keeps Secure cookies for https only: ask the server directly.
	req, _ := http.NewRequest("POST", ts.URL+"/api/pair/request", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", strings.Replace(ts.URL, "https", "http", 1))
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("an http:// origin on the https panel: %d", resp.StatusCode)
	}
	c.session()
	if st := c.do("GET", "/api/status", nil, &res); st != 200 {
		t.Fatalf("paired over TLS: %d", st)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
