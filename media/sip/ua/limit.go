package ua

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// inviteLimiter is a token bucket per source address and one for
// everyone, for new inbound calls.
type inviteLimiter struct {
	lim   Limits
	clock Clock

	mu     sync.Mutex
	total  *rate.Limiter
	source map[string]*sourceBucket
}

type sourceBucket struct {
	l    *rate.Limiter
	seen time.Time
}

// maxSources bounds the per-source table; past it, idle buckets go.
const maxSources = 1024

func newInviteLimiter(l Limits, c Clock) *inviteLimiter {
	return &inviteLimiter{
		lim:    l,
		clock:  c,
		total:  rate.NewLimiter(l.Total, l.Burst),
		source: make(map[string]*sourceBucket),
	}
}

// allow takes a token for host from its bucket and from the total one.
func (il *inviteLimiter) allow(host string) bool {
	il.mu.Lock()
	defer il.mu.Unlock()
	now := il.clock.Now()
	b := il.source[host]
	if b == nil {
		if len(il.source) >= maxSources {
			il.prune(now)
		}
		b = &sourceBucket{l: rate.NewLimiter(il.lim.PerSource, il.lim.Burst)}
		il.source[host] = b
	}
	b.seen = now
	if !b.l.AllowN(now, 1) {
		return false
	}
	return il.total.AllowN(now, 1)
}

// prune drops the buckets that have refilled; if none has, the oldest.
func (il *inviteLimiter) prune(now time.Time) {
	var oldest string
	for h, b := range il.source {
		if b.l.TokensAt(now) >= float64(il.lim.Burst) {
			delete(il.source, h)
			continue
		}
		if oldest == "" || b.seen.Before(il.source[oldest].seen) {
			oldest = h
		}
	}
	if len(il.source) >= maxSources {
		delete(il.source, oldest)
	}
}
