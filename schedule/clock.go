package schedule

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/roomd/roomd/internal/statefile"
)

// ClockTrust says whether the clock can be believed. A Raspberry Pi has no
// real-time clock: after a power cut it boots with a stale time until NTP
// answers, and joining by a wrong clock joins the wrong meeting.
type ClockTrust interface {
	Trusted(now time.Time) bool
}

// ClockTrustFunc adapts a function to ClockTrust.
type ClockTrustFunc func(now time.Time) bool

// Trusted calls f.
func (f ClockTrustFunc) Trusted(now time.Time) bool { return f(now) }

// DefaultSyncFile is where systemd-timesyncd marks the clock synchronised.
const DefaultSyncFile = "/run/systemd/timesync/synchronized"

// SystemClock trusts the clock once the system says it is synchronised:
// systemd-timesyncd's flag file exists, or the kernel's NTP state does not
// say unsynchronised. It never trusts a clock that reads earlier than the
// Floor, and raises the Floor while it trusts the clock.
type SystemClock struct {
	SyncFile string      // "" means DefaultSyncFile
	Kernel   func() bool // nil asks the kernel (adjtimex)
	Floor    *TimeFloor  // nil: no floor
}

var _ ClockTrust = (*SystemClock)(nil)

// Trusted implements ClockTrust.
func (s *SystemClock) Trusted(now time.Time) bool {
	if s.Floor != nil && s.Floor.After(now) {
		return false
	}
	f := s.SyncFile
	if f == "" {
		f = DefaultSyncFile
	}
	_, err := os.Stat(f)
	synced := err == nil
	if !synced {
		k := s.Kernel
		if k == nil {
			k = kernelSynced
		}
		synced = k()
	}
	if synced && s.Floor != nil {
		s.Floor.Raise(now)
	}
	return synced
}

// floorSaveEvery limits how often the floor is written: the floor only
// has to be roughly right, and an SD card should not be written every
// minute.
const floorSaveEvery = time.Hour

// TimeFloor is the latest trusted time seen, kept in a file: a clock that
// reads earlier than it after a restart is known to be wrong.
type TimeFloor struct {
	path  string
	mu    sync.Mutex
	t     time.Time
	saved time.Time
}

// LoadTimeFloor reads the floor kept in path ("" keeps it in memory
// only). A missing file is no floor; a damaged one is reported, and the
// floor starts empty.
func LoadTimeFloor(path string) (*TimeFloor, error) {
	f := &TimeFloor{path: path}
	if path == "" {
		return f, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("schedule: reading the time floor: %w", err)
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	if err != nil {
		return f, fmt.Errorf("schedule: the time floor %s is damaged; starting without one: %w", path, err)
	}
	f.t, f.saved = t, t
	return f, nil
}

// Time returns the floor; zero for none.
func (f *TimeFloor) Time() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// After reports whether the floor is later than now, which means the clock
// is behind.
func (f *TimeFloor) After(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t.After(now)
}

// Raise moves the floor up to now, writing it out when it has moved far
// enough since the last write. Only trusted times may raise it: a floor
// from a clock set wrongly into the future would block joining until then.
func (f *TimeFloor) Raise(now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !now.After(f.t) {
		return nil
	}
	f.t = now
	if f.path == "" || (!f.saved.IsZero() && now.Sub(f.saved) < floorSaveEvery) {
		return nil
	}
	if err := statefile.WriteFile(f.path, []byte(now.UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("schedule: saving the time floor: %w", err)
	}
	f.saved = now
	return nil
}
