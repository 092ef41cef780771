package panel

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roomd/roomd/internal/pinlock"
)

// Pairing policy. Wrong codes lock pairing as wrong PINs lock the settings
// (package pinlock: five in a row lock for 30 s, each further one doubles
// the lock up to 15 min), twice over: per client address, so one tablet's
// guesses do not lock out the others, and across every address, so an
// attacker with many addresses gains nothing. Guesses refused by a lock do
// not count and do not use up the code.
const (
	pairCodeDigits = 6
	pairTries      = 5         // wrong codes before a code is void
	pairQuiet      = time.Hour // without a wrong code for this long, the counts start over
	pairClients    = 256       // client addresses whose wrong codes are remembered
)

// errPairLocked marks a pairing refused because of earlier wrong codes.
var errPairLocked = errors.New("panel: pairing locked")

// pairing is the one pairing code that may be active at a time and the
// lockouts after wrong codes. Guarded by Server.mu.
type pairing struct {
	code  string
	until time.Time
	wrong int       // wrong tries at this code
	shown time.Time // when the code was last put on the screen

	global    pinlock.Lock // wrong codes from any address
	lastWrong time.Time
	clients   map[string]*pairClient // by clientKey
}

// pairClient is one client address's wrong codes.
type pairClient struct {
	lock      pinlock.Lock
	lastWrong time.Time
}

// reshowEvery limits how often asking again puts the active code back on
// the room's screen, so nobody can keep a dialog popping up.
const reshowEvery = 10 * time.Second

// PairingMessage tells kiosk panels to show a pairing code, or to hide it
// (Code empty).
type PairingMessage struct {
	Type  string    `json:"type"` // "pairing"
	Code  string    `json:"code"`
	Until time.Time `json:"until,omitzero"`
}

// pairClientKey is who wrong codes are counted against: the client's IP,
// or its /64 for IPv6, where one host usually holds a whole /64.
func pairClientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// forgetQuiet starts the counts over after pairQuiet without a wrong code,
// so a tablet's typo long after an attack is not punished for it; mu held.
func (p *pairing) forgetQuiet(now time.Time) {
	if !p.lastWrong.IsZero() && now.Sub(p.lastWrong) >= pairQuiet && p.global.Remaining(now) == 0 {
		p.global.Succeed()
		p.lastWrong = time.Time{}
	}
	for k, c := range p.clients {
		if now.Sub(c.lastWrong) >= pairQuiet && c.lock.Remaining(now) == 0 {
			delete(p.clients, k)
		}
	}
}

// client returns the record of key, making room for it if needed; mu held.
func (p *pairing) client(key string) *pairClient {
	if c, ok := p.clients[key]; ok {
		return c
	}
	if p.clients == nil {
		p.clients = map[string]*pairClient{}
	}
	if len(p.clients) >= pairClients {
		// Forget the address quiet the longest; the global lock still
		// counts every guess.
		var oldest string
		for k, c := range p.clients {
			if oldest == "" || c.lastWrong.Before(p.clients[oldest].lastWrong) {
				oldest = k
			}
		}
		delete(p.clients, oldest)
	}
	c := &pairClient{}
	p.clients[key] = c
	return c
}

// locked says why key may not pair at now, or "" when it may; mu held.
func (p *pairing) locked(key string, now time.Time) string {
	if c, ok := p.clients[key]; ok {
		if d := c.lock.Remaining(now); d > 0 {
			return "too many wrong codes from this tablet; try again in " + pinlock.HumanDuration(d)
		}
	}
	if d := p.global.Remaining(now); d > 0 {
		return "pairing is paused after too many wrong codes; try again in " + pinlock.HumanDuration(d) +
			", or tap Pair a tablet in the settings on the room's panel"
	}
	return ""
}

