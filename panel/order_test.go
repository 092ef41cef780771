package panel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// recordingSpeaker is a speaker that keeps every level it was set to, in
// the order the room set them, and takes a little time for each, as an
// amplifier on I2C does.
type recordingSpeaker struct {
	mu  sync.Mutex
	set []int
}

func (s *recordingSpeaker) SetLevel(v int) error {
	time.Sleep(200 * time.Microsecond)
	s.mu.Lock()
	s.set = append(s.set, v)
	s.mu.Unlock()
	return nil
}

func (s *recordingSpeaker) Level() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.set) == 0 {
		return 50, nil
	}
	return s.set[len(s.set)-1], nil
}

func (s *recordingSpeaker) levels() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.set)
}

// Issue 13 item 5: one panel's commands reach the room in the order it sent
// them. 200 alternating volume sets written as fast as the socket takes
// them are applied to the speaker in that order, the room ends at the last
// one, and the results come back in request order with their ids.
func TestPanelWebSocketRequestsInOrder(t *testing.T) {
	spk := &recordingSpeaker{}
	r, _ := startRoomWith(t, room.Devices{Speaker: spk})
	tp := startPanel(t, r, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := dialWS(t, ctx, newClient(t, tp.kiosk))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	syncRoom(t, r)
	startup := len(spk.levels()) // the room sets the speaker when it starts
	const n = 200
	var sent []int
	for i := range n {
		level := 30
		if i%2 == 1 {
			level = 40
		}
		sent = append(sent, level)
		b := fmt.Sprintf(`{"type":"command","id":"%d","command":"Audio Volume Set","args":{"Level":%d}}`, i, level)
		if err := conn.Write(ctx, websocket.MessageText, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}

	var ids []string
	for len(ids) < n {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("after %d results: %v", len(ids), err)
		}
		var res panel.Result
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if res.Type != "result" {
			continue // status
		}
		if !res.OK {
			t.Fatalf("result %s: %+v", res.ID, res)
		}
		ids = append(ids, res.ID)
	}
	for i, id := range ids {
		if id != strconv.Itoa(i) {
			t.Errorf("results came back out of order: result %d has id %s", i, id)
			break
		}
	}
	if got := spk.levels()[startup:]; !slices.Equal(got, sent) {
		for i := range min(len(got), len(sent)) {
			if got[i] != sent[i] {
				t.Fatalf("the speaker was set out of order: set %d was %d, sent %d", i, got[i], sent[i])
			}
		}
		t.Fatalf("the speaker was set %d times, want %d", len(got), len(sent))
	}
	syncRoom(t, r)
	if v := r.Snapshot().Volume; v != sent[n-1] {
		t.Fatalf("room volume %d, want the last one sent, %d", v, sent[n-1])
	}
}

// A panel that hangs up, idle or with requests still queued, stops its
// connection's worker: queued requests are dropped and no goroutine is
// left behind.
func TestPanelWebSocketCloseStopsRequestWorker(t *testing.T) {
	r, _ := startRoomWith(t, room.Devices{Speaker: &recordingSpeaker{}})
	tp := startPanel(t, r, nil)
	c := newClient(t, tp.kiosk)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	syncRoom(t, r)
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()

	idle, _, err := dialWS(t, ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	busy, _, err := dialWS(t, ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		b := fmt.Sprintf(`{"type":"command","id":"%d","command":"Audio Volume Set","args":{"Level":%d}}`, i, 30+i%2*10)
		if err := busy.Write(ctx, websocket.MessageText, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	busy.CloseNow()
	idle.Close(websocket.StatusNormalClosure, "")

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left after the panels hung up (%d before):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
