package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/roomd/roomd/internal/jsxapitest"
	"github.com/roomd/roomd/internal/testtool"
)

var (
	sshConsoleLog  = regexp.MustCompile(`msg="roomd: SSH console" addr=(127\.0\.0\.1:\d+) host_key=(SHA256:\S+)`)
	remotePanelLog = regexp.MustCompile(`msg="roomd: touch panel" access=remote url=https://(127\.0\.0\.1:\d+)/`)
)

// logged waits for re in the daemon's log and returns its groups.
func logged(t *testing.T, d *daemonUnderTest, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(d.logs()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the log:\n%s", re, d.logs())
		}
	}
}

// remoteCert writes a certificate for 127.0.0.1 and its key (httptest's)
// for panel.remote_cert_file and remote_key_file.
func remoteCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	ts.Close()
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "panel.crt"), filepath.Join(dir, "panel.key")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600))
	return certFile, keyFile
}

// exercise is an integrator's jsxapi script against the running daemon:
// gets, commands with and without parameters reported as success,
// configuration, an unknown command refused with roomd's reason, an unmute
// (carried out in the room, refused elsewhere), and feedback on a press of
// the simulated board's mute button.
func exercise(t *testing.T, c *jsxapitest.Client, d *daemonUnderTest, inRoom bool) {
	t.Helper()
	eq := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	eq("command Audio Volume Set", c.Value(map[string]any{"op": "command", "path": "Audio Volume Set", "params": map[string]any{"Level": 30}}), `{"status":"OK"}`)
	eq("status.get Audio Volume", c.Value(map[string]any{"op": "status.get", "path": "Audio Volume"}), `"30"`)
	eq("command Audio Microphones Mute", c.Value(map[string]any{"op": "command", "path": "Audio Microphones Mute"}), `{"status":"OK"}`)
	eq("config.set Audio DefaultVolume", c.Value(map[string]any{"op": "config.set", "path": "Audio DefaultVolume", "value": 60}), `null`)
	eq("config.get Audio DefaultVolume", c.Value(map[string]any{"op": "config.get", "path": "Audio DefaultVolume"}), `"60"`)
	if code, msg, data := c.Refused(map[string]any{"op": "command", "path": "Audio Volume Turn"}); code != 3 || msg != `unknown path: no command "Audio Volume Turn"` || data != `{"xpath":"/Audio/Volume/Turn"}` {
		t.Errorf("unknown command: jsxapi raised code %d %q %s", code, msg, data)
	}
	unmute := map[string]any{"op": "command", "path": "Audio Microphones Unmute"}
	muted, pressed := `"On"`, `"Off"`
	if inRoom {
		eq("command Audio Microphones Unmute in the room", c.Value(unmute), `{"status":"OK"}`)
		muted, pressed = `"Off"`, `"On"`
	} else if _, msg, _ := c.Refused(unmute); !strings.Contains(msg, "in the room") {
		t.Errorf("a remote unmute: jsxapi raised %q, want refused as not in the room", msg)
	}
	eq("status.get Audio Microphones Mute after the unmute", c.Value(map[string]any{"op": "status.get", "path": "Audio Microphones Mute"}), muted)
	c.Value(map[string]any{"op": "status.on", "path": "Audio Microphones Mute", "id": "mute"})
	post(t, d.debug+"/sim/button/mute/click")
	eq("status.on Audio Microphones Mute after the button", c.NextFeedback("mute"), pressed)
	c.Value(map[string]any{"op": "close"})
}

// TestDaemonConsoleDialectCisco: with console.dialect = "cisco", jsxapi
// on the simulated board's serial console writes the PIN and nothing else
// of its own, as an unchanged Cisco driver would, and runs the script.
func TestDaemonConsoleDialectCisco(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "roomd.toml")
	must(t, os.WriteFile(cfg, []byte(strings.Replace(simCallConfig, "[console]\n", "[console]\ndialect = \"cisco\"\n", 1)), 0o644))
	d := startRoomdWith(t, []string{"--config", cfg})
	c := jsxapitest.Start(t)
	c.Value(map[string]any{"op": "connect", "tty": filepath.Join(d.run, "sim", "console"), "pin": "1234", "greeted": true})
	exercise(t, c, d, true)
}

