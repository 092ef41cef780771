package ua

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// testRegistrar is a digest-checking registrar on sipgo, for the unit
// tests of the registration logic only (real far ends: registrar_kamailio_test.go).
type testRegistrar struct {
	addr     string
	password string

	mu       sync.Mutex
	nonce    string
	requests []string // "401", "200 nc=00000001", "200 expires=0" ...
}

func startRegistrar(t *testing.T, password string, granted int) *testRegistrar {
	t.Helper()
	r := &testRegistrar{password: password, nonce: "n1"}
	sua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(sua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		r.mu.Lock()
		defer r.mu.Unlock()
		chal := &digest.Challenge{Realm: "test.invalid", Nonce: r.nonce, QOP: []string{"auth"}, Algorithm: "MD5"}
		h := req.GetHeader("Authorization")
		ok, nc := false, ""
		if h != nil {
			cred, err := digest.ParseCredentials(h.Value())
			if err == nil && cred.Nonce == r.nonce {
				want, _ := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: cred.URI, Username: cred.Username,
					Password: r.password, Cnonce: cred.Cnonce, Count: cred.Nc})
				ok, nc = want.Response == cred.Response, fmt.Sprintf("nc=%08x", cred.Nc)
			}
		}
		if !ok {
			r.requests = append(r.requests, "401")
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
			tx.Respond(res)
			return
		}
		exp := req.GetHeader("Expires").Value()
		if exp == "0" {
			r.requests = append(r.requests, "200 expires=0")
			tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
			return
		}
		r.requests = append(r.requests, "200 "+nc)
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		ct := req.Contact()
		res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", ct.Address.String(), granted)))
		tx.Respond(res)
	})
	pc := listenUDP(t)
	r.addr = pc.LocalAddr().String()
	go srv.ServeUDP(pc)
	t.Cleanup(func() { sua.Close() })
	return r
}

// restart forgets the nonce, as a restarted registrar does.
func (r *testRegistrar) restart() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nonce += "x"
}

func (r *testRegistrar) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// TestRegisterRefresh: digest with qop=auth, the nonce count rising on
// refreshes at 50–80 % of the granted time, re-authentication after the
// registrar restarts, and unregistration on stop. The password shows in
// no log line and no %+v.
func TestRegisterRefresh(t *testing.T) {
	const password = "s3cret-pass"
	reg := startRegistrar(t, password, 120)
	clock := newFakeClock()
	var logs bytes.Buffer
	var states []RegState
	var mu sync.Mutex
	cfg := Config{
		Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}},
		Account: &Account{AOR: "sip:room@test.invalid", Registrar: "sip:" + reg.addr,
			Password: NewSecret(password), Expires: 300 * time.Second},
		Clock:  clock,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnRegistration: func(r Registration) {
			mu.Lock()
			states = append(states, r.State)
			mu.Unlock()
		},
		Version: "test",
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()

	registered := func(n int) {
		t.Helper()
		eventually(t, 5*time.Second, fmt.Sprintf("registration %d", n), func() bool {
			return u.Registration().State == Registered && len(reg.seen()) >= n && clock.pending() == 1
		})
	}
	registered(2)
	st := u.Registration()
	if got := st.Expires.Sub(clock.Now()); got != 120*time.Second {
		t.Errorf("Expires in %v; want the granted 120s", got)
	}
	for i := range 2 {
		due := clock.nextDue()
		if due < 60*time.Second || due > 96*time.Second {
			t.Errorf("refresh %d due in %v; want 50–80 %% of 120s", i, due)
		}
		clock.Advance(due)
		registered(3 + i)
	}
	reg.restart()
	clock.Advance(clock.nextDue())
	registered(6)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"401", "200 nc=00000001", "200 nc=00000002", "200 nc=00000003", "401", "200 nc=00000001", "200 expires=0"}
	if got := reg.seen(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("registrar saw %q; want %q", got, want)
	}
	if got := u.Registration().State; got != Unregistered {
		t.Errorf("after stop: %v; want Unregistered", got)
	}
	mu.Lock()
	if states[0] != Registering || states[1] != Registered {
		t.Errorf("states %v; want Registering, Registered first", states)
	}
	mu.Unlock()
	for _, s := range []string{logs.String(), fmt.Sprintf("%+v %v %#v", cfg, *cfg.Account, cfg.Account.Password)} {
		if strings.Contains(s, password) {
			t.Errorf("the password shows: %s", s)
		}
	}
	if logs.Len() == 0 {
		t.Error("no log at debug level: the password check proves nothing")
	}
}

// TestRegisterWrongPassword: a refused password is Failed with the reason
// the room shows, and retried with backoff.
func TestRegisterWrongPassword(t *testing.T) {
	reg := startRegistrar(t, "right", 120)
	clock := newFakeClock()
	u := startUA(t, Config{
		Account: &Account{AOR: "sip:room@test.invalid", Registrar: "sip:" + reg.addr, Password: NewSecret("wrong")},
		Clock:   clock,
	})
	eventually(t, 5*time.Second, "Failed", func() bool { return u.Registration().State == Failed && clock.pending() == 1 })
	if got := u.Registration().Reason; got != reasonBadCredentials {
		t.Errorf("reason %q; want %q", got, reasonBadCredentials)
	}
	if got := clock.nextDue(); got != backoffMin {
		t.Errorf("first retry in %v; want %v", got, backoffMin)
	}
	clock.Advance(backoffMin)
	eventually(t, 5*time.Second, "second attempt", func() bool { return len(reg.seen()) == 4 && clock.pending() == 1 })
	if got := clock.nextDue(); got != 2*backoffMin {
		t.Errorf("second retry in %v; want %v", got, 2*backoffMin)
	}
}

// TestRegisterUnreachable: no registrar: Failed with a reason that says so.
func TestRegisterUnreachable(t *testing.T) {
	pc := listenUDP(t) // bound but silent
	clock := newFakeClock()
	u := startUA(t, Config{
		Account:        &Account{AOR: "sip:room@test.invalid", Registrar: "sip:" + pc.LocalAddr().String(), Password: NewSecret("x")},
		Clock:          clock,
		RequestTimeout: 300 * time.Millisecond,
	})
	eventually(t, 5*time.Second, "Failed", func() bool { return u.Registration().State == Failed })
	if got := u.Registration().Reason; !strings.Contains(got, "unreachable") {
		t.Errorf("reason %q; want it to say unreachable", got)
	}
}
