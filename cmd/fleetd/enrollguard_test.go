package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/provisioning"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// The policy, driven by a fake clock: free refusals, then a wait that
// doubles up to the cap; a genuine enrollment clears the address; parallel
// attempts go ahead until an address has had to wait, then one at a time;
// the server-wide bucket stops many addresses together and refills; an
// IPv6 /64 is one client.
func TestEnrollGuardPolicy(t *testing.T) {
	clock := newFakeClock()
	g := newEnrollGuard(EnrollLimits{FreeRefusals: 3, Base: 2 * time.Second, Max: 20 * time.Second,
		GlobalPerSecond: 1, GlobalBurst: 12}, clock.Now, nil)
	refuse := func(remote string) {
		t.Helper()
		tk, wait, _, ok := g.admit(remote)
		if !ok {
			t.Fatalf("%s waits %v", remote, wait)
		}
		g.done(tk, enrollRefused)
	}
	waits := func(remote string, want time.Duration, wantPerAddress bool) {
		t.Helper()
		_, wait, per, ok := g.admit(remote)
		if ok || wait != want || per != wantPerAddress {
			t.Fatalf("%s: admitted %v, wait %v per-address %v; want wait %v per-address %v", remote, ok, wait, per, want, wantPerAddress)
		}
	}
	a := "192.0.2.1:4000"
	for range 3 {
		refuse(a)
	}
	waits(a, 2*time.Second, true)
	// Each refusal after the free ones doubles the wait, up to Max.
	for _, want := range []time.Duration{4, 8, 16, 20, 20} {
		clock.Advance(20 * time.Second)
		refuse(a)
		waits(a, want*time.Second, true)
	}
	// Another port of the same address is the same client; another
	// address is not.
	waits("192.0.2.1:5000", 20*time.Second, true)
	clock.Advance(20 * time.Second)
	tk, _, _, ok := g.admit("192.0.2.1:5000")
	if !ok {
		t.Fatal("not admitted after the wait")
	}
	g.done(tk, enrollEnrolled)
	for range 3 { // cleared: the free refusals again
		refuse(a)
	}
	waits(a, 2*time.Second, true)

	// Parallel attempts from a fresh address (rooms behind one NAT) all
	// go ahead; once the address has had to wait, one at a time.
	b := "198.51.100.7:1"
	var held []enrollTicket
	for range 20 {
		tk, _, _, ok := g.admit(b)
		if !ok {
			t.Fatal("a parallel attempt from a fresh address waits")
		}
		held = append(held, tk)
	}
	for _, tk := range held {
		g.done(tk, enrollEnrolled)
	}
	for range 3 {
		refuse(b)
	}
	clock.Advance(2 * time.Second)
	tk, _, _, ok = g.admit(b)
	if !ok {
		t.Fatal("not admitted after the wait")
	}
	waits(b, time.Second, true)
	g.done(tk, enrollRefused)
	waits(b, 4*time.Second, true)

	// IPv6: a /64 is one client.
	for i := range 3 {
		refuse(fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	waits("[2001:db8:1:2:ffff::1]:443", 2*time.Second, true)

	// The server-wide bucket: 12 deep, and 1 refusal a second. Fresh
	// addresses drain it; then everyone waits, until it refills.
	clock.Advance(time.Hour)
	for i := range 12 {
		refuse(fmt.Sprintf("203.0.113.%d:1", i))
	}
	waits("203.0.113.200:1", time.Second, false)
	clock.Advance(1500 * time.Millisecond)
	refuse("203.0.113.201:1")
	waits("203.0.113.202:1", time.Second, false)
	// Attempts in flight together may all be refused: the bucket goes
	// below zero and the wait is longer.
	clock.Advance(time.Second) // 1.5 tokens
	var burst []enrollTicket
	for i := range 4 {
		tk, _, _, ok := g.admit(fmt.Sprintf("203.0.113.%d:1", 210+i))
		if !ok {
			t.Fatal("a parallel attempt was not admitted")
		}
		burst = append(burst, tk)
	}
	for _, tk := range burst {
		g.done(tk, enrollRefused)
	}
	waits("203.0.113.220:1", 4*time.Second, false) // -2.5 tokens: 3.5 s
	// Neither enrollments nor known devices take from it.
	clock.Advance(4 * time.Second)
	for i := range 5 {
		tk, _, _, ok := g.admit(fmt.Sprintf("203.0.113.%d:1", 230+i))
		if !ok {
			t.Fatal("not admitted after the refill")
		}
		g.done(tk, []enrollOutcome{enrollEnrolled, enrollNeutral}[i%2])
	}
	tk, _, _, ok = g.admit("203.0.113.240:1")
	if !ok {
		t.Fatal("genuine attempts used the bucket up")
	}
	g.done(tk, enrollNeutral)

	// Forgotten after an hour of quiet; never while in flight.
	clock.Advance(2 * time.Hour)
	g.mu.Lock()
	g.prune(clock.Now())
	n := len(g.addrs)
	g.mu.Unlock()
	if n != 0 {
		t.Errorf("%d addresses remembered after two quiet hours", n)
	}
}

// guardedFleet runs fleetd's device API over real TLS with a fake clock,
// the given limits and its log in a buffer.
type guardedFleet struct {
	f     *Fleet
	g     *enrollGuard
	clock *fakeClock
	log   *testtool.LockedBuffer
	addr  string
}

func startGuardedFleet(t *testing.T, lim EnrollLimits) *guardedFleet {
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
	gf := &guardedFleet{clock: newFakeClock(), log: &testtool.LockedBuffer{}}
	gf.f = &Fleet{Store: st, Keys: keys, Log: slog.New(slog.NewTextHandler(gf.log, nil)), Now: gf.clock.Now, EnrollLimits: lim}
	gf.g = newEnrollGuard(lim, gf.f.now, gf.f.Log)
	tc, err := gf.f.TLSConfig("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gf.addr = ln.Addr().String()
	srv := &http.Server{Handler: gf.f.handler(gf.g), TLSConfig: tc}
	go srv.Serve(tls.NewListener(ln, tc))
	t.Cleanup(func() { srv.Close() })
	seedFleet(t, gf.f, "fjord", "Fjord", nil)
	return gf
}

// enroller posts enrollments from one local address (127.0.0.x) over one
// kept-alive connection.
type enroller struct {
	t    *testing.T
	hc   *http.Client
	url  string
	body func(code string) []byte
}

func (gf *guardedFleet) enroller(t *testing.T, from string) *enroller {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(gf.f)}, DialContext: d.DialContext, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := provisioning.NewCSR(key, "roomd")
	if err != nil {
		t.Fatal(err)
	}
	return &enroller{t: t, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, url: "https://" + gf.addr + provisioning.PathEnroll,
		body: func(code string) []byte {
			b, _ := json.Marshal(provisioning.EnrollRequest{ActivationCode: code, CSR: csr})
			return b
		}}
}

// try posts one enrollment with code; it returns the status, the
// Retry-After seconds (-1 for none) and the body.
func (e *enroller) try(code string) (int, int, string) {
	e.t.Helper()
	resp, err := e.hc.Post(e.url, "application/json", bytes.NewReader(e.body(code)))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ra := -1
	if s := resp.Header.Get("Retry-After"); s != "" {
		ra, _ = strconv.Atoi(s)
	}
	return resp.StatusCode, ra, string(b)
}

// The issue's attack: one connection trying enrollment codes as fast as it
// can (1,015 a second, every refusal a 170-byte log line). Now the first
// ten refusals are all that reach the database; every later attempt gets
// 429 with a Retry-After that grows, and the log holds one line for the
// first refusal and one of counts per minute. Another address enrolls
// meanwhile; many addresses together hit the server-wide limit; and once
// the attack stops, a genuine enrollment from the attacking address works.
func TestEnrollmentThrottled(t *testing.T) {
	gf := startGuardedFleet(t, EnrollLimits{GlobalPerSecond: 1, GlobalBurst: 40})
	attacker := gf.enroller(t, "127.0.0.2")
	const attempts = 2000
	counts := map[int]int{}
	start := time.Now()
	for i := range attempts {
		status, ra, body := attacker.try(fmt.Sprintf("%04d-0000-0000-0000", i))
		counts[status]++
		if status == http.StatusTooManyRequests && (ra < 1 || !strings.Contains(body, "this address")) {
			t.Fatalf("429 without a Retry-After or saying why: %d %q", ra, body)
		}
	}
	elapsed := time.Since(start)
	if counts[http.StatusForbidden] != 10 || counts[http.StatusTooManyRequests] != attempts-10 {
		t.Errorf("answers to %d wrong codes on one connection: %v, want 10 refusals and the rest 429", attempts, counts)
	}
	logged := gf.log.String()
	if n := strings.Count(logged, "\n"); n != 1 || !strings.Contains(logged, "enroll refused") {
		t.Errorf("log during the attack: %d lines, want the first refusal only:\n%s", n, logged)
	}
	// The period's counts, once it is over.
	gf.clock.Advance(time.Minute)
	gf.g.flush()
	logged = gf.log.String()
	if !strings.Contains(logged, "refused=10 ") || !strings.Contains(logged, fmt.Sprintf("told_to_wait_per_address=%d ", attempts-10)) {
		t.Errorf("no count of the attack in the log:\n%s", logged)
	}
	t.Logf("%d attempts in %v (%.0f/s): %d reached the database; log %d bytes (was about %d)",
		attempts, elapsed.Round(time.Millisecond), attempts/elapsed.Seconds(), counts[http.StatusForbidden], len(logged), 170*attempts)
	if len(logged) > 1024 {
		t.Errorf("log of the attack is %d bytes", len(logged))
	}

	// Escalation: after the wait, one more refusal, then twice the wait.
	if status, _, _ := attacker.try("0000-0000-0000-0000"); status != http.StatusForbidden {
		t.Fatalf("after the wait: %d, want 403", status)
	}
	if status, ra, _ := attacker.try("0000-0000-0000-0001"); status != http.StatusTooManyRequests || ra != 4 {
		t.Fatalf("second wait: %d Retry-After %d, want 429 and 4", status, ra)
	}

	// Another address is not held up by this one.
	neighbour := gf.enroller(t, "127.0.0.3")
	if status, _, body := neighbour.try(issueCode(t, gf.f, "fjord", false)); status != http.StatusCreated {
		t.Fatalf("genuine enrollment from another address during the attack: %d %s", status, body)
	}

	// Many addresses together: the server-wide bucket (40, refilled at one
	// a second) runs out, and then every address waits, the genuine too.
	refused, serverWide := 0, 0
	for i := 0; serverWide == 0 && i < 200; i++ {
		status, ra, body := gf.enroller(t, fmt.Sprintf("127.0.1.%d", i+1)).try("1234-1234-1234-1234")
		switch {
		case status == http.StatusForbidden:
			refused++
		case status == http.StatusTooManyRequests && strings.Contains(body, "all addresses") && ra >= 1:
			serverWide++
		default:
			t.Fatalf("address %d: %d %s", i, status, body)
		}
	}
	if serverWide == 0 || refused > 40 {
		t.Fatalf("server-wide limit: %d refusals from fresh addresses before it held", refused)
	}
	genuine := issueCode(t, gf.f, "fjord", false)
	if status, _, _ := gf.enroller(t, "127.0.2.1").try(genuine); status != http.StatusTooManyRequests {
		t.Errorf("during a distributed attack: %d, want 429", status)
	}

	// The attack stops: the bucket refills and the attacker's wait ends,
	// and a genuine enrollment from the attacking address works.
	gf.clock.Advance(time.Minute)
	if status, _, body := attacker.try(genuine); status != http.StatusCreated {
		t.Fatalf("genuine enrollment after the attack: %d %s", status, body)
	}
	// That cleared the address: it has its free refusals again.
	if status, _, _ := gf.enroller(t, "127.0.0.2").try("9999-9999-9999-9999"); status != http.StatusForbidden {
		t.Errorf("after a genuine enrollment: %d, want 403", status)
	}
}