// TestDaemonServesXAPIOverSSHAndWebSocket: roomd with [ssh] on and
// panel.xapi_websocket runs Cisco's jsxapi over SSH (the server inside
// roomd, a password) and over /ws on the HTTPS remote panel, and
// OpenSSH's own client reaches the console with a key, checking the host
// key that roomd made and logged.
func TestDaemonServesXAPIOverSSHAndWebSocket(t *testing.T) {
	dir := t.TempDir()
	const password = "integrator-pw"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	must(t, err)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	sshPub, err := ssh.NewPublicKey(pub)
	must(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	must(t, err)
	keyFile := filepath.Join(dir, "id_ed25519")
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600))
	certFile, certKey := remoteCert(t, dir)

	d := startCallRoomd(t, fmt.Sprintf(`
[panel]
listen = "127.0.0.1:0"
remote_listen = "127.0.0.1:0"
remote_cert_file = %q
remote_key_file = %q
xapi_websocket = true
[ssh]
enabled = true
listen = "127.0.0.1:0"
[[ssh.users]]
name = "integrator"
password_hash = %q
authorized_keys = [%q]
`, certFile, certKey, hash, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))))
	m := logged(t, d, sshConsoleLog)
	sshAddr, fingerprint := m[1], m[2]
	wsAddr := logged(t, d, remotePanelLog)[1]

	// The host key: made 0600 under the state directory, its fingerprint
	// the one logged.
	hostKeyFile := filepath.Join(filepath.Dir(d.run), "state", "ssh_host_ed25519_key")
	fi, err := os.Stat(hostKeyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key %s: %v, %v; want mode 0600", hostKeyFile, fi, err)
	}
	raw, err := os.ReadFile(hostKeyFile)
	must(t, err)
	hostKey, err := ssh.ParsePrivateKey(raw)
	must(t, err)
	if got := ssh.FingerprintSHA256(hostKey.PublicKey()); got != fingerprint {
		t.Fatalf("logged fingerprint %s, the key's is %s", fingerprint, got)
	}

	t.Run("jsxapi over SSH", func(t *testing.T) {
		c := jsxapitest.Start(t)
		host, port := splitAddr(t, sshAddr)
		c.Value(map[string]any{"op": "connect", "ssh": map[string]any{"host": host, "port": port, "username": "integrator", "password": password}})
		exercise(t, c, d, false)
	})
	t.Run("jsxapi over /ws", func(t *testing.T) {
		c := jsxapitest.Start(t)
		c.Value(map[string]any{"op": "connect", "ws": map[string]any{"url": "wss://" + wsAddr, "username": "integrator", "password": password}})
		exercise(t, c, d, false)
	})
	t.Run("OpenSSH client", func(t *testing.T) {
		bin, err := exec.LookPath("ssh")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("ssh not found (%v); %s", err, testtool.InstallHint("openssh-client", "reaches roomd's SSH console as a person would"))
			}
			t.Skipf("ssh not found; %s", testtool.InstallHint("openssh-client", "reaches roomd's SSH console as a person would"))
		}
		known := filepath.Join(dir, "known_hosts")
		must(t, os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(sshAddr)}, hostKey.PublicKey())+"\n"), 0o600))
		host, port := splitAddr(t, sshAddr)
		cmd := exec.Command(bin, "-T", "-F", "/dev/null", "-i", keyFile, "-p", port,
			"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+known,
			"-o", "ConnectTimeout=5", "integrator@"+host)
		cmd.Stdin = strings.NewReader("xStatus Audio Volume\nbye\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ssh -T: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "*s Audio Volume: 30\n** end\nOK\n") {
			t.Fatalf("ssh -T printed %q", out)
		}
	})
	if strings.Contains(d.logs(), password) || strings.Contains(d.logs(), string(hash)) {
		t.Error("the password or its hash is in roomd's log")
	}
}

func splitAddr(t *testing.T, addr string) (host, port string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[:i], addr[i+1:]
}
