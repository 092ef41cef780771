package policy

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

func TestCallQualitySummary(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	type step struct {
		min int
		s   room.State
	}
	media := func(rtt int, loss float64) room.CallMedia { return room.CallMedia{RTTMillis: rtt, LossPercent: loss} }
	on := func(proto string, rtt int, loss float64) room.CallMedia {
		return room.CallMedia{Protocol: proto, RTTMillis: rtt, LossPercent: loss}
	}
	for _, tc := range []struct {
		name  string
		steps []step
		take  int
		want  *CallSummary
	}{
		{name: "no call", take: 10, want: nil},
		{name: "joining only", steps: []step{{0, room.State{Call: room.Joining, CallSeq: 1}}}, take: 10, want: nil},
		{name: "two calls and a reconnect", steps: []step{
			{0, room.State{Call: room.Joining, CallSeq: 1}},
			{1, room.State{Call: room.InCall, CallSeq: 1, Media: media(20, 1)}},
			{5, room.State{Call: room.InCall, CallSeq: 1, Media: media(40, 3)}},
			{10, room.State{Call: room.Reconnecting, CallSeq: 1}},
			{10, room.State{Call: room.Reconnecting, CallSeq: 1}},
			{11, room.State{Call: room.InCall, CallSeq: 1, Media: media(30, 2)}},
			{21, room.State{Call: room.Idle, CallSeq: 1}},
			{30, room.State{Call: room.InCall, CallSeq: 2, Media: media(30, 2)}},
		}, take: 40, want: &CallSummary{Calls: 2, Minutes: 29, Reconnects: 1, AvgRTTMillis: 30, AvgLossPct: 2}},
		{name: "the same media twice is one sample", steps: []step{
			{0, room.State{Call: room.InCall, CallSeq: 7, Media: media(10, 0)}},
			{1, room.State{Call: room.InCall, CallSeq: 7, Media: media(10, 0)}},
			{2, room.State{Call: room.InCall, CallSeq: 7, Media: media(40, 6)}},
			{3, room.State{Call: room.Failed, CallSeq: 7}},
		}, take: 9, want: &CallSummary{Calls: 1, Minutes: 3, AvgRTTMillis: 25, AvgLossPct: 3}},
		{name: "no RTT yet: no sample", steps: []step{
			{0, room.State{Call: room.InCall, CallSeq: 1}},
			{2, room.State{Call: room.Idle, CallSeq: 1}},
		}, take: 3, want: &CallSummary{Calls: 1, Minutes: 2}},
		// Issue 14: the summary per protocol, from the media reports.
		{name: "per protocol", steps: []step{
			{0, room.State{Call: room.Joining, CallSeq: 1}},
			{1, room.State{Call: room.InCall, CallSeq: 1, Media: on("SIP", 20, 1)}},
			{2, room.State{Call: room.InCall, CallSeq: 1, Media: on("SIP", 40, 3)}},
			{3, room.State{Call: room.Failed, CallSeq: 1}},
			{3, room.State{Call: room.Failed, CallSeq: 1}},
			{4, room.State{Call: room.InCall, CallSeq: 2, Media: on("Janus", 10, 0)}},
			{5, room.State{Call: room.Idle, CallSeq: 2}},
			{6, room.State{Call: room.InCall, CallSeq: 3, Media: on("SIP", 60, 2)}},
			{7, room.State{Call: room.Idle, CallSeq: 3}},
			// A join that failed before any media: no protocol to count.
			{8, room.State{Call: room.Joining, CallSeq: 4}},
			{9, room.State{Call: room.Failed, CallSeq: 4}},
		}, take: 10, want: &CallSummary{Calls: 3, Minutes: 4, AvgRTTMillis: 32, AvgLossPct: 1.5, Protocols: map[string]ProtocolSummary{
			"SIP":   {Calls: 2, Failures: 1, AvgRTTMillis: 40, AvgLossPct: 2},
			"Janus": {Calls: 1, AvgRTTMillis: 10},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cq CallQuality
			for _, s := range tc.steps {
				cq.Update(s.s, at(s.min))
			}
			got := cq.Take(at(tc.take))
			if (got == nil) != (tc.want == nil) || (got != nil && !reflect.DeepEqual(*got, *tc.want)) {
				t.Fatalf("summary %+v, want %+v", got, tc.want)
			}
		})
	}

	// The next report counts only what came after.
	var cq CallQuality
	cq.Update(room.State{Call: room.InCall, CallSeq: 1}, at(0))
	if q := cq.Take(at(10)); q == nil || q.Calls != 1 || q.Minutes != 10 {
		t.Fatalf("first summary %+v", q)
	}
	if q := cq.Take(at(15)); q == nil || q.Calls != 0 || q.Minutes != 5 {
		t.Fatalf("second summary %+v, want the 5 minutes of the call still going", q)
	}
}

// Run follows a real room's updates.
func TestCallQualityRun(t *testing.T) {
	eng := &instantCalls{}
	rm := room.New(room.Options{Devices: room.Devices{Calls: eng}})
	eng.rm = rm
	ctx, cancel := context.WithCancel(context.Background())
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); rm.Run(ctx) }()
	<-rm.Ready()
	var cq CallQuality
	done := make(chan struct{})
	go func() { defer close(done); cq.Run(ctx, rm, nil) }()
	defer func() { cancel(); <-done; <-roomDone }()
	if err := rm.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: room.Meeting{URI: "janus+wss://sfu.example/janus?room=1"}}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		cq.mu.Lock()
		calls := cq.q.Calls
		cq.mu.Unlock()
		if calls == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the call was not counted")
		}
	}
}
