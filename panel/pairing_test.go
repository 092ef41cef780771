package panel_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/panel"
)

// newClientFrom is a client whose connections come from the loopback
// address src (127.0.0.2, …), so the server sees distinct client addresses.
func newClientFrom(t *testing.T, base, src string) *apiClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &apiClient{t: t, base: base, http: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}}
}

// fakeClock is the injected clock of the pairing tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// drain empties the codes the room's display showed.
func drain(tp *testPanel) (last string) {
	for {
		select {
		case last = <-tp.codes:
		default:
			return last
		}
	}
}

// An unpaired LAN attacker guessing pairing codes from 16 addresses, as fast
// as the server lets it, for six hours of the injected clock: the escalating
// per-address and global locks hold it to a few dozen guesses (the old
// limiter allowed 5 per 30 s, ~3,600 in six hours). After the attack a
// tablet in the room pairs at once with a code started on the room's own
// panel, and without that within the longest lock (15 min).
func TestPanelPairingBruteForceLocks(t *testing.T) {
	r, _ := startRoom(t)
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	tp := startPanel(t, r, func(o *panel.Options) { o.Now = clock.Now })

	attackers := make([]*apiClient, 16)
	for i := range attackers {
		attackers[i] = newClientFrom(t, tp.remote, fmt.Sprintf("127.0.0.%d", 10+i))
		attackers[i].session()
	}
	var res map[string]any
	guesses, requests, step := 0, 0, 15*time.Second
	start := clock.Now()
	for i := 0; clock.Now().Sub(start) < 6*time.Hour; i++ {
		a := attackers[i%len(attackers)]
		if st := a.do("POST", "/api/pair/request", map[string]any{}, &res); st == 200 {
			requests++
		}
		drain(tp)
		// Up to five guesses a step: stop at the first refusal.
		for range 5 {
			st := a.do("POST", "/api/pair", map[string]any{"code": "000000"}, &res)
			msg, _ := res["error"].(string)
			if st != 403 || !strings.HasPrefix(msg, "wrong code") {
				break
			}
			guesses++
		}
		clock.Advance(step)
	}
	t.Logf("six hours of guessing from %d addresses: %d guesses compared, %d codes shown", len(attackers), guesses, requests)
	if guesses > 60 {
		t.Fatalf("%d guesses compared in six hours; want the locks to hold an attacker to a few dozen", guesses)
	}
	if guesses < pairTriesForTest {
		t.Fatalf("only %d guesses compared: the attack did not run", guesses)
	}

	// Right after the attack pairing is paused for everyone: a genuine
	// tablet's request is refused with a wait …
	tablet := newClientFrom(t, tp.remote, "127.0.0.99")
	tablet.session()
	if st := tablet.do("POST", "/api/pair/request", map[string]any{}, &res); st != 429 || !strings.Contains(res["error"].(string), "Pair a tablet") {
		t.Fatalf("a tablet's request during the lock: %d %v", st, res)
	}
	// … but the room's own panel (admin PIN) shows a code, which lifts the
	// global lock: the tablet pairs at once.
	k := newClient(t, tp.kiosk)
	k.session()
	if st := k.do("POST", "/api/admin/login", map[string]any{"pin": "1234"}, &res); st != 200 {
		t.Fatalf("admin login: %d %v", st, res)
	}
	if st := k.do("POST", "/api/admin/pair", map[string]any{}, &res); st != 200 {
		t.Fatalf("Pair a tablet on the room's panel: %d %v", st, res)
	}
	code := <-tp.codes
	if st := tablet.do("POST", "/api/pair", map[string]any{"code": code, "name": "Genuine"}, &res); st != 200 {
		t.Fatalf("a genuine pair with the room's code after the attack: %d %v", st, res)
	}

	// Without anyone at the room's panel, the locks end by themselves
	// within the longest lock once the attack stops.
	for _, a := range attackers {
		a.do("POST", "/api/pair", map[string]any{"code": "000000"}, &res) // keep the locks on
	}
	clock.Advance(15 * time.Minute)
	tablet2 := newClientFrom(t, tp.remote, "127.0.0.98")
	if id := pair(t, tp, tablet2); id == "" {
		t.Fatal("no panel ID")
	}
}

