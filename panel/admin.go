package panel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/internal/pinlock"
	"github.com/roomd/roomd/room"
)

// Admin sessions. Wrong PINs lock the settings as the serial console's
// login (package pinlock).
const (
	adminIdle   = 10 * time.Minute
	adminCookie = "roomd_admin"
)

type adminSession struct {
	client  string
	expires time.Time
}

// checkPIN compares pin with the admin PIN under the shared lockout. The
// PIN is never logged.
func (s *Server) checkPIN(pin string, c client) (bool, string) {
	var hash []byte
	if s.opts.AdminPINHash != nil {
		hash = s.opts.AdminPINHash()
	}
	// PIN checks run one at a time so parallel requests cannot outrun the lockout.
	s.authMu.Lock()
	defer s.authMu.Unlock()
	l := &s.adminLock
	if len(hash) == 0 {
		return false, "no admin PIN is set on this unit; set console.admin_pin_hash or panel.admin_pin_hash in roomd's configuration"
	}
	now := s.now()
	if wait := l.Remaining(now); wait > 0 {
		return false, "settings are locked after too many wrong PINs; try again in " + pinlock.HumanDuration(wait)
	}
	if len(pin) <= 64 && bcrypt.CompareHashAndPassword(hash, []byte(pin)) == nil {
		l.Succeed()
		s.log.Info("panel: admin login", "source", c.source().String())
		return true, ""
	}
	fails, d := l.Fail(now)
	if d == 0 {
		s.log.Warn("panel: wrong admin PIN", "source", c.source().String(), "failures", fails)
		return false, "wrong PIN"
	}
	s.log.Warn("panel: wrong admin PIN; settings locked", "source", c.source().String(), "failures", fails, "for", d.String())
	return false, fmt.Sprintf("wrong PIN; settings are locked for %s after %d wrong PINs", pinlock.HumanDuration(d), fails)
}

func hashCookie(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// isAdmin reports whether r carries a live admin session of c, and extends it.
func (s *Server) isAdmin(r *http.Request, c client) bool {
	ck, err := r.Cookie(adminCookie)
	if err != nil {
		return false
	}
	h := hashCookie(ck.Value)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.admins[h]
	if !ok || a.client != c.id() || !now.Before(a.expires) {
		delete(s.admins, h)
		return false
	}
	a.expires = now.Add(adminIdle)
	s.admins[h] = a
	return true
}

// admin wraps a handler that needs the admin PIN.
func (s *Server) admin(h func(http.ResponseWriter, *http.Request, client)) func(http.ResponseWriter, *http.Request, client) {
	return func(w http.ResponseWriter, r *http.Request, c client) {
		if !s.isAdmin(r, c) {
			writeError(w, http.StatusUnauthorized, "enter the admin PIN first")
			return
		}
		h(w, r, c)
	}
}

func (s *Server) serveAdminLogin(w http.ResponseWriter, r *http.Request, c client) {
	var req struct {
		PIN string `json:"pin"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ok, msg := s.checkPIN(req.PIN, c)
	if !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	v := randomToken(32)
	now := s.now()
	s.mu.Lock()
	for k, a := range s.admins { // forget stale sessions
		if !now.Before(a.expires) {
			delete(s.admins, k)
		}
	}
	s.admins[hashCookie(v)] = adminSession{client: c.id(), expires: now.Add(adminIdle)}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: v, Path: "/api/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) serveAdminLogout(w http.ResponseWriter, r *http.Request, c client) {
	if ck, err := r.Cookie(adminCookie); err == nil {
		s.mu.Lock()
		delete(s.admins, hashCookie(ck.Value))
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: "", Path: "/api/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// AdminInfo is what the settings screen shows beyond the status tree.
type AdminInfo struct {
	Network       []NetInterface `json:"network"`
	Panels        []PanelInfo    `json:"panels"`
	Logs          []string       `json:"logs"`
	RemoteEnabled bool           `json:"remoteEnabled"`
	Access        string         `json:"access"`
}

// PanelInfo is a paired panel without its token hash.
type PanelInfo struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Online  bool      `json:"online"`
}

func (s *Server) serveAdminInfo(w http.ResponseWriter, r *http.Request, c client) {
	info := AdminInfo{RemoteEnabled: s.opts.RemoteEnabled, Access: c.access.String(), Logs: []string{}, Panels: []PanelInfo{}}
	if s.opts.Network != nil {
		info.Network = s.opts.Network()
	} else {
		info.Network = localNetwork()
	}
	if s.opts.RecentLogs != nil {
		info.Logs = s.opts.RecentLogs()
	}
	online := map[string]bool{}
	s.mu.Lock()
	for ss := range s.sessions {
		online[ss.client.panel.ID] = true
	}
	s.mu.Unlock()
	for _, p := range s.tokens.list() {
		info.Panels = append(info.Panels, PanelInfo{ID: p.ID, Name: p.Name, Created: p.Created, Online: online[p.ID]})
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) serveEnroll(w http.ResponseWriter, r *http.Request, c client) {
	var req struct {
		Code string `json:"code"`
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res := resultFor("", "ProvisioningEnrollResult", s.do(r.Context(), c, room.Enroll{Code: req.Code}))
	code := http.StatusOK
	if !res.OK {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, res)
}

func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request, c client) {
	var req struct {
		ID string `json:"id"` // a panel's ID, or "all"
	}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	gone, err := s.tokens.revoke(req.ID)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	for _, p := range gone {
		s.log.Info("panel: remote panel revoked", "panel", p.ID, "name", p.Name, "by", c.source().String())
	}
	s.dropRevoked()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "revoked": len(gone)})
}

// serveAdminPair shows a pairing code from the settings screen.
func (s *Server) serveAdminPair(w http.ResponseWriter, r *http.Request, c client) {
	// From the room's own panel this is proof of being in the room: it
	// lifts the lock after an attack's wrong codes.
	m, err := s.startPairing(c.access == Kiosk, pairClientKey(r.RemoteAddr))
	if err != nil {
		pairError(w, err, http.StatusTooManyRequests)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "until": m.Until})
}

// dropRevoked closes the sessions of panels that are no longer paired.
func (s *Server) dropRevoked() {
	s.mu.Lock()
	var remote []*session
	for ss := range s.sessions {
		if ss.client.access == Remote {
			remote = append(remote, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range remote {
		if !s.tokens.valid(ss.client.panel.ID) {
			ss.revoke()
		}
	}
}

// localNetwork lists the unit's interfaces other than loopback.
func localNetwork() []NetInterface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := []NetInterface{}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		ni := NetInterface{Name: i.Name, Up: i.Flags&net.FlagUp != 0 && i.Flags&net.FlagRunning != 0, Addresses: []string{}}
		if addrs, err := i.Addrs(); err == nil {
			for _, a := range addrs {
				ni.Addresses = append(ni.Addresses, a.String())
			}
		}
		out = append(out, ni)
	}
	slices.SortFunc(out, func(a, b NetInterface) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}
