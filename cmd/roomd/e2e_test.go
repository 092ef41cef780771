package main

// End-to-end: the real roomd binary on the simulated board, driven as an
// integrator and systemd would drive it.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/serialport"
	"github.com/roomd/roomd/internal/testtool"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func roomdBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() { // make test-unit: building and running the real daemon is left to make test
		t.Skip("builds and starts the real roomd: -short (make test-unit) leaves it to make test, which CI runs")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "roomd-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "roomd")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// daemonUnderTest is a running roomd with a fake systemd notify socket.
type daemonUnderTest struct {
	cmd    *exec.Cmd
	run    string
	notes  chan string
	log    testtool.LockedBuffer
	debug  string
	exited chan error
}

func (d *daemonUnderTest) logs() string { return d.log.String() }

var debugURL = regexp.MustCompile(`msg="roomd: simulated board endpoint" url=http://(127\.0\.0\.1:\d+)/`)

func startRoomd(t *testing.T, env ...string) *daemonUnderTest {
	t.Helper()
	return startRoomdWith(t, nil, env...)
}

// startRoomdWith starts roomd --sim with extra flags.
func startRoomdWith(t *testing.T, args []string, env ...string) *daemonUnderTest {
	t.Helper()
	dir := t.TempDir()
	return startRoomdAt(t, dir, filepath.Join(dir, "state"), args, env...)
}

// startRoomdAt starts roomd --sim on the state directory state, with its
// runtime directory and notify socket under dir.
func startRoomdAt(t *testing.T, dir, state string, args []string, env ...string) *daemonUnderTest {
	t.Helper()
	return startRoomdBinary(t, roomdBinary(t), dir, state, args, env...)
}

// startRoomdBinary is startRoomdAt with the roomd binary bin.
func startRoomdBinary(t *testing.T, bin, dir, state string, args []string, env ...string) *daemonUnderTest {
	t.Helper()
	d := &daemonUnderTest{run: filepath.Join(dir, "run"), notes: make(chan string, 64), exited: make(chan error, 1)}

	// systemd's side of sd_notify: a unixgram socket.
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(d.notes)
				return
			}
			d.notes <- string(buf[:n])
		}
	}()

	d.cmd = exec.Command(bin, "--sim", "--state-dir", state, "--runtime-dir", d.run,
		"--debug-listen", "127.0.0.1:0", "--panel-listen", "127.0.0.1:0", "--log-format", "text")
	d.cmd.Args = append(d.cmd.Args, args...)
	d.cmd.Env = append(os.Environ(), append([]string{"NOTIFY_SOCKET=" + sock}, env...)...)
	d.cmd.Stderr = &d.log
	d.cmd.Stdout = &d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("roomd log:\n%s", d.logs())
		}
	})
	d.waitNote(t, "READY=1")
	// stderr comes through a pipe and may trail the notify socket.
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil; time.Sleep(5 * time.Millisecond) {
		if m = debugURL.FindStringSubmatch(d.logs()); m == nil && time.Now().After(deadline) {
			t.Fatalf("no debug endpoint in the log:\n%s", d.logs())
		}
	}
	d.debug = "http://" + m[1]
	return d
}

func (d *daemonUnderTest) waitNote(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n, ok := <-d.notes:
			if !ok {
				t.Fatalf("notify socket closed before %q", want)
			}
			if strings.Contains(n, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from roomd on the notify socket", want)
		}
	}
}

// console is the integrator's end of the simulated serial cable.
type console struct {
	t    *testing.T
	line *serialport.Line
	got  chan string
}

func openConsole(t *testing.T, d *daemonUnderTest) *console {
	t.Helper()
	l, err := serialport.Open(hal.SerialDesc{Role: "integrator", Port: filepath.Join(d.run, "sim", "console")})
	if err != nil {
		t.Fatal(err)
	}
	c := &console{t: t, line: l, got: make(chan string, 256)}
	t.Cleanup(func() { l.Close() })
	go func() {
		rd := bufio.NewReader(l)
		for {
			s, err := rd.ReadString('\n')
			if err != nil {
				close(c.got)
				return
			}
			c.got <- strings.TrimRight(s, "\r\n")
		}
	}()
	return c
}

func (c *console) send(s string) {
	c.t.Helper()
	if _, err := c.line.Write([]byte(s + "\r")); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads lines until one matches want, failing after a timeout; it
// returns the lines read.
func (c *console) expect(want string) []string {
	c.t.Helper()
	var seen []string
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-c.got:
			if !ok {
				c.t.Fatalf("console closed waiting for %q; saw %q", want, seen)
			}
			seen = append(seen, l)
			if strings.Contains(l, want) {
				return seen
			}
		case <-timeout:
			c.t.Fatalf("timed out waiting for %q; saw %q", want, seen)
		}
	}
}

