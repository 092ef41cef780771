package panel_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// countingRoom counts the room's watches.
type countingRoom struct {
	*room.Room
	watches atomic.Int32
}

func (c *countingRoom) Watch(ctx context.Context) <-chan room.Update {
	c.watches.Add(1)
	return c.Room.Watch(ctx)
}

// Every panel's status comes from one watch of the room through the
// daemon's feedback hub, the REST status too.
func TestPanelsShareOneHub(t *testing.T) {
	r, _ := startRoom(t)
	cr := &countingRoom{Room: r}
	hub := feedback.New(cr, feedback.Options{System: control.System{SoftwareVersion: "1.0.0-test"}})
	tp := startPanel(t, r, func(o *panel.Options) { o.Feedback = hub })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*websocket.Conn
	for range 3 {
		conn, _, err := dialWS(t, ctx, newClient(t, tp.kiosk))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		var m panel.StatusMessage
		readJSONMessage(t, ctx, conn, &m)
		if !m.Initial || m.Status["SystemUnit Software Version"] != "1.0.0-test" {
			t.Fatalf("first status: %+v", m)
		}
		conns = append(conns, conn)
	}
	if err := r.Do(ctx, room.Command{From: room.Source{Kind: room.FromButton}, Do: room.SetVolume{Level: 61}}); err != nil {
		t.Fatal(err)
	}
	for i, conn := range conns {
		var m panel.StatusMessage
		readJSONMessage(t, ctx, conn, &m)
		if m.Initial || m.Status["Audio Volume"] != "61" || len(m.Status) != 1 {
			t.Errorf("panel %d: %+v", i, m)
		}
	}
	var st struct {
		Status map[string]string `json:"status"`
	}
	if code := newClient(t, tp.kiosk).do("GET", "/api/status", nil, &st); code != 200 || st.Status["Audio Volume"] != "61" {
		t.Errorf("GET /api/status: %d %v", code, st.Status["Audio Volume"])
	}
	if n := cr.watches.Load(); n != 1 {
		t.Errorf("the room was watched %d times for three panels, want once", n)
	}
}
