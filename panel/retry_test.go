package panel_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// Retry joins the room's last meeting, kept by the room: a panel started
// after the failed join (roomd's panel restarted, or a second panel) can
// retry it, passcode included, and a room that has joined nothing answers
// Invalid. Neither status nor the panel's log carries the passcode (the
// room's log: room.TestRejoin).
func TestPanelRetryUsesTheRoomsLastJoin(t *testing.T) {
	var logs testtool.LockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, calls := startRoomWith(t, room.Devices{})
	ctx := t.Context()
	first := startPanel(t, r, func(o *panel.Options) { o.Logger = logger })
	kiosk := newClient(t, first.kiosk)
	kiosk.session()
	var res map[string]any
	if code := kiosk.do("POST", "/api/command", map[string]any{"type": "retry", "id": "1"}, &res); code != 422 || res["reason"] != "Invalid" || res["result"] != nil && res["result"] != "" {
		t.Fatalf("retry with nothing joined: %d %v; want 422 Invalid", code, res)
	}

	// The calendar joins a meeting with a passcode; it fails. The panel
	// that retries it starts only afterwards.
	m := room.Meeting{ID: "standup", Title: "Stand-up", URI: "janus+ws://127.0.0.1:1/?room=5", Passcode: "p4ss-7788"}
	calls.failNext("the meeting server did not answer")
	if err := r.Do(ctx, room.Command{From: room.Source{Kind: room.FromSchedule}, Do: room.Join{Meeting: m}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); r.Snapshot().Call != room.Failed; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("call %v, want Failed", r.Snapshot().Call)
		}
	}
	later := startPanel(t, r, func(o *panel.Options) { o.Logger = logger })
	c := newClient(t, later.kiosk)
	c.session()
	res = nil
	if code := c.do("POST", "/api/command", map[string]any{"type": "retry", "id": "2"}, &res); code != 200 || res["ok"] != true || res["result"] != "CallJoinResult" {
		t.Fatalf("retry: %d %v", code, res)
	}
	for deadline := time.Now().Add(10 * time.Second); r.Snapshot().Call != room.InCall; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("call %v after retry, want InCall", r.Snapshot().Call)
		}
	}
	j := calls.meetings()
	if len(j) != 2 || j[1].URI != m.URI || j[1].Passcode != m.Passcode {
		t.Fatalf("retry joined %+v; want %s with its passcode", j, m.URI)
	}
	var st map[string]any
	if code := c.do("GET", "/api/status", nil, &st); code != 200 {
		t.Fatalf("GET /api/status: %d", code)
	}
	b, _ := json.Marshal(st)
	if strings.Contains(string(b), m.Passcode) {
		t.Errorf("status carries the passcode: %s", b)
	}
	if l := logs.String(); strings.Contains(l, m.Passcode) {
		t.Errorf("the log carries the passcode:\n%s", l)
	}
}
