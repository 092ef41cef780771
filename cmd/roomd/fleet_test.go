package main

import (
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

func TestCallQualitySummary(t *testing.T) {
	var cq callQuality
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if q := cq.take(t0); q != nil {
		t.Fatalf("no calls, summary %+v", q)
	}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	cq.update(room.State{Call: room.Joining, CallSeq: 1}, at(0))
	cq.update(room.State{Call: room.InCall, CallSeq: 1, Media: room.CallMedia{RTTMillis: 20, LossPercent: 1}}, at(1))
	cq.update(room.State{Call: room.InCall, CallSeq: 1, Media: room.CallMedia{RTTMillis: 40, LossPercent: 3}}, at(5))
	cq.update(room.State{Call: room.Reconnecting, CallSeq: 1}, at(10))
	cq.update(room.State{Call: room.Reconnecting, CallSeq: 1}, at(10))
	cq.update(room.State{Call: room.InCall, CallSeq: 1, Media: room.CallMedia{RTTMillis: 30, LossPercent: 2}}, at(11))
	cq.update(room.State{Call: room.Idle, CallSeq: 1}, at(21))
	cq.update(room.State{Call: room.InCall, CallSeq: 2, Media: room.CallMedia{RTTMillis: 30, LossPercent: 2}}, at(30))
	q := cq.take(at(40))
	if q == nil || q.Calls != 2 || q.Reconnects != 1 || q.Minutes != 29 || q.AvgRTTMillis != 30 || q.AvgLossPct != 2 {
		t.Fatalf("summary %+v, want 2 calls, 29 minutes, 1 reconnect, 30 ms, 2 %%", q)
	}
	// The next report counts only what came after.
	if q := cq.take(at(45)); q == nil || q.Calls != 0 || q.Minutes != 5 {
		t.Fatalf("second summary %+v, want the 5 minutes of the call still going", q)
	}
}
