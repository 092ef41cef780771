package panel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// kioskAttempts tries, as a local program without the kiosk's user, every
// way to act as someone in the room through the kiosk listener at base:
// the session (for its CSRF token), an unmute, the WebSocket. It returns
// the status codes.
func kioskAttempts(base string) (session, unmute, ws int, err error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/api/session")
	if err != nil {
		return 0, 0, 0, err
	}
	var info struct{ CSRF string }
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	session = resp.StatusCode
	req, _ := http.NewRequest("POST", base+"/api/command", strings.NewReader(`{"command":"Audio Microphones Unmute"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	req.Header.Set("X-CSRF-Token", info.CSRF)
	if resp, err = c.Do(req); err != nil {
		return session, 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	unmute = resp.StatusCode
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, wresp, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/api/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
	if conn != nil {
		conn.CloseNow()
		return session, unmute, 101, nil
	}
	if wresp == nil {
		return session, unmute, 0, err
	}
	return session, unmute, wresp.StatusCode, nil
}

// The kiosk helper process: run by TestPanelKioskRefusesOtherUsers as
// another user.
func TestKioskHelperProcess(t *testing.T) {
	base := os.Getenv("ROOMD_KIOSK_HELPER_URL")
	if base == "" {
		return // not the helper
	}
	s, u, w, err := kioskAttempts(base)
	fmt.Printf("codes %d %d %d %v\n", s, u, w, err)
}

func mutedRoom(t *testing.T) *room.Room {
	t.Helper()
	r, _ := startRoom(t)
	if err := r.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.SetMicMute{Mute: true}}); err != nil {
		t.Fatal(err)
	}
	return r
}

// Issue 12 row 8: a local program of another user than the kiosk browser's
// cannot unmute (or do anything) through the loopback kiosk listener; the
// kiosk's user can.
func TestPanelKioskRefusesOtherUsers(t *testing.T) {
	r := mutedRoom(t)
	// The kiosk's user is someone else: this test's requests come from
	// another user, on the panel's own listener and on a handler served by
	// another http.Server.
	other := func(o *panel.Options) { o.KioskUIDs = []int{os.Getuid() + 4242} }
	tp := startPanel(t, r, other)
	srv, err := panel.New(r, panel.Options{KioskUIDs: []int{os.Getuid() + 4242}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler(panel.Kiosk))
	defer hs.Close()
	for _, base := range []string{tp.kiosk, hs.URL} {
		s, u, w, err := kioskAttempts(base)
		if err != nil || s != 403 || u != 403 || w != 403 {
			t.Errorf("%s as another user: session %d, unmute %d, WebSocket %d (%v); want 403 each", base, s, u, w, err)
		}
		if !r.Snapshot().MicMute {
			t.Fatal("another user unmuted the room through the kiosk panel")
		}
	}

	// The kiosk's own user (this process's by default) is served.
	tp = startPanel(t, r, nil)
	k := newClient(t, tp.kiosk)
	k.session()
	var res panel.Result
	if code := k.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Unmute"}, &res); code != 200 || r.Snapshot().MicMute {
		t.Fatalf("the kiosk's user: unmute %d %+v", code, res)
	}
	k.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Mute"}, &res)

	// As root, a real second user: the helper runs as nobody against the
	// default server, which serves root (this process) only.
	if os.Getuid() != 0 {
		t.Log("not root: no second user to run the helper as; the test above covers the check")
		return
	}
	dir, err := os.MkdirTemp("", "roomd-kiosk-helper-") // t.TempDir's parent is 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	exe := filepath.Join(dir, "panel.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestKioskHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ROOMD_KIOSK_HELPER_URL="+tp.kiosk)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "codes 403 403 403 <nil>") {
		t.Fatalf("nobody through the kiosk listener:\n%s", out)
	}
	if !r.Snapshot().MicMute {
		t.Fatal("nobody unmuted the room through the kiosk panel")
	}
}
