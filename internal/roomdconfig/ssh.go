package roomdconfig

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSH is the [ssh] table: the control console over SSH (a server inside
// roomd, control/sshconsole) and the users of the remote xAPI surfaces
// (SSH and the panel's /ws).
type SSH struct {
	Enabled bool   `toml:"enabled"`
	Listen  string `toml:"listen"`
	// HostKeyFile is the server's private key, made (0600) on first start
	// when missing; relative to state_dir.
	HostKeyFile string    `toml:"host_key_file"`
	Users       []SSHUser `toml:"users"`
}

// SSHUser is one [[ssh.users]] entry: a bcrypt password hash, OpenSSH
// public keys, or both.
type SSHUser struct {
	Name           string   `toml:"name"`
	PasswordHash   string   `toml:"password_hash"`
	AuthorizedKeys []string `toml:"authorized_keys"`
}

func (s *SSH) defaults() {
	if s.Listen == "" {
		s.Listen = "0.0.0.0:2222"
	}
	if s.HostKeyFile == "" {
		s.HostKeyFile = "ssh_host_ed25519_key"
	}
}

// HostKeyPath resolves host_key_file against the state directory.
func (c *Config) HostKeyPath() string {
	if filepath.IsAbs(c.SSH.HostKeyFile) {
		return c.SSH.HostKeyFile
	}
	return filepath.Join(c.StateDir, c.SSH.HostKeyFile)
}

func (s *SSH) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		errs = append(errs, fmt.Errorf("ssh.listen %q: use host:port, such as 0.0.0.0:2222", s.Listen))
	}
	seen := map[string]bool{}
	for i, u := range s.Users {
		at := fmt.Sprintf("ssh.users[%d]", i)
		switch {
		case u.Name == "" || strings.ContainsAny(u.Name, ": \t\r\n"):
			errs = append(errs, fmt.Errorf("%s: give a name without spaces or colons", at))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("%s: user %q is listed twice; keep one", at, u.Name))
		}
		seen[u.Name] = true
		if u.PasswordHash == "" && len(u.AuthorizedKeys) == 0 {
			errs = append(errs, fmt.Errorf("%s (%s): set password_hash or authorized_keys, or the user could never log in", at, u.Name))
		}
		if h := u.PasswordHash; h != "" && !strings.HasPrefix(h, "$2") {
			errs = append(errs, fmt.Errorf("%s (%s): password_hash is not a bcrypt hash; hash the password with bcrypt (htpasswd -nbBC 10 \"\" PASSWORD | tr -d ':')", at, u.Name))
		}
		for j, k := range u.AuthorizedKeys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): authorized_keys[%d] is not an OpenSSH public key line (%v)", at, u.Name, j, err))
			}
		}
	}
	return errors.Join(errs...)
}
