package pinlock

import (
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	now := t0 // the injected clock
	var l Lock
	type step struct {
		advance   time.Duration // move the clock first
		op        string        // "fail", "ok" or "" (only look)
		fails     int           // Fail's count
		lockedFor time.Duration // Fail's lock
		remaining time.Duration // Remaining after the step
	}
	steps := []step{
		{op: "fail", fails: 1},
		{op: "fail", fails: 2},
		{op: "fail", fails: 3},
		{op: "fail", fails: 4},
		{op: "fail", fails: 5, lockedFor: 30 * time.Second, remaining: 30 * time.Second},
		{advance: 10 * time.Second, remaining: 20 * time.Second},
		{advance: 20 * time.Second, remaining: 0}, // open exactly at the end
		{op: "fail", fails: 6, lockedFor: time.Minute, remaining: time.Minute},
		{advance: time.Minute, op: "fail", fails: 7, lockedFor: 2 * time.Minute, remaining: 2 * time.Minute},
		{advance: 2 * time.Minute, op: "fail", fails: 8, lockedFor: 4 * time.Minute, remaining: 4 * time.Minute},
		{advance: 4 * time.Minute, op: "fail", fails: 9, lockedFor: 8 * time.Minute, remaining: 8 * time.Minute},
		{advance: 8 * time.Minute, op: "fail", fails: 10, lockedFor: 15 * time.Minute, remaining: 15 * time.Minute}, // capped
		{advance: 15 * time.Minute, op: "fail", fails: 11, lockedFor: 15 * time.Minute, remaining: 15 * time.Minute},
		{advance: 15 * time.Minute, op: "ok"},
		{op: "fail", fails: 1}, // a right PIN starts the count again
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		switch s.op {
		case "fail":
			fails, d := l.Fail(now)
			if fails != s.fails || d != s.lockedFor {
				t.Fatalf("step %d (t+%v): Fail = %d, %v; want %d, %v", i, now.Sub(t0), fails, d, s.fails, s.lockedFor)
			}
		case "ok":
			l.Succeed()
		}
		if got := l.Remaining(now); got != s.remaining {
			t.Fatalf("step %d (t+%v): Remaining = %v; want %v", i, now.Sub(t0), got, s.remaining)
		}
	}
}

// Many wrong PINs in a row neither overflow the doubling nor pass Max.
func TestLockLongRun(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var l Lock
	for i := 1; i <= 200; i++ {
		fails, d := l.Fail(now)
		if fails != i || (i >= MaxTries && (d <= 0 || d > Max)) || (i < MaxTries && d != 0) {
			t.Fatalf("wrong PIN %d: Fail = %d, %v", i, fails, d)
		}
		now = now.Add(d)
	}
}

func TestHumanDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{time.Millisecond, "1s"},
		{30 * time.Second, "30s"},
		{59*time.Second + time.Millisecond, "1m"},
		{time.Minute, "1m"},
		{150 * time.Second, "2m30s"},
		{15 * time.Minute, "15m"},
	} {
		if got := HumanDuration(c.d); got != c.want {
			t.Errorf("HumanDuration(%v) = %q; want %q", c.d, got, c.want)
		}
	}
}
