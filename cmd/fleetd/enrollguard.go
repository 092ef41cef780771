package main

import (
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// EnrollLimits throttle POST /v1/enroll, the one endpoint a stranger can
// call: each refused attempt (unknown, used or expired code; unregistered
// key; malformed request) counts against the client's address and against
// the whole server, and past the limits an attempt is answered 429 with a
// Retry-After before its body is read, without touching the database or
// the log. A zero field takes its default.
//
// Per address (an IPv4 address, or an IPv6 /64): FreeRefusals refusals in
// a row, then Base, doubling with each further refusal up to Max, as the
// room's PIN lockout does. An enrollment that uses a code or a factory
// registration clears the address's count; an address quiet for an hour
// past its last wait is forgotten.
//
// For the server: a token bucket of refusals, GlobalBurst deep, refilled
// at GlobalPerSecond, so many addresses together cannot guess faster
// either; while it is empty every enrollment waits, genuine ones included,
// and works again once the refusals stop.
type EnrollLimits struct {
	FreeRefusals    int           // refusals in a row before an address waits (10)
	Base            time.Duration // the first wait (2 s)
	Max             time.Duration // the longest wait (15 min)
	GlobalPerSecond float64       // refusals per second the server takes from all addresses (5)
	GlobalBurst     int           // refusals the server takes at once (100)
	// LogEvery spaces the refusal log: the first refusal of a period is
	// logged in full, the rest as one line of counts when it ends (1 min).
	LogEvery time.Duration
	// MaxAddresses bounds the addresses remembered (65,536); when all are
	// waiting or counting, a new address waits too.
	MaxAddresses int
}

func (l EnrollLimits) withDefaults() EnrollLimits {
	if l.FreeRefusals <= 0 {
		l.FreeRefusals = 10
	}
	if l.Base <= 0 {
		l.Base = 2 * time.Second
	}
	if l.Max <= 0 {
		l.Max = 15 * time.Minute
	}
	if l.GlobalPerSecond <= 0 {
		l.GlobalPerSecond = 5
	}
	if l.GlobalBurst <= 0 {
		l.GlobalBurst = 100
	}
	if l.LogEvery <= 0 {
		l.LogEvery = time.Minute
	}
	if l.MaxAddresses <= 0 {
		l.MaxAddresses = 1 << 16
	}
	return l
}

// forgetAfter is how long an address that stopped failing is remembered
// after its last refusal or wait.
const forgetAfter = time.Hour

// enrollOutcome is what became of an admitted enrollment attempt.
type enrollOutcome int

const (
	enrollRefused  enrollOutcome = iota // a guess or a malformed request: counts
	enrollEnrolled                      // used a code or registration: clears the address
	enrollNeutral                       // a known key asking again, or a server error
)

// enrollGuard applies EnrollLimits and rate-limits the refusal log. It is
// safe for concurrent use.
type enrollGuard struct {
	lim EnrollLimits
	now func() time.Time
	log *slog.Logger

	mu        sync.Mutex
	addrs     map[netip.Prefix]*addrCount
	tokens    float64   // refusals the server may still take; below 1, everyone waits
	filled    time.Time // when tokens was last refilled
	lastPrune time.Time
	logTimer  *time.Timer

	// The current log period; zero start when none is open.
	start                   time.Time
	refused, locks          int
	waitAddress, waitServer int
	seen                    map[netip.Prefix]struct{} // addresses refused this period (bounded)
	seenSaturated           bool
}

// addrCount is one address's refusals in a row.
type addrCount struct {
	fails    int
	until    time.Time // waits until then
	last     time.Time // last refusal
	inflight int       // attempts admitted, outcome not yet known
}

func newEnrollGuard(lim EnrollLimits, now func() time.Time, log *slog.Logger) *enrollGuard {
	lim = lim.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &enrollGuard{lim: lim, now: now, log: log, addrs: map[netip.Prefix]*addrCount{},
		tokens: float64(lim.GlobalBurst), filled: now(), seen: map[netip.Prefix]struct{}{}}
}

// clientKey is the address an attempt counts against: the IP of remote
// ("host:port"), an IPv6 address by its /64, which one client usually
// holds whole.
func clientKey(remote string) netip.Prefix {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // every unparsable address is one client
	}
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// enrollTicket is an admitted attempt; pass it to done.
type enrollTicket struct{ key netip.Prefix }

// admit says whether an attempt from remote may go ahead now. When it may
// not, wait is how long to wait (whole seconds, at least one) and
// perAddress says whether the address or the whole server is waiting.
func (g *enrollGuard) admit(remote string) (t enrollTicket, wait time.Duration, perAddress, ok bool) {
	now := g.now()
	key := clientKey(remote)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refill(now)
	a := g.addrs[key]
	switch {
	case a != nil && now.Before(a.until):
		wait, perAddress = a.until.Sub(now), true
	case a != nil && a.fails >= g.lim.FreeRefusals && a.inflight > 0:
		// Once an address has had to wait, its attempts go one at a
		// time, so parallel connections cannot outrun the doubling.
		wait, perAddress = time.Second, true
	case g.tokens < 1:
		wait = time.Duration((1 - g.tokens) / g.lim.GlobalPerSecond * float64(time.Second))
	case a == nil && len(g.addrs) >= g.lim.MaxAddresses:
		if now.Sub(g.lastPrune) >= time.Second {
			g.prune(now)
		}
		if len(g.addrs) >= g.lim.MaxAddresses {
			wait = g.lim.Base
		}
	}
	if wait > 0 {
		wait = max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
		if perAddress {
			g.waitAddress++
		} else {
			g.waitServer++
		}
		g.openPeriod(now)
		return enrollTicket{}, wait, perAddress, false
	}
	if a == nil {
		a = &addrCount{}
		g.addrs[key] = a
	}
	// Genuine enrollments from one address (rooms behind one NAT,
	// installed together) may run in parallel; a burst of guesses is
	// bounded by the connection cap, and counted when it ends.
	a.inflight++
	return enrollTicket{key: key}, 0, false, true
}

// done records the outcome of an admitted attempt. A refusal is logged in
// full (with attrs) when it is the first of its log period, and counted
// otherwise.
func (g *enrollGuard) done(t enrollTicket, o enrollOutcome, attrs ...any) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.addrs[t.key]
	if a == nil { // cannot happen: an address in flight is never pruned
		return
	}
	a.inflight--
	switch o {
	case enrollRefused:
		// Refusals that were in flight together may take the bucket
		// below zero: the wait that follows is longer.
		g.tokens = max(g.tokens-1, -float64(g.lim.GlobalBurst))
		a.fails++
		a.last = now
		if n := a.fails - g.lim.FreeRefusals; n >= 0 {
			d := g.lim.Base
			for ; n > 0 && d < g.lim.Max; n-- {
				d *= 2
			}
			a.until = now.Add(min(d, g.lim.Max))
			g.locks++
		}
		first := g.start.IsZero()
		g.openPeriod(now)
		g.refused++
		if len(g.seen) < 10000 {
			g.seen[t.key] = struct{}{}
		} else {
			g.seenSaturated = true
		}
		if first {
			g.log.Info("enroll refused (further refusals are counted, logged once per period)",
				append(attrs, "remote", t.key.Addr().String(), "period", g.lim.LogEvery)...)
		}
	case enrollEnrolled:
		a.fails, a.until = 0, time.Time{}
	}
	if a.fails == 0 && a.inflight == 0 {
		delete(g.addrs, t.key)
	}
}

