package ua

import (
	"fmt"
	"testing"
	"time"
)

func TestInviteLimiter(t *testing.T) {
	clock := newFakeClock()
	l := newInviteLimiter(Limits{PerSource: 1, Total: 1, Burst: 2}, clock)
	take := func(host string, want bool) {
		t.Helper()
		if got := l.allow(host); got != want {
			t.Errorf("allow(%s) = %v; want %v", host, got, want)
		}
	}
	take("a", true)
	take("a", true)
	take("a", false) // a's bucket is empty
	take("b", false) // the total bucket is empty too
	clock.Advance(time.Second)
	take("b", true)  // the total bucket refilled one token
	take("a", false) // and b took it
	clock.Advance(2 * time.Second)
	take("a", true)

	// The per-source table stays bounded however many sources come.
	for i := range maxSources + 10 {
		clock.Advance(time.Second)
		l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := len(l.source); n > maxSources {
		t.Errorf("%d sources kept; want at most %d", n, maxSources)
	}
}
