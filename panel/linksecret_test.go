package panel_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// The panel's join refuses a meeting link with a user name or password,
// from the kiosk and from a paired tablet, with a reason that does not
// repeat it; nothing is joined, and neither status nor the room's and the
// panel's logs carry the secret (issue 12 row 14).
func TestPanelJoinRefusesLinkCredentials(t *testing.T) {
	var logs testtool.LockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	calls := &fakeCalls{}
	r := room.New(room.Options{Devices: room.Devices{Calls: calls}, PollInterval: time.Hour, Logger: logger})
	calls.r = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-r.Ready()
	tp := startPanel(t, r, func(o *panel.Options) { o.Logger = logger })

	kiosk := newClient(t, tp.kiosk)
	kiosk.session()
	tablet := newClient(t, tp.remote)
	pair(t, tp, tablet)
	for _, sc := range []struct {
		name string
		c    *apiClient
	}{{"tablet", tablet}, {"kiosk", kiosk}} {
		name, c := sc.name, sc.c
		for _, uri := range []string{
			"janus+ws://alice:s3cret@host/?room=1",
			"janus+wss://alice:s3cret@host:bad/?room=1&pin=4711",
			"whip+https://alice:s3cret@host/whip?whep=https%3A%2F%2Fhost%2Fwhep",
		} {
			var res map[string]any
			code := c.do("POST", "/api/command", map[string]any{"command": "Call Join", "args": map[string]any{"Uri": uri, "Replace": name == "kiosk"}}, &res)
			b, _ := json.Marshal(res)
			if code != 422 || res["ok"] != false || !strings.Contains(string(b), "user name or password") || strings.Contains(string(b), "s3cret") {
				t.Errorf("%s joining %s: %d %s; want 422 and a reason without the secret", name, uri, code, b)
			}
		}
		var st map[string]any
		if code := c.do("GET", "/api/status", nil, &st); code != 200 {
			t.Fatalf("%s: GET /api/status: %d", name, code)
		}
		if b, _ := json.Marshal(st); strings.Contains(string(b), "s3cret") {
			t.Errorf("%s: status carries the secret: %s", name, b)
		}
	}
	if n := len(calls.meetings()); n != 0 || r.Snapshot().Call != room.Idle {
		t.Errorf("the engine joined %d meetings; call %s", n, r.Snapshot().Call)
	}
	if l := logs.String(); strings.Contains(l, "s3cret") || !strings.Contains(l, "panel:") {
		t.Errorf("log (must be captured and hold no secret):\n%s", l)
	}
}