// refill tops the server's bucket up for the time since the last refill.
func (g *enrollGuard) refill(now time.Time) {
	if d := now.Sub(g.filled); d > 0 {
		g.tokens = min(float64(g.lim.GlobalBurst), g.tokens+d.Seconds()*g.lim.GlobalPerSecond)
		g.filled = now
	}
}

// prune forgets the addresses neither waiting, in flight nor refused in
// the last hour.
func (g *enrollGuard) prune(now time.Time) {
	g.lastPrune = now
	for k, a := range g.addrs {
		if a.inflight == 0 && now.Sub(a.last) >= forgetAfter && now.Sub(a.until) >= forgetAfter {
			delete(g.addrs, k)
		}
	}
}

// openPeriod starts a log period at now if none is open, and arranges for
// flush to run when it ends.
func (g *enrollGuard) openPeriod(now time.Time) {
	if !g.start.IsZero() {
		if now.Sub(g.start) < g.lim.LogEvery {
			return
		}
		g.flushLocked(now)
	}
	g.start = now
	if g.logTimer != nil {
		g.logTimer.Stop()
	}
	g.logTimer = time.AfterFunc(g.lim.LogEvery, func() { g.flush() })
}

// flush ends the log period if it is over, logging its counts (when there
// is more to say than its first line did).
func (g *enrollGuard) flush() {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.start.IsZero() && now.Sub(g.start) >= g.lim.LogEvery {
		g.flushLocked(now)
	}
}

func (g *enrollGuard) flushLocked(now time.Time) {
	if g.refused > 1 || g.waitAddress > 0 || g.waitServer > 0 {
		addrs := strconv.Itoa(len(g.seen))
		if g.seenSaturated {
			addrs += "+"
		}
		g.log.Warn("enrollments refused", "refused", g.refused, "addresses", addrs,
			"told_to_wait_per_address", g.waitAddress, "told_to_wait_server_busy", g.waitServer,
			"addresses_locked", g.locks, "since", g.start.UTC().Format(time.RFC3339), "period", now.Sub(g.start).Round(time.Second))
	}
	g.prune(now)
	g.start = time.Time{}
	g.refused, g.locks, g.waitAddress, g.waitServer, g.seenSaturated = 0, 0, 0, 0, false
	clear(g.seen)
}
