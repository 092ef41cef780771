package panel_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/roomstate"
	"github.com/roomd/roomd/room"
)

// A room whose saved state was unreadable tells the panel so: it started
// muted and private, and the status says why (issue 12 row 3).
func TestPanelShowsDamagedSavedState(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "room.json"), []byte(`{"Settings":{"Name":"Fj`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := room.New(room.Options{Store: roomstate.Store{Path: filepath.Join(dir, "room.json")}, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-r.Ready()

	tp := startPanel(t, r, nil)
	c := newClient(t, tp.kiosk)
	c.session()
	var res struct{ Status map[string]string }
	if code := c.do("GET", "/api/status", nil, &res); code != 200 {
		t.Fatalf("GET /api/status: %d", code)
	}
	s := res.Status
	if s["SystemUnit SavedState Restored"] != "Damaged" || !strings.Contains(s["SystemUnit SavedState Detail"], "room.json.corrupt-") ||
		s["Audio Microphones Mute"] != "On" || s["Video Camera Privacy"] != "On" {
		t.Fatalf("status: restored %q detail %q mute %q privacy %q", s["SystemUnit SavedState Restored"], s["SystemUnit SavedState Detail"],
			s["Audio Microphones Mute"], s["Video Camera Privacy"])
	}
}
