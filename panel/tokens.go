package panel

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/roomd/roomd/internal/statefile"
)

// TokensFile is the name of the paired panels' file in the state directory.
const TokensFile = "panel-tokens.json"

// maxPanels bounds how many remote panels may be paired at once.
const maxPanels = 32

// ErrNoToken is returned when a token ID names no paired panel.
var ErrNoToken = errors.New("panel: no paired panel has that ID; list them with `roomd panel-tokens list`")

// PairedPanel is one paired remote panel as stored: never the token itself.
type PairedPanel struct {
	ID      string    `json:"id"`   // short, shown in the settings and by roomd panel-tokens
	Name    string    `json:"name"` // what the tablet called itself
	Hash    string    `json:"hash"` // hex SHA-256 of the token
	Created time.Time `json:"created"`
}

type tokenFile struct {
	Panels []PairedPanel `json:"panels"`
}

// tokenStore keeps the paired panels in a file, reloading it when another
// process (roomd panel-tokens) changed it.
type tokenStore struct {
	path string

	mu     sync.Mutex
	panels []PairedPanel
	mod    time.Time
	size   int64
	loaded bool
}

func newTokenStore(stateDir string) *tokenStore {
	if stateDir == "" {
		return &tokenStore{loaded: true} // kept in memory only
	}
	return &tokenStore{path: filepath.Join(stateDir, TokensFile)}
}

// refresh rereads the file if it changed since the last read; mu held.
func (s *tokenStore) refresh() error {
	if s.path == "" {
		return nil
	}
	fi, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		s.panels, s.loaded, s.mod, s.size = nil, true, time.Time{}, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("panel: %w", err)
	}
	if s.loaded && fi.ModTime().Equal(s.mod) && fi.Size() == s.size {
		return nil
	}
	var f tokenFile
	if _, err := statefile.LoadJSON(s.path, &f); err != nil {
		// Refuse every token rather than trust a damaged file.
		s.panels, s.loaded = nil, true
		return err
	}
	s.panels, s.mod, s.size, s.loaded = f.Panels, fi.ModTime(), fi.Size(), true
	return nil
}

// load reads the file now, so a damaged one is reported at start.
func (s *tokenStore) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh()
}

// repair is the daemon's load: a file it cannot use (empty, truncated, not
// JSON, the wrong shape, not a regular file, unreadable) is set aside as
// panel-tokens.json.corrupt-<time> for a person to look at, and roomd goes
// on with no paired panel, so tablets can pair again. A file others may
// read is made 0600. It returns where the file went, whether every token
// is still refused (the file is damaged and could not be set aside), and
// what it found, nil when nothing.
func (s *tokenStore) repair(now time.Time) (aside string, refused bool, found error) {
	if s.path == "" {
		return "", false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	damage := s.refresh()
	if damage == nil {
		if fi, err := os.Lstat(s.path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(s.path, 0o600); err != nil {
				return "", false, fmt.Errorf("panel: %s is mode %v and cannot be made 0600: %w", s.path, fi.Mode().Perm(), err)
			}
			return "", false, fmt.Errorf("panel: %s was mode %v; made 0600", s.path, fi.Mode().Perm())
		}
		return "", false, nil
	}
	to, err := statefile.SetAside(s.path, now)
	if err != nil {
		return "", true, errors.Join(damage, err)
	}
	s.panels, s.loaded, s.mod, s.size = nil, true, time.Time{}, 0
	return to, false, damage
}

// save writes the panels atomically with mode 0600; mu held.
func (s *tokenStore) save(panels []PairedPanel) error {
	if s.path != "" {
		if err := statefile.SaveJSON(s.path, tokenFile{Panels: panels}, 0o600); err != nil {
			return err
		}
		if fi, err := os.Stat(s.path); err == nil {
			s.mod, s.size = fi.ModTime(), fi.Size()
		}
	}
	s.panels = panels
	return nil
}

// lookup returns the paired panel whose token is tok.
func (s *tokenStore) lookup(tok string) (PairedPanel, bool) {
	if tok == "" {
		return PairedPanel{}, false
	}
	sum := sha256.Sum256([]byte(tok))
	h := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	for _, p := range s.panels {
		if subtle.ConstantTimeCompare([]byte(p.Hash), []byte(h)) == 1 {
			return p, true
		}
	}
	return PairedPanel{}, false
}

// valid reports whether the panel with id is still paired.
func (s *tokenStore) valid(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	return slices.ContainsFunc(s.panels, func(p PairedPanel) bool { return p.ID == id })
}

// add pairs a new panel and returns its token.
func (s *tokenStore) add(name string, now time.Time) (PairedPanel, string, error) {
	tok := randomToken(32)
	sum := sha256.Sum256([]byte(tok))
	p := PairedPanel{ID: randomHex(4), Name: name, Hash: hex.EncodeToString(sum[:]), Created: now.UTC().Truncate(time.Second)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return p, "", err
	}
	if len(s.panels) >= maxPanels {
		return p, "", fmt.Errorf("panel: %d panels are paired already; revoke one in the settings first", maxPanels)
	}
	if err := s.save(append(slices.Clone(s.panels), p)); err != nil {
		return p, "", err
	}
	return p, tok, nil
}

// revoke removes the panel with id, or every panel when id is "all".
func (s *tokenStore) revoke(id string) ([]PairedPanel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil && id != "all" {
		return nil, err
	}
	var keep, gone []PairedPanel
	for _, p := range s.panels {
		if id == "all" || p.ID == id {
			gone = append(gone, p)
		} else {
			keep = append(keep, p)
		}
	}
	if len(gone) == 0 && id != "all" {
		return nil, ErrNoToken
	}
	return gone, s.save(keep)
}

// list returns the paired panels.
func (s *tokenStore) list() []PairedPanel {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	return slices.Clone(s.panels)
}

// ListPaired returns the panels paired on the unit whose state directory is
// stateDir, for roomd panel-tokens list.
func ListPaired(stateDir string) ([]PairedPanel, error) {
	s := newTokenStore(stateDir)
	if err := s.load(); err != nil {
		return nil, err
	}
	return s.list(), nil
}

// Revoke unpairs the panel with id ("all" for every one) on the unit whose
// state directory is stateDir. A running roomd closes its connections
// within a second.
func Revoke(stateDir, id string) ([]PairedPanel, error) {
	if stateDir == "" {
		return nil, errors.New("panel: no state directory")
	}
	return newTokenStore(stateDir).revoke(id)
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
