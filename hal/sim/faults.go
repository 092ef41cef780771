package sim

import (
	"errors"
	"maps"
	"sync"
)

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrInjected matches every error caused by [Board.Fail].
	ErrInjected = errors.New("sim: injected fault")
	// ErrUnknownRole is returned for a role the board does not have (or has
	// as another kind of device, or disabled).
	ErrUnknownRole = errors.New("sim: unknown role")
	// ErrClosed is returned by controls used after [Board.Close].
	ErrClosed = errors.New("sim: board is closed")
)

// FaultError is what a failing device returns.
type FaultError struct {
	Role string
	Err  error // as given to Fail; nil means a plain injected fault
}

func (e *FaultError) Error() string {
	if e.Err == nil {
		return "sim: " + e.Role + ": injected fault"
	}
	return "sim: " + e.Role + ": injected fault: " + e.Err.Error()
}

// Unwrap lets errors.Is match both ErrInjected and the error given to Fail.
func (e *FaultError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInjected}
	}
	return []error{e.Err, ErrInjected}
}

// faults holds the active injected faults by role. A nil *faults has none,
// which makes the zero Toggle usable.
type faults struct {
	mu sync.Mutex
	m  map[string]error
}

func (f *faults) set(role string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]error{}
	}
	f.m[role] = &FaultError{Role: role, Err: err}
}

func (f *faults) clear(role string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, role)
}

// check returns the injected error for role, or nil.
func (f *faults) check(role string) error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[role]
}

func (f *faults) snapshot() map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.m)
}
