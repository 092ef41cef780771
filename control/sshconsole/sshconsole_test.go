package sshconsole_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/control/sshconsole"
	"github.com/roomd/roomd/internal/jsxapitest"
	"github.com/roomd/roomd/room"
)

// clock is the lockout's clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rig is a room, its console and the SSH server on a loopback port.
type rig struct {
	room    *room.Room
	addr    string
	clock   *clock
	hostKey ssh.PublicKey
	userKey ed25519.PrivateKey
	keyFile string // userKey in OpenSSH's format, for jsxapi
}

const password = "s3cret-room"

func newRig(t *testing.T, edit func(*sshconsole.Options)) *rig {
	t.Helper()
	rg := &rig{room: jsxapitest.StartRoom(t), clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	console, err := serial.NewServer(rg.room, serial.Options{SoftwareVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	host, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	rg.hostKey = host.PublicKey()
	userPub, userPriv, _ := ed25519.GenerateKey(rand.Reader)
	rg.userKey = userPriv
	pub, err := ssh.NewPublicKey(userPub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(userPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	rg.keyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(rg.keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	opts := sshconsole.Options{
		HostKey: host,
		Users:   []sshconsole.User{{Name: "integrator", PasswordHash: hash, Keys: []ssh.PublicKey{pub}}},
		Now:     rg.clock.Now,
	}
	if edit != nil {
		edit(&opts)
	}
	srv, err := sshconsole.New(console, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rg.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancellation")
		}
	})
	return rg
}

func (rg *rig) dial(user string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("tcp", rg.addr, &ssh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: ssh.FixedHostKey(rg.hostKey),
		Timeout:         5 * time.Second,
	})
}

// console opens the console on c and returns its input and output.
func console(t *testing.T, c *ssh.Client) (io.Writer, *bufio.Reader) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	in, _ := sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	return in, bufio.NewReader(out)
}

// expect reads lines (LF, Cisco's dialect) and compares them.
func expect(t *testing.T, r *bufio.Reader, want ...string) {
	t.Helper()
	got := make(chan []string, 1)
	go func() {
		var lines []string
		for range want {
			l, err := r.ReadString('\n')
			if err != nil {
				break
			}
			lines = append(lines, l)
		}
		got <- lines
	}()
	select {
	case lines := <-got:
		w := make([]string, len(want))
		for i, l := range want {
			w[i] = l + "\n"
		}
		if strings.Join(lines, "") != strings.Join(w, "") {
			t.Fatalf("got %q, want %q", lines, w)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q within 5s", want)
	}
}

// TestPasswordAndKeyLogin: a password or the user's key opens the console
// in Cisco's dialect, greeted with a line OK; commands are not in the room.
func TestPasswordAndKeyLogin(t *testing.T) {
	rg := newRig(t, nil)
	signer, err := ssh.NewSignerFromKey(rg.userKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]ssh.AuthMethod{
		"password":             ssh.Password(password),
		"keyboard-interactive": ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return []string{password}, nil }),
		"key":                  ssh.PublicKeys(signer),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := rg.dial("integrator", auth)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			defer c.Close()
			in, out := console(t, c)
			expect(t, out, "*r Login successful", "** end", "OK")
			io.WriteString(in, "xStatus Audio Volume\n")
			expect(t, out, "*s Audio Volume: 50", "** end", "OK")
			// Not in the room: anyone may mute, but an unmute is refused
			// under the default policy.
			io.WriteString(in, "xCommand Audio Microphones Mute\n")
			expect(t, out, "*r MicrophonesMuteResult (status=OK):", "** end", "OK")
			io.WriteString(in, "xCommand Audio Microphones Unmute\n")
			expect(t, out, "*r MicrophonesUnmuteResult (status=Error):",
				`    Reason: "not allowed from this surface: only someone in the room may do this (socket is not)"`,
				"** end", "ERROR: not allowed from this surface: only someone in the room may do this (socket is not)")
		})
	}
}

