package ua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// pcmu is a Negotiator with a hard-coded PCMU-only SDP: enough for
// signalling tests, which never look at media.
type pcmu struct {
	host string

	mu       sync.Mutex
	offered  []Direction
	answered []string // directions of the offers it answered
	accepted int
	refuse   bool // refuse every offer and answer
}

func (p *pcmu) sdp(dir string) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %[1]s\r\ns=-\r\nc=IN IP4 %[1]s\r\nt=0 0\r\n"+
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%[2]s\r\n", p.host, dir))
}

func (p *pcmu) sdpString() string { return string(p.sdp("sendrecv")) }

func (p *pcmu) Offer(dir Direction) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offered = append(p.offered, dir)
	return p.sdp(dir.String()), nil
}

func (p *pcmu) Accept(answer []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refuse || !strings.Contains(string(answer), "m=audio") {
		return errors.New("pcmu: no audio in the answer")
	}
	p.accepted++
	return nil
}

func (p *pcmu) Answer(offer []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refuse || !offersPCMU.Match(offer) {
		return nil, errors.New("pcmu: no PCMU in the offer")
	}
	dir := "sendrecv"
	for _, d := range []string{"sendonly", "recvonly", "inactive"} {
		if strings.Contains(string(offer), "a="+d) {
			dir = d
		}
	}
	p.answered = append(p.answered, dir)
	answer := map[string]string{"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}[dir]
	return p.sdp(answer), nil
}

func (p *pcmu) answeredDirs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.answered...)
}

// offersPCMU matches an audio m-line with payload type 0 (PCMU, static:
// an rtpmap is optional).
var offersPCMU = regexp.MustCompile(`(?m)^m=audio \d+ [A-Z/]+( \d+)* 0( |\r?$)`)

// fakeClock fires AfterFunc calls when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	f    func()
	done bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves the clock by d and runs what fell due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.done && !t.at.After(c.now) {
			t.done = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		go t.f()
	}
}

// pending returns how many timers wait.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

// startUA makes and runs a UA listening on loopback UDP (and what cfg
// adds), stopped when the test ends.
func startUA(t *testing.T, cfg Config) *UA {
	t.Helper()
	if len(cfg.Listen) == 0 {
		cfg.Listen = []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}}
	}
	cfg.Version = "test"
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runUntil(u)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return u
}

// runUntil runs u until the returned stop is called; stop returns Run's
// error and closes u.
func runUntil(u *UA) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	return func() error {
		cancel()
		err := <-done
		u.Close()
		return err
	}
}

// within fails the test unless ch closes within d; it reports whether it
// did, and is safe on any goroutine.
func within(t *testing.T, ch <-chan struct{}, d time.Duration, what string) bool {
	t.Helper()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		t.Errorf("%s: nothing after %v", what, d)
		return false
	}
}

// nextDue returns how long until the earliest pending timer (0 if none).
func (c *fakeClock) nextDue() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Duration
	for _, t := range c.timers {
		if d := t.at.Sub(c.now); !t.done && (next == 0 || d < next) {
			next = d
		}
	}
	return next
}

// eventually polls cond every few milliseconds for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// listenUDP opens a loopback UDP socket closed when the test ends.
func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}
