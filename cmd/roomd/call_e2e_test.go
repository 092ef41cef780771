package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/janustest"
)

// simCallConfig is roomd's configuration for a call on the simulated
// board: the console with its login (admin PIN 1234) and small, slow video.
const simCallConfig = `
[board]
profile = "sim"
[console]
login = true
admin_pin_hash = "$2a$10$e.H6ZnevgOKq/jUIyh16Au3e77hjUReLBX4KY4weY9LsVlShdqa9S"
[media]
width = 320
height = 180
fps = 15
`

// startCallRoomd starts roomd with simCallConfig and the sections in
// extra (TOML), and env in its environment.
func startCallRoomd(t *testing.T, extra string, env ...string) *daemonUnderTest {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "roomd.toml")
	if err := os.WriteFile(cfg, []byte(simCallConfig+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return startRoomdWith(t, []string{"--config", cfg}, env...)
}

// The daemon joins a real Janus room when told on its control socket, and
// reports the call in status.
func TestDaemonJoinsJanus(t *testing.T) {
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	d := startCallRoomd(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, link := joinJanus(ctx, t, d, j, vr)
	status := func(path string) string {
		lines, err := c.Exec(ctx, "xStatus "+path)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "*s "+path+":") {
				return strings.Trim(strings.TrimSpace(strings.TrimPrefix(l, "*s "+path+":")), `"`)
			}
		}
		return ""
	}
	for status("Call State") != "InCall" {
		if ctx.Err() != nil {
			t.Fatalf("never in call: %s (%s)", status("Call State"), status("Call Reason"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for status("Call Encoder") == "" {
		if ctx.Err() != nil {
			t.Fatal("no media figures in status")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("encoder: %s; camera: %s", status("Call Encoder"), status("Call Camera"))
	if uri := status("Call Uri"); strings.Contains(uri, vr.PIN) || uri != link {
		t.Fatalf("Call Uri %q", uri)
	}
	ps, err := j.Participants(vr.ID)
	if err != nil || len(ps) != 1 {
		t.Fatalf("Janus participants %+v (%v)", ps, err)
	}
	resp, err := http.Get(d.debug + "/display.png")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("display snapshot: %v %v", err, resp)
	}
	resp.Body.Close()
	if _, err := c.Exec(ctx, "xCommand Call Leave"); err != nil {
		t.Fatal(err)
	}
	for status("Call State") != "Idle" {
		if ctx.Err() != nil {
			t.Fatal("never left")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(d.logs(), vr.PIN) {
		t.Fatal("the meeting passcode reached the log")
	}
}
