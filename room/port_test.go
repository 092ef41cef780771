package room

import (
	"context"
	"errors"
	"testing"
	"time"
)

// reportingCalls reports through a port: the call engine made before the
// room it is a device of.
type reportingCalls struct{ port *Port }

func (c reportingCalls) Start(_ context.Context, seq uint64, _ Meeting) {
	go c.port.Report(CallReported{Seq: seq, State: InCall})
}
func (c reportingCalls) End(seq uint64) { go c.port.Report(CallReported{Seq: seq, State: Idle}) }

// A part made with the port before the room reaches the room; after the
// room stops, the port says so instead of waiting.
func TestPort(t *testing.T) {
	port := NewPort()
	rm := New(Options{Port: port, Devices: Devices{Calls: reportingCalls{port}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rm.Run(ctx) }()
	<-rm.Ready()
	if err := port.Do(ctx, Command{From: Source{Kind: FromPanel}, Do: Join{Meeting: Meeting{URI: "janus+wss://sfu.example/janus?room=1"}}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); rm.Snapshot().Call != InCall; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the engine's report through the port did not reach the room: %v", rm.Snapshot().Call)
		}
	}
	cancel()
	<-done
	if err := port.Do(context.Background(), Command{Do: Leave{}}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Do after the room stopped: %v, want ErrStopped", err)
	}
	port.Report(CallReported{Seq: 1, State: Idle}) // returns
}