func post(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}

func simLEDs(t *testing.T, d *daemonUnderTest) map[string]bool {
	t.Helper()
	resp, err := http.Get(d.debug + "/sim")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		LEDs map[string]bool `json:"leds"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.LEDs
}

func TestConsoleOverPTYAndShutdown(t *testing.T) {
	d := startRoomd(t)
	c := openConsole(t, d)

	// Log in with the built-in sim PIN; the PIN is never echoed.
	c.send("")
	c.expect("PIN:")
	c.send("1234")
	for _, l := range c.expect("OK") {
		if strings.Contains(l, "1234") {
			t.Fatalf("PIN echoed: %q", l)
		}
	}
	c.send("echo off")
	c.expect("OK")
	c.send("xStatus Audio Microphones Mute")
	c.expect("*s Audio Microphones Mute: Off")
	c.expect("OK")

	c.send("xFeedback Register /Status/Audio/Microphones/Mute")
	c.expect("OK")
	if simLEDs(t, d)["mute_led"] {
		t.Fatal("mute LED lit before muting")
	}
	post(t, d.debug+"/sim/button/mute/click")
	c.expect("*s Audio Microphones Mute: On")
	c.expect("** end")
	deadline := time.Now().Add(2 * time.Second)
	for !simLEDs(t, d)["mute_led"] {
		if time.Now().After(deadline) {
			t.Fatal("mute LED did not follow the mute button")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// JSON mode: one object per line.
	c.send("xPreferences OutputMode JSON")
	c.expect(`"Result":"OK"`)
	c.send("xStatus Audio")
	var obj map[string]any
	line := c.expect(`"Status"`)
	if err := json.Unmarshal([]byte(line[len(line)-1]), &obj); err != nil {
		t.Fatalf("JSON mode line is not one object: %v", err)
	}
	if obj["Status"].(map[string]any)["Audio"].(map[string]any)["Microphones"].(map[string]any)["Mute"] != "On" {
		t.Fatalf("JSON status %v", obj)
	}
	c.send("bye")

	// SIGTERM: READY → STOPPING, clean exit well under 2 s.
	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("roomd exited with %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("roomd still running 2 s after SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(start))
	d.waitNote(t, "STOPPING=1")
	if _, err := os.Stat(filepath.Join(d.run, "control.sock")); !os.IsNotExist(err) {
		t.Fatalf("control socket left behind: %v", err)
	}
}

func TestWrongPINLocksTheConsole(t *testing.T) {
	d := startRoomd(t)
	c := openConsole(t, d)
	c.send("")
	c.expect("PIN:")
	for i := 0; i < 5; i++ {
		c.send("0000")
		c.expect("ERROR")
	}
	// Locked: even the right PIN is refused for a while.
	c.send("1234")
	l := c.expect("ERROR")
	if !strings.Contains(strings.ToLower(strings.Join(l, " ")), "lock") {
		t.Fatalf("no lockout reason after 5 wrong PINs: %q", l)
	}
	if strings.Contains(d.logs(), "0000") || strings.Contains(d.logs(), "1234") {
		t.Fatal("a PIN reached the log")
	}
}

func TestWatchdogIsFed(t *testing.T) {
	d := startRoomd(t, "WATCHDOG_USEC=200000")
	d.waitNote(t, "WATCHDOG=1")
	d.waitNote(t, "WATCHDOG=1")
}

func TestHashPIN(t *testing.T) {
	var out, errb strings.Builder
	if rc := run([]string{"hash-pin"}, strings.NewReader("4711\n"), &out, &errb); rc != 0 || !strings.HasPrefix(out.String(), "$2a$") {
		t.Fatalf("rc %d out %q err %q", rc, out.String(), errb.String())
	}
	out.Reset()
	if rc := run([]string{"hash-pin"}, strings.NewReader("47\n"), &out, &errb); rc == 0 {
		t.Fatal("a 2-digit PIN was hashed")
	}
}

func TestBadConfigExitsWithReason(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(p, []byte("[room]\nvolume = 3\n"), 0o644)
	var out, errb strings.Builder
	if rc := run([]string{"--config", p}, nil, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "unknown keys: room.volume") {
		t.Fatalf("rc %d stderr %q", rc, errb.String())
	}
	if rc := run([]string{"check-config", p}, nil, &out, &errb); rc != 1 {
		t.Fatalf("check-config rc %d", rc)
	}
}