// TestRefusals: wrong passwords, unknown users and other keys do not log
// in; five wrong passwords lock every login, the right one included, until
// the lock runs out.
func TestRefusals(t *testing.T) {
	rg := newRig(t, nil)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(other)
	if _, err := rg.dial("integrator", ssh.PublicKeys(otherSigner)); err == nil {
		t.Error("a key the user does not have logged in")
	}
	if _, err := rg.dial("nobody", ssh.Password(password)); err == nil {
		t.Error("an unknown user logged in")
	}
	for range 4 {
		if _, err := rg.dial("integrator", ssh.Password("wrong")); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	// With the unknown user's try, that makes 5 in a row: locked.
	if _, err := rg.dial("integrator", ssh.Password(password)); err == nil {
		t.Fatal("the right password logged in while the lock was on")
	}
	rg.clock.Advance(31 * time.Second)
	c, err := rg.dial("integrator", ssh.Password(password))
	if err != nil {
		t.Fatalf("the right password after the lock: %v", err)
	}
	c.Close()
}

// TestOnlyTheConsole: no commands, subsystems or forwarding.
func TestOnlyTheConsole(t *testing.T) {
	rg := newRig(t, nil)
	c, err := rg.dial("integrator", ssh.Password(password))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, run := range []func(*ssh.Session) error{
		func(s *ssh.Session) error { return s.Start("cat /etc/passwd") },
		func(s *ssh.Session) error { return s.RequestSubsystem("sftp") },
	} {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := run(s); err == nil {
			t.Error("a command or subsystem was accepted")
		}
		s.Close()
	}
	if conn, err := c.Dial("tcp", "127.0.0.1:22"); err == nil {
		conn.Close()
		t.Error("port forwarding (direct-tcpip) was accepted")
	}
	if ln, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Error("remote forwarding (tcpip-forward) was accepted")
	}
	// RoomOS's console by name works, as does a second shell afterwards.
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.StdoutPipe()
	if err := s.Start("tsh"); err != nil {
		t.Fatalf("exec tsh: %v", err)
	}
	expect(t, bufio.NewReader(out), "*r Login successful", "** end", "OK")
	s.Close()
}

// TestSlowAndTooMany: a connection that does not log in is closed after the
// handshake timeout; connections over the limit are closed at once.
func TestSlowAndTooMany(t *testing.T) {
	rg := newRig(t, func(o *sshconsole.Options) {
		o.HandshakeTimeout = 300 * time.Millisecond
		o.MaxConnections = 2
	})
	idle := func() net.Conn {
		c, err := net.Dial("tcp", rg.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedWithin := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 256)
		for {
			if _, err := c.Read(buf); err != nil {
				return !errors.Is(err, os.ErrDeadlineExceeded)
			}
		}
	}
	a, b := idle(), idle() // accepted in order, before the third
	if third := idle(); !closedWithin(third, 2*time.Second) {
		t.Error("a third connection over MaxConnections 2 stayed open")
	}
	for _, c := range []net.Conn{a, b} {
		if !closedWithin(c, 3*time.Second) {
			t.Error("an idle connection stayed open past the handshake timeout")
		}
	}
}

// TestJSXAPIOverSSH: Cisco's jsxapi connects as integrators connect to
// RoomOS, jsxapi.connect('ssh://…', {username, password}), and with a key.
func TestJSXAPIOverSSH(t *testing.T) {
	for _, withKey := range []bool{false, true} {
		name := "password"
		if withKey {
			name = "key"
		}
		t.Run(name, func(t *testing.T) {
			rg := newRig(t, nil)
			h, p, _ := net.SplitHostPort(rg.addr)
			login := map[string]any{"host": h, "port": p, "username": "integrator"}
			if withKey {
				login["privateKey"] = rg.keyFile
			} else {
				login["password"] = password
			}
			c := jsxapitest.Start(t)
			c.Value(map[string]any{"op": "connect", "ssh": login})
			jsxapitest.Exercise(t, c, rg.room)
		})
	}
}
