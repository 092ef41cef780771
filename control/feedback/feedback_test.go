package feedback_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/control/feedback"
	"github.com/roomd/roomd/room"
)

// fakeRoom is a room the test drives: update sets its state and hands the
// update to the hub's watch, as the room's goroutine would.
type fakeRoom struct {
	mu      sync.Mutex
	state   room.State
	in      chan room.Update
	stopped chan struct{}
	watches atomic.Int32 // watches running
	started atomic.Int32 // watches ever started
}

func newFakeRoom() *fakeRoom {
	return &fakeRoom{state: room.State{Settings: room.DefaultSettings()}, in: make(chan room.Update), stopped: make(chan struct{})}
}

func (f *fakeRoom) Do(context.Context, room.Command) error { return nil }

func (f *fakeRoom) Snapshot() room.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeRoom) Watch(ctx context.Context) <-chan room.Update {
	out := make(chan room.Update)
	f.watches.Add(1)
	f.started.Add(1)
	go func() {
		defer f.watches.Add(-1)
		defer close(out)
		u := room.Update{State: f.Snapshot(), Initial: true}
		for {
			select {
			case out <- u:
			case <-ctx.Done():
				return
			case <-f.stopped:
				return
			}
			select {
			case u = <-f.in:
			case <-ctx.Done():
				return
			case <-f.stopped:
				return
			}
		}
	}()
	return out
}

// setState changes the state without telling watchers yet, as the room
// does between changing its state and publishing it.
func (f *fakeRoom) setState(s room.State) {
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
}

// update changes the state and publishes it; it fails the test if the hub
// does not take it within a second (a subscriber is holding it up).
func (f *fakeRoom) update(t *testing.T, s room.State, events ...room.Event) {
	t.Helper()
	f.setState(s)
	f.publish(t, room.Update{State: s, Events: events})
}

func (f *fakeRoom) publish(t *testing.T, u room.Update) {
	t.Helper()
	select {
	case f.in <- u:
	case <-time.After(time.Second):
		t.Fatal("the hub did not take an update within a second")
	}
}

func withVolume(v int) room.State {
	return room.State{Volume: v, Settings: room.DefaultSettings()}
}

func next(t *testing.T, ch <-chan feedback.Batch) feedback.Batch {
	t.Helper()
	select {
	case b, ok := <-ch:
		if !ok {
			t.Fatal("the subscription ended")
		}
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no batch within 5s")
	}
	return feedback.Batch{}
}

func leafValue(leaves []control.Leaf, path string) string {
	for _, l := range leaves {
		if l.Path.String() == path {
			return l.Value
		}
	}
	return "(none)"
}

