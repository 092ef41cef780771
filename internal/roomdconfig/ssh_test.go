package roomdconfig

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHAndDialect: [ssh] is off by default with its host key under the
// state directory; console.dialect defaults to roomd; bad values are
// refused with what to set.
func TestSSHAndDialect(t *testing.T) {
	c, err := Parse([]byte("state_dir = \"/var/lib/roomd\"\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if c.SSH.Enabled || c.SSH.Listen != "0.0.0.0:2222" || c.HostKeyPath() != filepath.Join("/var/lib/roomd", "ssh_host_ed25519_key") || c.Console.Dialect != "roomd" {
		t.Fatalf("defaults: ssh %+v key %s dialect %q", c.SSH, c.HostKeyPath(), c.Console.Dialect)
	}
	good := `
[console]
dialect = "cisco"
[ssh]
enabled = true
listen = "127.0.0.1:2022"
host_key_file = "/etc/roomd/ssh_host_key"
[[ssh.users]]
name = "integrator"
password_hash = "$2a$10$abcdefghijklmnopqrstuu5jVJ9rDd3rPjXpR2yYVQJ6ZlE8bZrX2"
[[ssh.users]]
name = "crestron"
authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl crestron"]
`
	c, err = Parse([]byte(good), "t")
	if err != nil {
		t.Fatal(err)
	}
	if !c.SSH.Enabled || len(c.SSH.Users) != 2 || c.HostKeyPath() != "/etc/roomd/ssh_host_key" || c.Console.Dialect != "cisco" {
		t.Fatalf("parsed: %+v dialect %q", c.SSH, c.Console.Dialect)
	}
	for _, tc := range []struct{ conf, want string }{
		{"[console]\ndialect = \"zoom\"\n", "console.dialect"},
		{"[ssh]\nlisten = \"2222\"\n", "ssh.listen"},
		{"[[ssh.users]]\nname = \"a\"\n", "could never log in"},
		{"[[ssh.users]]\nname = \"a b\"\npassword_hash = \"$2a$\"\n", "without spaces"},
		{"[[ssh.users]]\nname = \"a\"\npassword_hash = \"secret\"\n", "not a bcrypt hash"},
		{"[[ssh.users]]\nname = \"a\"\nauthorized_keys = [\"ssh-ed25519 nope\"]\n", "not an OpenSSH public key"},
		{"[[ssh.users]]\nname = \"a\"\npassword_hash = \"$2a$\"\n[[ssh.users]]\nname = \"a\"\npassword_hash = \"$2a$\"\n", "listed twice"},
	} {
		if _, err := Parse([]byte(tc.conf), "t"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error about %s", tc.conf, err, tc.want)
		}
	}
}
