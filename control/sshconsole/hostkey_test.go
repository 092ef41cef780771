package sshconsole_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/sshconsole"
)

// TestLoadHostKey: made 0600 on first start, the same key after, and a
// damaged file set aside and replaced rather than fatal.
func TestLoadHostKey(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "ssh", "host_ed25519_key")
	first, err := sshconsole.LoadHostKey(path, now)
	if err != nil || !first.Created {
		t.Fatalf("first start: %+v, %v", first, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key file: %v, %v; want mode 0600", fi, err)
	}
	again, err := sshconsole.LoadHostKey(path, now)
	if err != nil || again.Created || again.Fingerprint() != first.Fingerprint() {
		t.Fatalf("second start: created %v, %s (was %s), %v", again.Created, again.Fingerprint(), first.Fingerprint(), err)
	}
	if !strings.HasPrefix(first.Fingerprint(), "SHA256:") {
		t.Errorf("fingerprint %q", first.Fingerprint())
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, err := sshconsole.LoadHostKey(path, now)
	if err != nil || !fresh.Created || fresh.SetAside == "" || fresh.Fingerprint() == first.Fingerprint() {
		t.Fatalf("damaged key: %+v, %v", fresh, err)
	}
	if b, err := os.ReadFile(fresh.SetAside); err != nil || string(b) != "not a key" {
		t.Errorf("set aside %s: %q, %v", fresh.SetAside, b, err)
	}
}