// startPairing shows the active code again, or makes a new one. inRoom is
// true when someone at the room's own panel asked (the settings' Pair a
// tablet): that is proof of being in the room, so it lifts the global lock
// and replaces a code that has wrong tries. Anyone else (key is their
// address) may not start a code while wrong codes lock them or everyone.
func (s *Server) startPairing(inRoom bool, key string) (PairingMessage, error) {
	now := s.now()
	s.mu.Lock()
	p := &s.pair
	p.forgetQuiet(now)
	if inRoom {
		p.global.Succeed()
		p.lastWrong = time.Time{}
		if p.wrong > 0 {
			p.code = ""
		}
	} else if why := p.locked(key, now); why != "" {
		s.mu.Unlock()
		return PairingMessage{}, fmt.Errorf("%w: %s", errPairLocked, why)
	}
	if p.code != "" && now.Before(p.until) {
		m := PairingMessage{Type: "pairing", Code: p.code, Until: p.until}
		again := now.Sub(p.shown) >= reshowEvery
		if again {
			p.shown = now
		}
		s.mu.Unlock()
		if again {
			s.announcePairing(m)
		}
		return m, nil
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	p.code, p.until, p.wrong, p.shown = fmt.Sprintf("%0*d", pairCodeDigits, n.Int64()), now.Add(s.opts.PairingTTL), 0, now
	m := PairingMessage{Type: "pairing", Code: p.code, Until: p.until}
	s.mu.Unlock()
	s.log.Info("panel: pairing code shown on the room's panel", "valid_until", m.Until.Format(time.RFC3339), "in_room", inRoom)
	s.announcePairing(m)
	return m, nil
}

// announcePairing shows (or hides) the code on the kiosk panels and the
// room's display.
func (s *Server) announcePairing(m PairingMessage) {
	if f := s.opts.ShowPairingCode; f != nil {
		f(m.Code, m.Until)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		if ss.client.access == Kiosk {
			ss.post(m)
		}
	}
}

// checkPairCode uses up the active code if code matches it; key is the
// client's address (pairClientKey). A client locked by wrong codes gets
// errPairLocked and its guess is not compared.
func (s *Server) checkPairCode(code, key string) error {
	now := s.now()
	s.mu.Lock()
	p := &s.pair
	p.forgetQuiet(now)
	if p.code == "" || !now.Before(p.until) {
		s.mu.Unlock()
		return fmt.Errorf("no pairing code is active; tap Get code and read the code on the room's panel")
	}
	if why := p.locked(key, now); why != "" {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", errPairLocked, why)
	}
	c := p.client(key)
	if len(code) == len(p.code) && subtle.ConstantTimeCompare([]byte(code), []byte(p.code)) == 1 {
		p.code, p.until, p.wrong = "", time.Time{}, 0
		p.global.Succeed()
		p.lastWrong = time.Time{}
		delete(p.clients, key)
		s.mu.Unlock()
		s.announcePairing(PairingMessage{Type: "pairing"})
		return nil
	}
	p.wrong++
	p.lastWrong, c.lastWrong = now, now
	gFails, gLock := p.global.Fail(now)
	cFails, cLock := c.lock.Fail(now)
	void := p.wrong >= pairTries
	if void {
		p.code, p.until, p.wrong = "", time.Time{}, 0
	}
	left := pairTries - p.wrong
	s.mu.Unlock()
	s.log.Warn("panel: wrong pairing code", "client", key, "client_failures", cFails, "failures", gFails, "code_void", void)
	if void {
		s.announcePairing(PairingMessage{Type: "pairing"})
	}
	var msg string
	switch {
	case void:
		msg = "wrong code; the code is void now"
	default:
		msg = fmt.Sprintf("wrong code; %d tries left", left)
	}
	if d := max(gLock, cLock); d > 0 {
		msg += "; pairing is locked for " + pinlock.HumanDuration(d)
	} else if void {
		msg += ", ask for a new one"
	}
	return errors.New(msg)
}

func (s *Server) expirePairing() {
	s.mu.Lock()
	p := &s.pair
	expired := p.code != "" && !s.now().Before(p.until)
	if expired {
		p.code, p.until, p.wrong = "", time.Time{}, 0
	}
	s.mu.Unlock()
	if expired {
		s.announcePairing(PairingMessage{Type: "pairing"})
	}
}

// pairError writes err from startPairing or checkPairCode: 429 while wrong
// codes lock pairing, else code.
func pairError(w http.ResponseWriter, err error, code int) {
	msg := err.Error()
	if errors.Is(err, errPairLocked) {
		code = http.StatusTooManyRequests
		msg = strings.TrimPrefix(msg, errPairLocked.Error()+": ")
	}
	writeError(w, code, msg)
}

// servePairRequest: an unpaired remote panel asks for a code to be shown.
func (s *Server) servePairRequest(w http.ResponseWriter, r *http.Request, a Access) {
	if a != Remote {
		writeError(w, http.StatusBadRequest, "the kiosk panel needs no pairing")
		return
	}
	if !s.checkCSRF(r, "anonymous") {
		writeError(w, http.StatusForbidden, "missing or wrong X-CSRF-Token; reload the panel")
		return
	}
	m, err := s.startPairing(false, pairClientKey(r.RemoteAddr))
	if err != nil {
		pairError(w, err, http.StatusTooManyRequests)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "until": m.Until, "digits": pairCodeDigits})
}

// servePair: a remote panel sends the code and gets its token as a cookie.
func (s *Server) servePair(w http.ResponseWriter, r *http.Request, a Access) {
	if a != Remote {
		writeError(w, http.StatusBadRequest, "the kiosk panel needs no pairing")
		return
	}
	if !s.checkCSRF(r, "anonymous") {
		writeError(w, http.StatusForbidden, "missing or wrong X-CSRF-Token; reload the panel")
		return
	}
	var req struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = "Tablet"
	}
	if len(name) > 40 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		writeError(w, http.StatusBadRequest, "a panel name is at most 40 bytes of text")
		return
	}
	if err := s.checkPairCode(strings.ReplaceAll(strings.TrimSpace(req.Code), " ", ""), pairClientKey(r.RemoteAddr)); err != nil {
		pairError(w, err, http.StatusForbidden)
		return
	}
	p, tok, err := s.tokens.add(name, s.now())
	if err != nil {
		s.log.Error("panel: pairing failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.log.Info("panel: remote panel paired", "panel", p.ID, "name", p.Name)
	http.SetCookie(w, &http.Cookie{
		Name: tokenCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: 400 * 24 * 3600,
	})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "panel": p.ID, "csrf": s.csrfToken("panel:" + p.ID)})
}
