package roomdconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSIPDefaults(t *testing.T) {
	c, err := Parse(nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	s := c.SIP
	if s.Enabled() || s.Inbound != "off" || s.Encryption != "required" || s.Keying != "sdes" || s.RTPTimeoutSeconds != 10 || s.User != "room" {
		t.Errorf("defaults %+v: want SIP off, inbound off, encryption required, sdes, 10 s, user room", s)
	}
	c, err = Parse([]byte("[sip]\nlisten_udp = \"0.0.0.0:5060\"\ninbound = \"allow\"\nallow = [\"sip:alice@example.org\"]\n[sip.account]\naor = \"sip:room42@pbx.example.org\"\npassword = \"pw\"\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if !c.SIP.Enabled() || c.SIP.Account.AOR != "sip:room42@pbx.example.org" {
		t.Errorf("parsed %+v", c.SIP)
	}
	if first, last, err := c.SIP.RTPPortRange(); first != 0 || last != 0 || err != nil {
		t.Errorf("no rtp_ports: range %d-%d, %v; want 0-0 (the system chooses)", first, last, err)
	}
	c, err = Parse([]byte("[sip]\nrtp_ports = \"16384-32767\"\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if first, last, err := c.SIP.RTPPortRange(); first != 16384 || last != 32767 || err != nil {
		t.Errorf("rtp_ports 16384-32767: range %d-%d, %v", first, last, err)
	}
}

func TestSIPBadConfigsSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[sip]\nlisten_udp = \"5060\"\n", "sip.listen_udp \"5060\": use host:port"},
		{"[sip]\nlisten_tls = \"0.0.0.0:5061\"\n", "needs tls_cert_file and tls_key_file"},
		{"[sip]\nencryption = \"maybe\"\n", "use required, preferred or off"},
		{"[sip]\nkeying = \"zrtp\"\n", "use sdes or dtls"},
		{"[sip]\ninbound = \"everyone\"\n", "use off, allow or ring"},
		{"[sip]\ninbound = \"allow\"\n", "needs sip.allow"},
		{"[sip]\nallow = [\"alice\"]\n", "use a SIP address"},
		{"[sip]\nuser = \"room@x\"\n", "use the user part alone"},
		{"[sip]\nrtp_timeout_seconds = 1\n", "use 2 to 300"},
		{"[sip]\nrtp_ports = \"16384\"\n", "use first-last"},
		{"[sip]\nrtp_ports = \"16385-32767\"\n", "start at an even port"},
		{"[sip]\nrtp_ports = \"16384-16386\"\n", "at least 4 ports"},
		{"[sip]\nrtp_ports = \"80-1000\"\n", "within 1024-65535"},
		{"[sip]\nrtp_ports = \"60000-70000\"\n", "within 1024-65535"},
		{"[sip.account]\npassword = \"x\"\n", "needs aor"},
		{"[sip.account]\naor = \"sip:r@x\"\n", "needs a listen address"},
		{"[sip]\nlisten_udp = \"127.0.0.1:5060\"\n[sip.account]\naor = \"sip:r@x\"\npassword = \"a\"\npassword_file = \"/p\"\n", "not both"},
		{"[sip]\nlisten = \"127.0.0.1:5060\"\n", "unknown keys: sip.listen"},
	} {
		_, err := Parse([]byte(tc.toml), "t")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tc.toml, err, tc.want)
		}
	}
	// The password never appears in an error.
	_, err := Parse([]byte("[sip.account]\npassword = \"hunter2\"\n"), "t")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v: want an error without the password", err)
	}
}

func TestSIPPasswordFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sip-password")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := SIP{Account: SIPAccount{AOR: "sip:r@x", PasswordFile: path}}
	if _, err := s.AccountPassword(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a 0644 password file: err = %v, want it refused with chmod 600", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	pw, err := s.AccountPassword()
	if err != nil || pw != "s3cret" {
		t.Errorf("AccountPassword = %q, %v; want the file's first line", pw, err)
	}
	if err == nil && strings.Contains(s.Account.PasswordFile, pw) {
		t.Error("test setup: the path holds the password")
	}
}
