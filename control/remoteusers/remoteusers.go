// Package remoteusers is the accounts of roomd's remote xAPI surfaces: the
// console over SSH (control/sshconsole) and the xAPI WebSocket on the
// panel's remote listener (control/xapiws). Both log in against one
// [Store], so a password works, and a wrong one counts, the same on both.
//
// Users come from the configuration file ([[ssh.users]]) and from the
// fleet's bundle (ssh.users), which may add users or replace one of the
// same name while it is in force. Only bcrypt hashes and public keys are
// held; a password is compared and forgotten, never logged.
//
// Wrong passwords lock every login for 30 s after 5 in a row, doubling up
// to 15 min (internal/pinlock), shared by every connection of every
// surface.
package remoteusers

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/roomd/roomd/internal/pinlock"
)

// User is one account that may log in.
type User struct {
	Name string
	// PasswordHash is a bcrypt hash; nil means no password login.
	PasswordHash []byte
	// Keys may log in over SSH without a password.
	Keys []ssh.PublicKey
}

// Errors a login is refused with.
var (
	ErrWrong  = errors.New("remoteusers: wrong user or password")
	ErrLocked = errors.New("remoteusers: locked after too many wrong passwords; wait and try again")
)

// Options configure a Store.
type Options struct {
	// Logger gets refusals; never a password. Nil discards.
	Logger *slog.Logger
	// Now is the lockout's clock; nil means time.Now.
	Now func() time.Time
}

// Store holds the users and the shared lockout. It is safe for concurrent
// use.
type Store struct {
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex // held while a password is checked, so parallel attempts cannot outrun the lock
	local []User
	fleet []User
	lock  pinlock.Lock
	// dummy is compared against for a user without a password, so a wrong
	// name takes as long as a wrong password.
	dummy []byte
}

// New makes a store holding the configuration file's users; it may be
// empty (nobody logs in until the fleet sends users).
func New(local []User, o Options) (*Store, error) {
	if err := Validate(local); err != nil {
		return nil, err
	}
	s := &Store{log: o.Logger, now: o.Now, local: local}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.setDummy(); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks users: each named once, with a bcrypt hash or a key.
func Validate(users []User) error {
	seen := map[string]bool{}
	for _, u := range users {
		if u.Name == "" || strings.ContainsAny(u.Name, ": \t\r\n") {
			return fmt.Errorf("remoteusers: user name %q: give a name without spaces or colons", u.Name)
		}
		if seen[u.Name] {
			return fmt.Errorf("remoteusers: user %q is listed twice; keep one", u.Name)
		}
		seen[u.Name] = true
		if len(u.PasswordHash) == 0 && len(u.Keys) == 0 {
			return fmt.Errorf("remoteusers: user %q has neither a password hash nor a key, so could never log in", u.Name)
		}
		if len(u.PasswordHash) > 0 {
			if _, err := bcrypt.Cost(u.PasswordHash); err != nil {
				return fmt.Errorf("remoteusers: user %q: the password hash is not a bcrypt hash (%v); hash the password with bcrypt, e.g. htpasswd -nbBC 10 \"\" PASSWORD | tr -d ':'", u.Name, err)
			}
		}
	}
	return nil
}

// ParseAuthorizedKey reads one line of an OpenSSH authorized_keys file
// ("ssh-ed25519 AAAA… comment"); options are refused, as nothing here
// would honour them.
func ParseAuthorizedKey(line string) (ssh.PublicKey, error) {
	key, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("remoteusers: authorized key %.24q…: %w; give one OpenSSH public key line", line, err)
	}
	if len(opts) > 0 || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, fmt.Errorf("remoteusers: authorized key %.24q…: options and several keys on a line are not supported; give one key per entry", line)
	}
	return key, nil
}

// NewUser makes a user from its written form: a bcrypt hash ("" for
// none) and OpenSSH public key lines, as the configuration file and the
// fleet's bundle give them.
func NewUser(name, passwordHash string, authorizedKeys []string) (User, error) {
	u := User{Name: name}
	if passwordHash != "" {
		u.PasswordHash = []byte(passwordHash)
	}
	for _, line := range authorizedKeys {
		k, err := ParseAuthorizedKey(line)
		if err != nil {
			return u, fmt.Errorf("user %q: %w", name, err)
		}
		u.Keys = append(u.Keys, k)
	}
	return u, nil
}

// SetFleet puts the fleet's users in force: they join the configuration
// file's, and one of the same name replaces the file's. Nil returns to the
// file's users alone. Invalid users are refused and the ones in force
// stay.
func (s *Store) SetFleet(users []User) error {
	if err := Validate(users); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fleet = users
	return s.setDummy()
}

// setDummy makes the dummy hash as slow as the slowest user's; s.mu is held
// or s is new.
func (s *Store) setDummy() error {
	cost := bcrypt.MinCost
	for _, u := range s.users() {
		if c, err := bcrypt.Cost(u.PasswordHash); err == nil {
			cost = max(cost, c)
		}
	}
	if s.dummy != nil {
		if c, _ := bcrypt.Cost(s.dummy); c == cost {
			return nil
		}
	}
	d, err := bcrypt.GenerateFromPassword([]byte("roomd-remoteusers-no-such-user"), cost)
	if err != nil {
		return fmt.Errorf("remoteusers: %w", err)
	}
	s.dummy = d
	return nil
}

// users is the users in force, fleet's first; s.mu is held.
func (s *Store) users() []User {
	out := append([]User(nil), s.fleet...)
	for _, u := range s.local {
		if !has(s.fleet, u.Name) {
			out = append(out, u)
		}
	}
	return out
}

func has(users []User, name string) bool {
	for _, u := range users {
		if u.Name == name {
			return true
		}
	}
	return false
}

func (s *Store) user(name string) (User, bool) {
	for _, u := range s.users() {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// Len is the number of users in force.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users())
}

// CheckPassword checks name's password under the shared lockout; remote
// names the client in the log. It returns ErrLocked or ErrWrong when
// refused.
func (s *Store) CheckPassword(name string, pw []byte, remote string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if wait := s.lock.Remaining(now); wait > 0 {
		s.log.Warn("remoteusers: login refused while locked", "user", name, "remote", remote, "wait", wait)
		return ErrLocked
	}
	u, known := s.user(name)
	hash := u.PasswordHash
	if len(hash) == 0 {
		hash = s.dummy
	}
	err := bcrypt.CompareHashAndPassword(hash, pw)
	if err == nil && known && len(u.PasswordHash) > 0 {
		s.lock.Succeed()
		return nil
	}
	fails, locked := s.lock.Fail(now)
	s.log.Warn("remoteusers: wrong user or password", "user", name, "remote", remote, "fails", fails, "locked_for", locked)
	return ErrWrong
}

// CheckKey reports whether key is one of name's.
func (s *Store) CheckKey(name string, key ssh.PublicKey) bool {
	s.mu.Lock()
	u, _ := s.user(name)
	s.mu.Unlock()
	offered := key.Marshal()
	for _, k := range u.Keys {
		if string(k.Marshal()) == string(offered) {
			return true
		}
	}
	return false
}
