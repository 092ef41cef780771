// Package pinlock is the lockout after wrong PINs that the serial console's
// login and the touch panel's admin PIN share: after [MaxTries] wrong PINs
// in a row, PINs are refused for [Base] (30 s); every further wrong PIN
// doubles the wait, up to [Max] (15 min). A right PIN clears the count.
//
// A [Lock] only counts: the caller compares the PIN, words its messages and
// logs, and passes the time in, so tests can drive it with a fake clock. A
// Lock is not safe for concurrent use; callers check PINs one at a time
// (under their own mutex) so parallel attempts cannot outrun it.
package pinlock

import (
	"strconv"
	"time"
)

// The lockout policy.
const (
	MaxTries = 5                // consecutive wrong PINs that lock
	Base     = 30 * time.Second // the first lock
	Max      = 15 * time.Minute // the longest lock
)

// Lock counts consecutive wrong PINs. The zero value is open.
type Lock struct {
	fails int       // consecutive wrong PINs
	until time.Time // locked before this
}

// Remaining says how long the lock still holds at now; 0 when PINs are
// accepted.
func (l *Lock) Remaining(now time.Time) time.Duration {
	if now.Before(l.until) {
		return l.until.Sub(now)
	}
	return 0
}

// Succeed records a right PIN: the count starts again from zero.
func (l *Lock) Succeed() {
	l.fails, l.until = 0, time.Time{}
}

// Fail records a wrong PIN at now. It returns the number of consecutive
// wrong PINs so far and, when that number locks, for how long (0 when it
// does not): Base at the MaxTries-th, doubling at each after, at most Max.
func (l *Lock) Fail(now time.Time) (fails int, lockedFor time.Duration) {
	l.fails++
	if l.fails < MaxTries {
		return l.fails, 0
	}
	d := min(Base<<min(l.fails-MaxTries, 10), Max)
	l.until = now.Add(d)
	return l.fails, d
}

// HumanDuration writes a wait for people: 30s, 1m, 2m30s, in whole
// seconds, rounded up.
func HumanDuration(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	switch {
	case secs < 60:
		return strconv.FormatInt(secs, 10) + "s"
	case secs%60 == 0:
		return strconv.FormatInt(secs/60, 10) + "m"
	}
	return strconv.FormatInt(secs/60, 10) + "m" + strconv.FormatInt(secs%60, 10) + "s"
}
