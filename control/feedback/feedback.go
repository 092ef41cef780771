// Package feedback turns the room's updates into status feedback once, for
// every control surface at once.
//
// A [Hub] watches the room (room.Watch) while anyone is subscribed,
// flattens each update once (control.Status.Next: groups whose part of the
// state did not change are kept, not read again), compares it once with
// the previous one, and hands every subscriber the same [Batch]: the whole
// status tree and configuration, what changed, the events and the state.
// The serial console's sessions and the touch panel's WebSockets each
// subscribe; with 64 panels and 4 consoles a room change is flattened once,
// not 68 times.
//
// # Order and sequence numbers
//
// Batches are numbered by the hub (Batch.Seq) and reach each subscriber in
// that order. A subscription starts with an Initial batch (the whole tree,
// no changes). [Hub.Sync] returns the number of the batch that carries the
// room's state as it is when Sync is called, so a surface can wait until
// it has handled every change made before a request and answer the
// request only then.
//
// # Slow subscribers
//
// Each subscriber has a bounded queue (Options.Queue batches). One that
// falls that far behind neither holds up the room nor the other
// subscribers: what waits in its queue is dropped and it gets one Resync
// batch, the whole tree as it is now, instead of an ever longer queue.
// Events in the dropped batches are lost, as with room.Update's Resync.
package feedback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/room"
)

// Batch is what one room update means for feedback. Its slices and State
// are shared by every subscriber: read them, never change them.
type Batch struct {
	// Seq numbers the batches of a hub, from 1; a subscriber sees them
	// rising. An Initial or Resync batch carries the number of the batch
	// whose tree it holds.
	Seq uint64
	// Initial is the first batch of a subscription: Status and Config are
	// the whole tree; there are no changes or events.
	Initial bool
	// Resync says that updates were dropped before this one (this
	// subscriber fell behind, or the room dropped updates for the hub):
	// Status and Config are whole, changes are not given, and events in
	// between were lost. Compare with what you had, or start over.
	Resync bool

	Status        []control.Leaf   // the whole status tree after the update
	Config        []control.Leaf   // every configuration item after the update
	StatusChanges []control.Change // status leaves changed since the previous batch
	ConfigChanges []control.Change // configuration items changed since the previous batch
	Events        []room.Event     // what the room announced with the update
	State         room.State       // the room state the batch was made from
}

// Options configure a Hub.
type Options struct {
	// System is what status says about the unit (its software version).
	System control.System
	// Queue is how many batches a subscriber may fall behind before it is
	// resynced (default 256, as many as the room queues for a watcher).
	Queue int
}

// DefaultQueue is Options.Queue when unset.
const DefaultQueue = 256

// Hub fans the room's feedback out to subscribers. It watches the room
// only while someone is subscribed; the zero Hub is not usable, use New.
type Hub struct {
	room  control.Room
	sys   control.System
	queue int

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	seq     uint64             // the last batch's number
	cur     *Batch             // the running watch's last batch; nil before its first
	stop    context.CancelFunc // ends the running watch; nil when not watching
	gen     uint64             // counts watches, so a stopped one publishes nothing
	waiters []*waiter          // Sync calls waiting for a state
}

type subscriber struct {
	ch chan Batch // the queue; only the hub sends and closes
}

// waiter is a Sync call waiting for the hub to reach a state.
type waiter struct {
	state room.State
	done  chan uint64 // gets the batch number; buffered
}

// New makes a hub for r. It starts watching r with the first subscription.
// r.Snapshot must not wait for the hub (the hub calls it under its lock).
func New(r control.Room, o Options) *Hub {
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	return &Hub{room: r, sys: o.System, queue: o.Queue, subs: map[*subscriber]struct{}{}}
}

// Subscribe returns a channel of batches, starting with an Initial one,
// until ctx ends or the room stops; then it is closed.
func (h *Hub) Subscribe(ctx context.Context) <-chan Batch {
	s := &subscriber{ch: make(chan Batch, h.queue)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		close(s.ch)
		return s.ch
	}
	h.subs[s] = struct{}{}
	switch {
	case h.stop == nil:
		h.start()
	case h.cur != nil: // else the watch's first batch, to come, is Initial
		s.ch <- Batch{Seq: h.cur.Seq, Initial: true, Status: h.cur.Status, Config: h.cur.Config, State: h.cur.State}
	}
	context.AfterFunc(ctx, func() { h.unsubscribe(s) })
	return s.ch
}

// start begins a watch of the room; h.mu must be held.
func (h *Hub) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.gen++
	h.stop, h.cur = cancel, nil
	go h.watch(ctx, h.gen)
}

// unsubscribe ends s; the last subscription ends the watch.
func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; !ok {
		return // the room stopped and ended it already
	}
	delete(h.subs, s)
	close(s.ch)
	if len(h.subs) == 0 && h.stop != nil {
		h.stopWatch()
	}
}

