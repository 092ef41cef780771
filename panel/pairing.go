package panel

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Pairing policy.
const (
	pairCodeDigits = 6
	pairTries      = 5                // wrong codes before a code is void
	pairCooldown   = 30 * time.Second // after a voided code, before a new one
)

// pairing is the one pairing code that may be active at a time.
type pairing struct {
	code      string
	until     time.Time
	wrong     int
	coolUntil time.Time
	shown     time.Time // when the code was last put on the screen
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

// startPairing shows the active code again, or makes a new one.
func (s *Server) startPairing() (PairingMessage, error) {
	now := s.now()
	s.mu.Lock()
	p := &s.pair
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
	if now.Before(p.coolUntil) {
		wait := p.coolUntil.Sub(now).Round(time.Second)
		s.mu.Unlock()
		return PairingMessage{}, fmt.Errorf("too many wrong codes; ask for a new code in %s", wait)
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	p.code, p.until, p.wrong, p.shown = fmt.Sprintf("%0*d", pairCodeDigits, n.Int64()), now.Add(s.opts.PairingTTL), 0, now
	m := PairingMessage{Type: "pairing", Code: p.code, Until: p.until}
	s.mu.Unlock()
	s.log.Info("panel: pairing code shown on the room's panel", "valid_until", m.Until.Format(time.RFC3339))
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

// checkPairCode uses up the active code if code matches it.
func (s *Server) checkPairCode(code string) error {
	now := s.now()
	s.mu.Lock()
	p := &s.pair
	if p.code == "" || !now.Before(p.until) {
		s.mu.Unlock()
		return fmt.Errorf("no pairing code is active; tap Get code and read the code on the room's panel")
	}
	if len(code) == len(p.code) && subtle.ConstantTimeCompare([]byte(code), []byte(p.code)) == 1 {
		*p = pairing{}
		s.mu.Unlock()
		s.announcePairing(PairingMessage{Type: "pairing"})
		return nil
	}
	p.wrong++
	if p.wrong < pairTries {
		left := pairTries - p.wrong
		s.mu.Unlock()
		s.log.Warn("panel: wrong pairing code", "tries_left", left)
		return fmt.Errorf("wrong code; %d tries left", left)
	}
	*p = pairing{coolUntil: now.Add(pairCooldown)}
	s.mu.Unlock()
	s.log.Warn("panel: pairing code void after too many wrong tries")
	s.announcePairing(PairingMessage{Type: "pairing"})
	return fmt.Errorf("wrong code; the code is void now, ask for a new one in %s", pairCooldown)
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
	m, err := s.startPairing()
	if err != nil {
		writeError(w, http.StatusTooManyRequests, err.Error())
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
	if err := s.checkPairCode(strings.ReplaceAll(strings.TrimSpace(req.Code), " ", "")); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
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
