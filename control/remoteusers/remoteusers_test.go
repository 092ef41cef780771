package remoteusers_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/roomd/roomd/control/remoteusers"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func hash(t *testing.T, pw string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestLockoutIsShared: five wrong passwords, for any user, lock every
// password login for 30 s; the right one works again after.
func TestLockoutIsShared(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	s, err := remoteusers.New([]remoteusers.User{{Name: "a", PasswordHash: hash(t, "pa")}, {Name: "b", PasswordHash: hash(t, "pb")}}, remoteusers.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		user := []string{"a", "b", "nobody"}[i%3]
		if err := s.CheckPassword(user, []byte("wrong"), "test"); !errors.Is(err, remoteusers.ErrWrong) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if err := s.CheckPassword("a", []byte("pa"), "test"); !errors.Is(err, remoteusers.ErrLocked) {
		t.Fatalf("the right password while locked: %v", err)
	}
	c.add(31 * time.Second)
	if err := s.CheckPassword("b", []byte("pb"), "test"); err != nil {
		t.Fatalf("the right password after the lock: %v", err)
	}
}

// TestUsersAreChecked: users that could never log in, or whose hash is not
// bcrypt, are refused, in the file's and the fleet's lists; a refused
// fleet list leaves the one in force.
func TestUsersAreChecked(t *testing.T) {
	key, err := remoteusers.ParseAuthorizedKey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl crestron")
	if err != nil {
		t.Fatal(err)
	}
	for name, users := range map[string][]remoteusers.User{
		"no secret":  {{Name: "a"}},
		"no name":    {{PasswordHash: hash(t, "x")}},
		"colon name": {{Name: "a:b", Keys: nil, PasswordHash: hash(t, "x")}},
		"twice":      {{Name: "a", PasswordHash: hash(t, "x")}, {Name: "a", PasswordHash: hash(t, "y")}},
		"plain":      {{Name: "a", PasswordHash: []byte("secret")}},
	} {
		if _, err := remoteusers.New(users, remoteusers.Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error repeats the hash field: %v", name, err)
		}
	}
	s, err := remoteusers.New(nil, remoteusers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetFleet([]remoteusers.User{{Name: "crestron", Keys: []ssh.PublicKey{key}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFleet([]remoteusers.User{{Name: "bad"}}); err == nil || s.Len() != 1 || !s.CheckKey("crestron", key) {
		t.Errorf("a refused fleet list: %v; %d users in force", err, s.Len())
	}
	for _, line := range []string{"ssh-ed25519 AAAA", `command="sh" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`} {
		if _, err := remoteusers.ParseAuthorizedKey(line); err == nil {
			t.Errorf("ParseAuthorizedKey(%q) accepted", line)
		}
	}
}