// stopWatch ends the running watch and releases the waiting Sync calls:
// nothing more will come. h.mu must be held.
func (h *Hub) stopWatch() {
	h.stop()
	h.stop, h.cur = nil, nil
	for _, w := range h.waiters {
		w.done <- h.seq
	}
	h.waiters = nil
}

// watch turns the room's updates into batches until ctx ends or the room
// stops.
func (h *Hub) watch(ctx context.Context, gen uint64) {
	var f flattener
	for u := range h.room.Watch(ctx) {
		if !h.publish(gen, f.batch(u, h.sys)) {
			return
		}
	}
	// The room stopped (or this watch was stopped): end its subscriptions.
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen || h.stop == nil {
		return
	}
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
	h.stopWatch()
}

// flattener keeps the last flattening, to make the next from it.
type flattener struct {
	status *control.Status
	config []control.Leaf
}

// batch flattens one update. Its Seq is set by publish.
func (f *flattener) batch(u room.Update, sys control.System) Batch {
	b := Batch{Events: u.Events, State: u.State}
	if f.status == nil {
		f.status, f.config = control.NewStatus(u.State, sys), control.ConfigLeaves(u.State.Settings)
		b.Initial = true
	} else {
		var changes []control.Change
		prev := f.status.State()
		f.status, changes = f.status.Next(u.State)
		b.StatusChanges = changes
		if u.State.Settings != prev.Settings {
			next := control.ConfigLeaves(u.State.Settings)
			b.ConfigChanges, f.config = control.Diff(f.config, next), next
		}
	}
	if u.Resync && !b.Initial {
		b.Resync, b.StatusChanges, b.ConfigChanges = true, nil, nil
	}
	b.Status, b.Config = f.status.Leaves(), f.config
	return b
}

// publish numbers b and hands it to every subscriber. It reports false
// when the watch of generation gen was stopped.
func (h *Hub) publish(gen uint64, b Batch) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen || h.stop == nil {
		return false
	}
	h.seq++
	b.Seq = h.seq
	h.cur = &b
	for s := range h.subs {
		s.deliver(b)
	}
	h.waiters = slices.DeleteFunc(h.waiters, func(w *waiter) bool {
		if b.Resync || b.State.Equal(w.state) {
			w.done <- b.Seq
			return true
		}
		return false
	})
	return true
}

// deliver queues b for s without blocking. A full queue is emptied and
// gets b as a Resync batch instead. Only publish sends, under the hub's
// lock, so the emptied queue has room.
func (s *subscriber) deliver(b Batch) {
	select {
	case s.ch <- b:
		return
	default:
	}
	for len(s.ch) > 0 {
		select {
		case <-s.ch:
		default: // the subscriber took it meanwhile
		}
	}
	b.Initial, b.Resync = false, true
	b.StatusChanges, b.ConfigChanges, b.Events = nil, nil, nil
	select {
	case s.ch <- b:
	default:
	}
}

// ErrSync is returned by Sync when ctx ends before the hub reached the
// room's state: the hub is far behind or stuck.
var ErrSync = errors.New("feedback: the room's latest changes are not through yet")

// Sync returns the number of the batch that carries the room's state as it
// is now (or a later one), waiting until the hub has made it. Every change
// made before the call is in that batch or an earlier one. While nobody is
// subscribed it returns at once, as nobody is owed anything. The wait ends
// with ctx: bound it, so a stuck hub cannot hold up a request.
func (h *Hub) Sync(ctx context.Context) (uint64, error) {
	// The snapshot is taken under the lock, so no batch is published
	// between it and the look at the last batch: a state the hub has
	// not reached yet is still to come.
	h.mu.Lock()
	now := h.room.Snapshot()
	if h.stop == nil || (h.cur != nil && h.cur.State.Equal(now)) {
		seq := h.seq
		h.mu.Unlock()
		return seq, nil
	}
	w := &waiter{state: now, done: make(chan uint64, 1)}
	h.waiters = append(h.waiters, w)
	h.mu.Unlock()
	select {
	case seq := <-w.done:
		return seq, nil
	case <-ctx.Done():
		h.mu.Lock()
		h.waiters = slices.DeleteFunc(h.waiters, func(o *waiter) bool { return o == w })
		h.mu.Unlock()
		return 0, fmt.Errorf("%w (%w)", ErrSync, ctx.Err())
	}
}

// Now returns the status tree and configuration as the room has them now:
// the last batch's when the hub is up to date, else a fresh flattening.
// The slices may be shared: do not change them.
func (h *Hub) Now() (status, config []control.Leaf) {
	s := h.room.Snapshot()
	h.mu.Lock()
	cur := h.cur
	h.mu.Unlock()
	if cur != nil && cur.State.Equal(s) {
		return cur.Status, cur.Config
	}
	return control.Flatten(s, h.sys), control.ConfigLeaves(s.Settings)
}
