package room

import (
	"context"
	"sync"
)

// maxQueued is how many updates a slow watcher may fall behind before its
// queue is folded into one resync snapshot.
const maxQueued = 256

// watcher queues updates for one consumer so a slow consumer never holds up
// the room.
type watcher struct {
	mu     sync.Mutex
	queue  []Update
	wake   chan struct{}
	closed bool
}

func (w *watcher) push(u Update) {
	w.mu.Lock()
	if len(w.queue) >= maxQueued {
		w.queue = []Update{{State: u.State, Resync: true}}
	} else {
		w.queue = append(w.queue, u)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Watch returns a channel that carries the current state first and then
// every change, until ctx ends or the room stops; then it closes.
func (r *Room) Watch(ctx context.Context) <-chan Update {
	w := &watcher{wake: make(chan struct{}, 1)}
	out := make(chan Update)
	r.mu.Lock()
	if r.watchers == nil { // stopped
		r.mu.Unlock()
		close(out)
		return out
	}
	w.queue = []Update{{State: r.state.clone(), Initial: true}}
	w.wake <- struct{}{}
	r.watchers[w] = struct{}{}
	r.mu.Unlock()

	go func() {
		defer close(out)
		defer func() {
			r.mu.Lock()
			delete(r.watchers, w)
			r.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			for {
				w.mu.Lock()
				if len(w.queue) == 0 {
					closed := w.closed
					w.mu.Unlock()
					if closed {
						return
					}
					break
				}
				u := w.queue[0]
				w.queue = w.queue[1:]
				w.mu.Unlock()
				select {
				case out <- u:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
