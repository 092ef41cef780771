package roomport

import (
	"context"

	"github.com/roomd/roomd/room"
)

// Requests carries the room's activation codes and poll requests to the
// provisioning client. The client is made after the room (it needs the
// room), so the room is given this queue, made before both, and Run drains
// it into the client. Like the client, it never blocks the room: a request
// arriving while one of its kind waits is dropped.
type Requests struct {
	code  chan string
	nudge chan struct{}
}

var _ room.Fleet = (*Requests)(nil)

// NewRequests returns an empty queue.
func NewRequests() *Requests {
	return &Requests{code: make(chan string, 1), nudge: make(chan struct{}, 1)}
}

// Enroll queues an activation code typed on the console or panel.
func (q *Requests) Enroll(code string) {
	select {
	case q.code <- code:
	default:
	}
}

// Nudge queues a request for a poll at once.
func (q *Requests) Nudge() {
	select {
	case q.nudge <- struct{}{}:
	default:
	}
}

// Run hands the queued requests to c until ctx ends.
func (q *Requests) Run(ctx context.Context, c room.Fleet) {
	for {
		select {
		case <-ctx.Done():
			return
		case code := <-q.code:
			c.Enroll(code)
		case <-q.nudge:
			c.Nudge()
		}
	}
}
