package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/internal/testtool"
)

// The daemon enrolls with an activation code typed on its console, takes
// the fleet's configuration, and keeps it while fleetd is down.
func TestDaemonEnrollsWithFleetd(t *testing.T) {
	dir := t.TempDir()
	// The configuration sets no serial PIN: until the fleet sends one,
	// nobody can log in on the serial port.
	f := startTestFleet(t, dir, fmt.Sprintf(`{"room":{"name":"Fjord (fleet)","time_zone":"Europe/Oslo"},"poll_seconds":10,
		"pins":{"serial_hash":%q},"camera":{"privacy_default":true},"media":{"max_width":640,"max_bitrate_kbps":800},
		"display":{"sleep_after_minutes":30,"brightness":40}}`, testtool.PINHash(t, "4711")))
	code, port, keys := f.code, f.port, f.keys

	cfg := filepath.Join(dir, "roomd.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
[board]
profile = "sim"
[provisioning]
server = "https://localhost:%s"
ca_file = %q
start_delay = "10ms"
`, port, filepath.Join(keys, "ca.crt"))), 0o644)
	d := startRoomdWith(t, []string{"--config", cfg})
	c, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status := func(path string) string {
		lines, err := c.Exec(ctx, "xStatus "+path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if v, ok := strings.CutPrefix(l, "*s "+path+": "); ok {
				return strings.Trim(v, `"`)
			}
		}
		return ""
	}
	if got := status("Provisioning State"); got != "Unenrolled" {
		t.Fatalf("before enrolling: %s", got)
	}
	con := openConsole(t, d)
	con.send("")
	con.expect("PIN:")
	con.send("4711")
	con.expect("no PIN is set")
	if _, err := c.Exec(ctx, fmt.Sprintf(`xCommand Provisioning Enroll ActivationCode: "%s"`, code)); err != nil {
		t.Fatal(err)
	}
	for status("Provisioning State") != "Enrolled" || status("SystemUnit Name") != "Fjord (fleet)" {
		if ctx.Err() != nil {
			t.Fatalf("not enrolled: %s (%s), name %q", status("Provisioning State"), status("Provisioning Detail"), status("SystemUnit Name"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(d.logs(), code) {
		t.Fatal("the activation code reached the log")
	}
	// The fleet's settings beyond the room's are live without a restart:
	// camera privacy by default, and the fleet's serial PIN.
	for status("Video Camera Privacy") != "On" {
		if ctx.Err() != nil {
			t.Fatalf("camera privacy default not applied: %s", status("Video Camera Privacy"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The bundle's brightness reaches the simulated display's backlight.
	for simBoard(t, d).Brightness != 40 {
		if ctx.Err() != nil {
			t.Fatalf("display brightness not applied: %d%%", simBoard(t, d).Brightness)
		}
		time.Sleep(100 * time.Millisecond)
	}
	con.send("4711")
	con.expect("Login successful")
	if strings.Contains(d.logs(), "4711") {
		t.Fatal("the fleet's PIN reached the log")
	}
	// The cloud is not in the room's path: fleetd gone, the room keeps its config.
	f.stop()
	time.Sleep(1500 * time.Millisecond)
	if status("SystemUnit Name") != "Fjord (fleet)" || status("Provisioning State") != "Enrolled" {
		t.Fatalf("after fleetd stopped: %s, %s", status("SystemUnit Name"), status("Provisioning State"))
	}
}

func waitHTTPS(t *testing.T, addr string) {
	t.Helper()
	cl := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := cl.Get("https://" + addr + "/"); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleetd did not come up on %s", addr)
		}
	}
}
