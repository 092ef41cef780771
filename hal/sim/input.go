package sim

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/roomd/roomd/hal"
)

// maxQueued bounds the edges held for a watcher that is not reading; past it
// the oldest are dropped, as a GPIO driver's event queue would.
const maxQueued = 256

// input is a simulated button or switch. Edges are clean, so there is no
// debouncing to do.
type input struct {
	role   string
	faults *faults
	now    func() time.Time
	log    *slog.Logger
	life   *life

	mu       sync.Mutex // guards active and watchers; held while fanning out so every watcher sees edges in the same order
	active   bool
	watchers map[*watcher]struct{}
}

var _ hal.Input = (*input)(nil)

// Active reports the level, or the injected fault.
func (in *input) Active() (bool, error) {
	if err := in.faults.check(in.role); err != nil {
		return false, err
	}
	return in.level(), nil
}

func (in *input) level() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.active
}

// Watch delivers every edge from now on until ctx ends or the board closes;
// then the channel closes. Each watcher has its own queue and goroutine, so a
// slow watcher holds up neither the others nor the caller of Press.
func (in *input) Watch(ctx context.Context) <-chan hal.Edge {
	w := &watcher{out: make(chan hal.Edge), wake: make(chan struct{}, 1)}
	in.mu.Lock()
	defer in.mu.Unlock()
	// Registered before Watch returns, so a Press right after sees it.
	in.watchers[w] = struct{}{}
	if !in.life.goroutine(func(done <-chan struct{}) { in.serve(ctx, done, w) }) {
		delete(in.watchers, w)
		close(w.out)
	}
	return w.out
}

// set changes the level and tells every watcher; it reports whether the
// level changed.
func (in *input) set(active bool) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.active == active {
		return false
	}
	in.active = active
	e := hal.Edge{Pressed: active, At: in.now()}
	for w := range in.watchers {
		if w.push(e) {
			in.log.Warn("sim: watcher is not reading; dropped its oldest edge", "role", in.role)
		}
	}
	return true
}

func (in *input) serve(ctx context.Context, done <-chan struct{}, w *watcher) {
	defer func() {
		in.mu.Lock()
		delete(in.watchers, w)
		in.mu.Unlock()
		close(w.out)
	}()
	for {
		for _, e := range w.take() {
			select {
			case w.out <- e:
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		case <-done:
			return
		}
	}
}

// watcher is one Watch call's queue.
type watcher struct {
	out  chan hal.Edge
	wake chan struct{} // capacity 1: "the queue may have grown"

	mu    sync.Mutex
	queue []hal.Edge
}

// push queues e and reports whether an old edge had to be dropped.
func (w *watcher) push(e hal.Edge) (dropped bool) {
	w.mu.Lock()
	if len(w.queue) >= maxQueued {
		w.queue = w.queue[1:]
		dropped = true
	}
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return dropped
}

func (w *watcher) take() []hal.Edge {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// life tracks the board's goroutines so Close can stop and wait for them.
type life struct {
	mu     sync.Mutex
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func newLife() *life { return &life{done: make(chan struct{})} }

// goroutine runs f unless the board is closed; f must return soon after done
// closes.
func (l *life) goroutine(f func(done <-chan struct{})) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f(l.done)
	}()
	return true
}

func (l *life) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// close stops every goroutine and waits for them.
func (l *life) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
	l.mu.Unlock()
	l.wg.Wait()
}
