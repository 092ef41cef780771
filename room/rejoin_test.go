package room

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// failingCalls fails every call it is asked to start and remembers the
// meetings.
type failingCalls struct {
	port *Port
	mu   sync.Mutex
	got  []Meeting
}

func (c *failingCalls) Start(_ context.Context, seq uint64, m Meeting) {
	c.mu.Lock()
	c.got = append(c.got, m)
	c.mu.Unlock()
	go c.port.Report(CallReported{Seq: seq, State: Failed, Reason: "the meeting server did not answer"})
}
func (c *failingCalls) End(uint64) {}

func (c *failingCalls) meetings() []Meeting {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Meeting(nil), c.got...)
}

// Rejoin joins the last meeting joined again, passcode included, though
// neither the state nor the log holds the passcode; with nothing joined
// since start it is refused.
func TestRejoin(t *testing.T) {
	var logs testtool.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	port := NewPort()
	calls := &failingCalls{port: port}
	rm := New(Options{Port: port, Devices: Devices{Calls: calls}, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rm.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-rm.Ready()
	panel := Source{Kind: FromPanel}
	waitFailed := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); rm.Snapshot().Call != Failed; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("call %v, want Failed", rm.Snapshot().Call)
			}
		}
	}

	err := rm.Do(ctx, Command{From: panel, Do: Rejoin{}})
	if !errors.Is(err, ErrNoEarlierJoin) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Rejoin before any join: %v, want ErrNoEarlierJoin (ErrInvalid)", err)
	}
	m := Meeting{ID: "m1", URI: "janus+wss://sfu.example/janus?room=5", Passcode: "secret-4711"}
	if err := rm.Do(ctx, Command{From: panel, Do: Join{Meeting: m}}); err != nil {
		t.Fatal(err)
	}
	waitFailed()
	// Clearing the failure does not forget the meeting.
	if err := rm.Do(ctx, Command{From: panel, Do: Leave{}}); err != nil {
		t.Fatal(err)
	}
	if err := rm.Do(ctx, Command{From: panel, Do: Rejoin{}}); err != nil {
		t.Fatal(err)
	}
	waitFailed()
	got := calls.meetings()
	if len(got) != 2 || got[1] != m {
		t.Fatalf("the engine was asked for %+v; want %+v twice", got, m)
	}
	raw, err := json.Marshal(rm.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"snapshot": string(raw), "log": logs.String()} {
		if strings.Contains(s, "secret-4711") {
			t.Errorf("the %s holds the passcode:\n%s", what, s)
		}
	}
}
