package sim

import (
	"sync"

	"github.com/roomd/roomd/hal"
)

// Toggle is an on/off device that fails on demand: the board's LEDs and
// relays, and any device given to [Board.Wrap]. It satisfies hal.Output and
// room.Toggle, and is safe for concurrent use.
//
// A Toggle either passes Set and Get through to the device it wraps or, with
// none, holds its own level. The zero Toggle holds its own level and never
// fails.
type Toggle struct {
	role   string
	faults *faults

	mu  sync.Mutex // serialises calls to dev, guards on
	dev interface {
		Set(bool) error
		Get() (bool, error)
	}
	on bool
}

var _ hal.Output = (*Toggle)(nil)

// Name is the role the toggle was created for.
func (t *Toggle) Name() string { return t.role }

// Set drives the device, or fails with the injected fault.
func (t *Toggle) Set(on bool) error {
	if err := t.faults.check(t.role); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dev != nil {
		return t.dev.Set(on)
	}
	t.on = on
	return nil
}

// Get reads the device back, or fails with the injected fault.
func (t *Toggle) Get() (bool, error) {
	if err := t.faults.check(t.role); err != nil {
		return false, err
	}
	return t.level()
}

// level is the true level, whatever faults are injected: what a meter on
// the wire would show.
func (t *Toggle) level() (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dev != nil {
		return t.dev.Get()
	}
	return t.on, nil
}