// pairTriesForTest is the server's wrong codes before a code is void.
const pairTriesForTest = 5

// A code is void after five wrong tries even when they come from five
// addresses, and a tablet that mistypes once still pairs with the code.
func TestPanelPairingCodeVoidAndTypo(t *testing.T) {
	r, _ := startRoom(t)
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	tp := startPanel(t, r, func(o *panel.Options) { o.Now = clock.Now })
	var res map[string]any

	tablet := newClientFrom(t, tp.remote, "127.0.0.2")
	tablet.session()
	tablet.do("POST", "/api/pair/request", map[string]any{}, &res)
	code := <-tp.codes
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if st := tablet.do("POST", "/api/pair", map[string]any{"code": wrong}, &res); st != 403 || !strings.Contains(res["error"].(string), "4 tries left") {
		t.Fatalf("a typo: %d %v", st, res)
	}
	if st := tablet.do("POST", "/api/pair", map[string]any{"code": code}, &res); st != 200 {
		t.Fatalf("the right code after a typo: %d %v", st, res)
	}

	// Five wrong tries from five addresses void the code.
	tablet2 := newClientFrom(t, tp.remote, "127.0.0.3")
	tablet2.session()
	clock.Advance(time.Minute)
	tablet2.do("POST", "/api/pair/request", map[string]any{}, &res)
	code = <-tp.codes
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range pairTriesForTest {
		c := newClientFrom(t, tp.remote, fmt.Sprintf("127.0.1.%d", i+1))
		c.session()
		if st := c.do("POST", "/api/pair", map[string]any{"code": wrong}, &res); st != 403 {
			t.Fatalf("wrong try %d: %d %v", i, st, res)
		}
	}
	if st := tablet2.do("POST", "/api/pair", map[string]any{"code": code}, &res); st == 200 {
		t.Fatal("a void code paired a panel")
	}
	// The code expires after its time too.
	clock.Advance(time.Hour)
	tablet2.do("POST", "/api/pair/request", map[string]any{}, &res)
	code = <-tp.codes
	clock.Advance(2*time.Minute + time.Second)
	if st := tablet2.do("POST", "/api/pair", map[string]any{"code": code}, &res); st != 403 || !strings.Contains(res["error"].(string), "no pairing code is active") {
		t.Fatalf("an expired code: %d %v", st, res)
	}

	// One address's wrong codes lock that address: after the room's panel
	// lifts the global lock, its guesses are refused without being
	// compared, so they cannot use up the room's code.
	clock.Advance(time.Hour)
	attacker := newClientFrom(t, tp.remote, "127.0.0.66")
	attacker.session()
	attacker.do("POST", "/api/pair/request", map[string]any{}, &res)
	code = <-tp.codes
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range pairTriesForTest {
		if st := attacker.do("POST", "/api/pair", map[string]any{"code": wrong}, &res); st != 403 {
			t.Fatalf("wrong try %d: %d %v", i, st, res)
		}
	}
	if st := attacker.do("POST", "/api/pair/request", map[string]any{}, &res); st != 429 {
		t.Fatalf("a new code right after a voided one: %d %v", st, res)
	}
	k := newClient(t, tp.kiosk)
	k.session()
	k.do("POST", "/api/admin/login", map[string]any{"pin": "1234"}, &res)
	if st := k.do("POST", "/api/admin/pair", map[string]any{}, &res); st != 200 {
		t.Fatalf("Pair a tablet on the room's panel: %d %v", st, res)
	}
	code = <-tp.codes
	for range 10 {
		if st := attacker.do("POST", "/api/pair", map[string]any{"code": wrong}, &res); st != 429 || !strings.Contains(res["error"].(string), "from this tablet") {
			t.Fatalf("a locked address's guess: %d %v", st, res)
		}
	}
	tablet3 := newClientFrom(t, tp.remote, "127.0.0.67")
	tablet3.session()
	if st := tablet3.do("POST", "/api/pair", map[string]any{"code": code}, &res); st != 200 {
		t.Fatalf("the room's code while a locked address keeps guessing: %d %v", st, res)
	}
}
