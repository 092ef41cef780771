package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestAdminToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.token")
	if err := CreateAdminToken(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode().Perm())
	}
	tok, err := LoadAdminToken(path)
	if err != nil || len(tok) < 32 {
		t.Fatalf("LoadAdminToken = %q, %v", tok, err)
	}
	if err := CreateAdminToken(path); err == nil {
		t.Error("an existing token was replaced")
	}
	if again, _ := LoadAdminToken(path); !bytes.Equal(again, tok) {
		t.Error("the token changed")
	}
	os.Chmod(path, 0o640)
	if _, err := LoadAdminToken(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable token: %v", err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("secret\n"), 0o600)
	if _, err := LoadAdminToken(short); err == nil {
		t.Error("a short token was accepted")
	}
	if _, err := LoadAdminToken(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing token file was accepted")
	}
}

// adminClient talks to the admin API with a token.
type adminClient struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
}

func (a *adminClient) do(method, path, body string) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+AdminPrefix+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (a *adminClient) want(code int, method, path, body string) []byte {
	a.t.Helper()
	got, b := a.do(method, path, body)
	if got != code {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, got, b, code)
	}
	return b
}

// The admin API does what the CLI does, over HTTPS with a bearer token:
// organisations, rooms, configuration, codes, approval, pre-registration,
// health and revocation; bad input gets a clear 4xx and changes nothing.
func TestAdminAPI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := startFleet(t, dir)
	f := fs.f
	token := "Zx8dB3kq0a7Yw2mN5pR1sT4uV6xW9yZ-abcdefgh"
	// The admin side logs to a buffer (a copy of the fleet, so the device
	// side's logger is not written under its feet).
	var logs syncLog
	af := *f
	af.Log = slog.New(slog.NewTextHandler(&logs, nil))
	srv := httptest.NewTLSServer(af.AdminHandler([]byte(token)))
	defer srv.Close()
	admin := &adminClient{t: t, base: srv.URL, token: token, hc: srv.Client()}

	// Without the right token nothing is done.
	for _, tok := range []string{"", "wrong", token[:len(token)-1], token + "x"} {
		bad := &adminClient{t: t, base: srv.URL, token: tok, hc: srv.Client()}
		if code, _ := bad.do("POST", "orgs", `{"id":"acme","name":"Acme"}`); code != http.StatusUnauthorized {
			t.Errorf("token %q: %d", tok, code)
		}
	}
	if l := logs.String(); strings.Contains(l, token[:8]) || strings.Count(l, "admin request refused") != 4 {
		t.Errorf("refused requests: the log must name each and never the token:\n%s", l)
	}
	if code, _ := admin.do("GET", "orgs/acme/health", ""); code != http.StatusOK {
		t.Fatalf("health of an empty org: %d", code)
	}

	admin.want(http.StatusCreated, "POST", "orgs", `{"id":"acme","name":"Acme"}`)
	admin.want(http.StatusConflict, "POST", "orgs", `{"id":"acme","name":"Acme"}`)
	admin.want(http.StatusBadRequest, "POST", "orgs", `{"id":"acme2","nmae":"typo"}`)
	admin.want(http.StatusBadRequest, "POST", "orgs", `{"id":"a/b","name":"slash"}`)
	admin.want(http.StatusBadRequest, "POST", "orgs", `{"id":"x"} {"id":"y"}`)
	admin.want(http.StatusCreated, "POST", "orgs/acme/rooms", `{"id":"fjord","name":"Fjord"}`)
	admin.want(http.StatusNotFound, "POST", "orgs/initech/rooms", `{"id":"attic","name":"Attic"}`)

	// Configuration: validated, strict, and signed for the room.
	admin.want(http.StatusBadRequest, "PUT", "orgs/acme/rooms/fjord/config", `{"room":{"time_zone":"Mars/Olympus_Mons"}}`)
	admin.want(http.StatusBadRequest, "PUT", "orgs/acme/rooms/fjord/config", `{"room":{"name":"Fjord"},"pins":{"serial":"1234"}}`)
	admin.want(http.StatusNotFound, "PUT", "orgs/acme/rooms/attic/config", `{"room":{"name":"Attic"}}`)
	if cfg, _ := f.Store.RoomConfig(ctx, "acme", "fjord"); cfg != "" {
		t.Fatalf("a refused configuration was stored: %s", cfg)
	}
	admin.want(http.StatusNoContent, "PUT", "orgs/acme/rooms/fjord/config", `{"room":{"name":"Fjord (admin API)"},"poll_seconds":30}`)

	// An activation code from the API enrolls a real device.
	admin.want(http.StatusBadRequest, "POST", "orgs/acme/rooms/fjord/codes", `{"ttl_seconds":5}`)
	admin.want(http.StatusNotFound, "POST", "orgs/acme/rooms/attic/codes", `{}`)
	var code AdminCode
	if err := json.Unmarshal(admin.want(http.StatusCreated, "POST", "orgs/acme/rooms/fjord/codes", `{"ttl_seconds":3600}`), &code); err != nil || code.Code == "" {
		t.Fatalf("code: %+v %v", code, err)
	}
	if d := time.Until(code.ExpiresAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("code expires in %v", d)
	}
	device := func(name, code string) (*fakeRoom, *provisioning.Client) {
		t.Helper()
		rm := &fakeRoom{settings: room.DefaultSettings()}
		opts := fs.deviceOptions(filepath.Join(dir, name), rm)
		opts.ActivationCode = code
		opts.Health = func() provisioning.HealthReport { return provisioning.HealthReport{Software: "v-" + name} }
		cl, _ := runClient(t, opts)
		return rm, cl
	}
	rm1, _ := device("one", code.Code)
	waitFor(t, 30*time.Second, "enrolled with the API's code", func() bool {
		s, p := rm1.snapshot()
		return p.State == room.Enrolled && s.Name == "Fjord (admin API)"
	})

	// Health shows the device and its report.
	health := func() []AdminDevice {
		var ds []AdminDevice
		if err := json.Unmarshal(admin.want(http.StatusOK, "GET", "orgs/acme/health", ""), &ds); err != nil {
			t.Fatal(err)
		}
		return ds
	}
	waitFor(t, 30*time.Second, "the report in the API's health", func() bool {
		ds := health()
		return len(ds) == 1 && ds[0].State == stateActive && ds[0].Room == "fjord" && ds[0].ConfigVersion == 1 &&
			ds[0].Report != nil && ds[0].Report.Software == "v-one" && ds[0].ReportAt != nil
	})
	first := health()[0]

	// A code that needs approval: the device waits until the API approves it.
	var held AdminCode
	json.Unmarshal(admin.want(http.StatusCreated, "POST", "orgs/acme/rooms/fjord/codes", `{"require_approval":true}`), &held)
	rm2, cl2 := device("two", held.Code)
	waitFor(t, 30*time.Second, "pending", func() bool { _, p := rm2.snapshot(); return p.State == room.Pending })
	admin.want(http.StatusNotFound, "POST", "devices/no-such-device/approve", "")
	admin.want(http.StatusNoContent, "POST", "devices/"+strings.ToLower(cl2.Fingerprint())+"/approve", "")
	admin.want(http.StatusConflict, "POST", "devices/"+cl2.Fingerprint()+"/approve", "")
	cl2.Enroll(held.Code)
	waitFor(t, 60*time.Second, "enrolled after the API approved it", func() bool { _, p := rm2.snapshot(); return p.State == room.Enrolled })

	// Pre-registration through the API.
	admin.want(http.StatusBadRequest, "POST", "orgs/acme/rooms/fjord/preregistrations", `{"fingerprint":"not-a-fingerprint"}`)
	var pr AdminPrereg
	json.Unmarshal(admin.want(http.StatusCreated, "POST", "orgs/acme/rooms/fjord/preregistrations",
		`{"fingerprint":"0123456789abcdef0123456789abcdef","serial":"SN-7"}`), &pr)
	if pr.Fingerprint != "0123-4567-89AB-CDEF-0123-4567-89AB-CDEF" {
		t.Errorf("registered %+v", pr)
	}
	admin.want(http.StatusConflict, "POST", "orgs/acme/rooms/fjord/preregistrations", `{"fingerprint":"0123456789abcdef0123456789abcdef"}`)

	// Revocation: the device's certificate is refused from then on.
	admin.want(http.StatusNotFound, "POST", "devices/no-such-device/revoke", "")
	admin.want(http.StatusNoContent, "POST", "devices/"+first.ID+"/revoke", "")
	waitFor(t, 10*time.Second, "revoked in health", func() bool {
		for _, d := range health() {
			if d.ID == first.ID {
				return d.State == stateRevoked
			}
		}
		return false
	})
	before := health()
	var at time.Time
	for _, d := range before {
		if d.ID == first.ID && d.ReportAt != nil {
			at = *d.ReportAt
		}
	}
	// Several polls later the revoked device has reported nothing more,
	// while the other one goes on.
	other := map[time.Time]bool{}
	waitFor(t, 30*time.Second, "three reports from the device still active", func() bool {
		for _, d := range health() {
			if d.ID != first.ID && d.ReportAt != nil {
				other[*d.ReportAt] = true
			}
		}
		return len(other) >= 4
	})
	for _, d := range health() {
		if d.ID == first.ID && (d.ReportAt == nil || !d.ReportAt.Equal(at)) {
			t.Errorf("the revoked device still reports: %v, was %v", d.ReportAt, at)
		}
	}
	if strings.Contains(logs.String(), token[:8]) || strings.Contains(logs.String(), code.Code) {
		t.Error("the admin log holds the token or an activation code")
	}
}
