package control

import (
	"context"

	"github.com/roomd/roomd/room"
)

// Room is what a control surface (the serial console, the touch panel)
// needs of the room; *room.Room satisfies it.
type Room interface {
	Do(ctx context.Context, c room.Command) error
	Watch(ctx context.Context) <-chan room.Update
	Snapshot() room.State
}

var _ Room = (*room.Room)(nil)