// 68 subscribers (64 panels, 4 consoles) get every batch, in order, with
// the same changes, from one watch of the room.
func TestFanOut(t *testing.T) {
	r := newFakeRoom()
	h := feedback.New(r, feedback.Options{System: control.System{SoftwareVersion: "9.9"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subs := make([]<-chan feedback.Batch, 68)
	for i := range subs {
		subs[i] = h.Subscribe(ctx)
	}
	first := next(t, subs[0])
	if !first.Initial || first.Resync || first.StatusChanges != nil || leafValue(first.Status, "SystemUnit Software Version") != "9.9" {
		t.Fatalf("first batch: %+v", first)
	}
	for v := 1; v <= 5; v++ {
		r.update(t, withVolume(v*10), room.Event{Name: "CallEnded"})
	}
	for i, ch := range subs {
		b := first
		if i > 0 {
			b = next(t, ch)
			if !b.Initial || b.Seq != first.Seq {
				t.Fatalf("subscriber %d: first batch %d initial %v, want %d initial", i, b.Seq, b.Initial, first.Seq)
			}
		}
		for v := 1; v <= 5; v++ {
			n := next(t, ch)
			if n.Seq != b.Seq+1 || n.Initial || n.Resync {
				t.Fatalf("subscriber %d: batch %d (initial %v resync %v) after %d", i, n.Seq, n.Initial, n.Resync, b.Seq)
			}
			want := []control.Change{{Leaf: control.Leaf{Path: control.Path{"Audio", "Volume"}, Value: itoa(v * 10), Kind: control.Integer}}}
			if !slices.EqualFunc(n.StatusChanges, want, changeEqual) || n.ConfigChanges != nil || len(n.Events) != 1 {
				t.Fatalf("subscriber %d: changes %v config %v events %v", i, n.StatusChanges, n.ConfigChanges, n.Events)
			}
			if leafValue(n.Status, "Audio Volume") != itoa(v*10) || n.State.Volume != v*10 {
				t.Fatalf("subscriber %d: whole tree says volume %s", i, leafValue(n.Status, "Audio Volume"))
			}
			b = n
		}
	}
	if n := r.started.Load(); n != 1 {
		t.Errorf("the room was watched %d times, want once", n)
	}
}

func itoa(n int) string { return control.Flatten(withVolume(n), control.System{})[2].Value }

func changeEqual(a, b control.Change) bool {
	return a.Gone == b.Gone && a.Value == b.Value && a.Kind == b.Kind && slices.Equal(a.Path, b.Path)
}

// A subscriber that stops reading holds up neither the room nor the
// others; when it reads again it finds at most its queue, then a resync
// with the tree as it is now.
func TestSlowSubscriberResyncs(t *testing.T) {
	r := newFakeRoom()
	h := feedback.New(r, feedback.Options{Queue: 4})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := h.Subscribe(ctx)
	fast := h.Subscribe(ctx)
	next(t, fast)
	for v := 1; v <= 50; v++ {
		r.update(t, withVolume(v)) // fails if the slow subscriber blocks the hub
		// The other subscriber keeps up, and gets every change.
		if b := next(t, fast); b.Resync || b.State.Volume != v || len(b.StatusChanges) != 1 {
			t.Fatalf("the subscriber that keeps up: resync %v volume %d changes %v", b.Resync, b.State.Volume, b.StatusChanges)
		}
	}
	var batches []feedback.Batch
	for len(batches) == 0 || batches[len(batches)-1].State.Volume != 50 {
		batches = append(batches, next(t, slow))
	}
	if len(batches) > 4 {
		t.Errorf("the slow subscriber had %d batches queued, more than its queue of 4", len(batches))
	}
	// The queue holds the resync, then what came after it in order.
	if first := batches[0]; !first.Resync || first.Initial || first.StatusChanges != nil || leafValue(first.Status, "Audio Volume") != itoa(first.State.Volume) {
		t.Errorf("first batch after falling behind: resync %v changes %v", first.Resync, first.StatusChanges)
	}
	for i := 1; i < len(batches); i++ {
		if batches[i].Resync || batches[i].Seq != batches[i-1].Seq+1 {
			t.Errorf("batch %d (resync %v) after %d", batches[i].Seq, batches[i].Resync, batches[i-1].Seq)
		}
	}
	if last := batches[len(batches)-1]; leafValue(last.Status, "Audio Volume") != "50" {
		t.Errorf("last batch: volume %s", leafValue(last.Status, "Audio Volume"))
	}
}

// Sync returns the batch that carries the room's state at the call,
// waiting for a change still on its way to the hub; it gives up with its
// context when the hub does not get there.
func TestSyncWaitsForEarlierChanges(t *testing.T) {
	r := newFakeRoom()
	h := feedback.New(r, feedback.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := h.Subscribe(ctx)
	initial := next(t, sub)
	seq, err := h.Sync(ctx)
	if err != nil || seq != initial.Seq {
		t.Fatalf("Sync with nothing on its way = %d, %v; want %d", seq, err, initial.Seq)
	}

	r.setState(withVolume(70)) // changed, not yet published
	type result struct {
		seq uint64
		err error
	}
	res := make(chan result, 1)
	go func() {
		seq, err := h.Sync(ctx)
		res <- result{seq, err}
	}()
	select {
	case got := <-res:
		t.Fatalf("Sync returned %+v before the change reached the hub", got)
	case <-time.After(50 * time.Millisecond):
	}
	r.publish(t, room.Update{State: withVolume(30)}) // an earlier change first
	r.publish(t, room.Update{State: withVolume(70)})
	got := <-res
	b1, b2 := next(t, sub), next(t, sub)
	if got.err != nil || got.seq != b2.Seq || b2.State.Volume != 70 || b1.Seq >= b2.Seq {
		t.Fatalf("Sync = %+v; batches %d (volume %d) and %d (volume %d)", got, b1.Seq, b1.State.Volume, b2.Seq, b2.State.Volume)
	}

	// A change that never reaches the hub: Sync ends with its context.
	r.setState(withVolume(90))
	sctx, scancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer scancel()
	start := time.Now()
	if _, err := h.Sync(sctx); !errors.Is(err, feedback.ErrSync) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sync on a stuck hub = %v; want ErrSync and the deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Sync on a stuck hub took %s", d)
	}
}

// Subscriptions end with their context; the last one ends the watch of the
// room, and the next subscription starts a new one with an Initial batch.
func TestSubscriptionEndsWithContext(t *testing.T) {
	r := newFakeRoom()
	h := feedback.New(r, feedback.Options{})
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	a, b := h.Subscribe(ctx1), h.Subscribe(ctx2)
	next(t, a)
	next(t, b)
	cancel1()
	for range a { // drains, then ends
	}
	r.update(t, withVolume(5))
	if got := next(t, b); got.State.Volume != 5 {
		t.Fatalf("the other subscription got volume %d", got.State.Volume)
	}
	cancel2()
	for range b {
	}
	waitFor(t, "the room's watch to end", func() bool { return r.watches.Load() == 0 })
	if seq, err := h.Sync(context.Background()); err != nil || seq == 0 {
		t.Errorf("Sync with nobody subscribed = %d, %v", seq, err)
	}

	ctx3, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	c := h.Subscribe(ctx3)
	if got := next(t, c); !got.Initial || got.State.Volume != 5 {
		t.Errorf("a new subscription after the watch ended: initial %v volume %d", got.Initial, got.State.Volume)
	}
	if n := r.started.Load(); n != 2 {
		t.Errorf("%d watches started, want 2", n)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, ok := <-h.Subscribe(done); ok {
		t.Error("a subscription with an ended context got a batch")
	}
}

// When the room stops, every subscription ends.
func TestRoomStopEndsSubscriptions(t *testing.T) {
	r := newFakeRoom()
	h := feedback.New(r, feedback.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := h.Subscribe(ctx)
	next(t, a)
	close(r.stopped)
	select {
	case _, ok := <-a:
		if ok {
			t.Fatal("a batch after the room stopped")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription did not end when the room stopped")
	}
}

// Now gives the room's status as it is, from the last batch when the hub
// is up to date and flattened afresh when it is not.
func TestNow(t *testing.T) {
	r := newFakeRoom()
	h := feedback.New(r, feedback.Options{})
	status, config := h.Now() // nobody subscribed
	if leafValue(status, "Audio Volume") != "0" || leafValue(config, "Audio DefaultVolume") != "50" {
		t.Fatalf("Now: volume %s default %s", leafValue(status, "Audio Volume"), leafValue(config, "Audio DefaultVolume"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := h.Subscribe(ctx)
	b := next(t, sub)
	if status, _ := h.Now(); &status[0] != &b.Status[0] {
		t.Error("Now flattened again although the hub is up to date")
	}
	r.setState(withVolume(42))
	if status, _ := h.Now(); leafValue(status, "Audio Volume") != "42" {
		t.Errorf("Now ahead of the hub: volume %s, want 42", leafValue(status, "Audio Volume"))
	}
}

// A real room: a command's change arrives as a batch.
func TestRealRoom(t *testing.T) {
	rm := room.New(room.Options{PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rm.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-rm.Ready()
	h := feedback.New(rm, feedback.Options{})
	sub := h.Subscribe(ctx)
	next(t, sub)
	if err := rm.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.SetVolume{Level: 33}}); err != nil {
		t.Fatal(err)
	}
	seq, err := h.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		b := next(t, sub)
		if b.Seq == seq {
			if leafValue(b.Status, "Audio Volume") != "33" {
				t.Errorf("volume %s after Sync", leafValue(b.Status, "Audio Volume"))
			}
			break
		}
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
