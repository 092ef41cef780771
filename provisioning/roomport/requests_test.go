package roomport

import (
	"context"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

// fleetCounter counts what the room asked of the provisioning client.
type fleetCounter struct {
	codes  chan string
	nudges chan struct{}
}

func (f *fleetCounter) Enroll(code string) { f.codes <- code }
func (f *fleetCounter) Nudge()             { f.nudges <- struct{}{} }

// The room's enrollment codes and poll requests reach the provisioning
// client made after it, through the queue made before it.
func TestRequests(t *testing.T) {
	q := NewRequests()
	rm := room.New(room.Options{Devices: room.Devices{Fleet: q}})
	ctx, cancel := context.WithCancel(context.Background())
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); rm.Run(ctx) }()
	<-rm.Ready()
	// The room asks before the client exists; the request waits.
	do := func(a room.Action) {
		t.Helper()
		if err := rm.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: a}); err != nil {
			t.Fatal(err)
		}
	}
	do(room.Enroll{Code: "ABCD-EFGH"})
	f := &fleetCounter{codes: make(chan string, 4), nudges: make(chan struct{}, 4)}
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx, f) }()
	defer func() { cancel(); <-done; <-roomDone }()
	select {
	case code := <-f.codes:
		if code != "ABCD-EFGH" {
			t.Fatalf("code %q", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the activation code did not reach the client")
	}
	do(room.PollNow{})
	select {
	case <-f.nudges:
	case <-time.After(10 * time.Second):
		t.Fatal("the poll request did not reach the client")
	}
	// Requests never block the room, even with nobody draining them.
	q2 := NewRequests()
	for range 10 {
		q2.Enroll("x")
		q2.Nudge()
	}
}
