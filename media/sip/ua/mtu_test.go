package ua

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// bigOffer is a pcmu whose offers carry padding attributes past RFC 3261
// 18.1.1's 1300 bytes, as roomd's audio+video offer with keys does.
type bigOffer struct{ pcmu }

func (b *bigOffer) Offer(dir Direction) ([]byte, error) {
	o, err := b.pcmu.Offer(dir)
	return append(o, []byte(strings.Repeat("a=x-padding:0123456789abcdef0123456789abcdef\r\n", 60))...), err
}

// TestLargeInvite: an offer of about 3 kB reaches a callee that listens
// on UDP only (TCP refused, the INVITE falls back to one UDP datagram)
// and one that listens on both (the INVITE goes over TCP), when the
// address names no transport; with transport=udp it goes over UDP.
func TestLargeInvite(t *testing.T) {
	caller := startUA(t, Config{Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}}})
	udpOnly, udpCalls := ringingUA(t, Config{})
	both, bothCalls := ringingUA(t, Config{Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}}})
	for _, tc := range []struct {
		name   string
		callee *UA
		calls  chan *IncomingCall
		target string
		want   string // the transport in the callee's Via
	}{
		{"udp only, no transport named", udpOnly, udpCalls, "sip:room@" + udpOnly.Addr(UDP), "UDP"},
		{"tcp too, no transport named", both, bothCalls, "sip:room@" + both.Addr(TCP), "TCP"},
		{"transport=udp named", both, bothCalls, "sip:room@" + both.Addr(UDP) + ";transport=udp", "UDP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			type accepted struct {
				via   string
				offer int
				in    *Call
				err   error
			}
			got := make(chan accepted, 1)
			go func() {
				var r accepted
				defer func() { got <- r }()
				ic := nextIncoming(t, tc.calls)
				if ic == nil {
					return
				}
				r.via, r.offer = ic.req.Via().Transport, len(ic.Offer)
				r.in, r.err = ic.Accept(ctx, &pcmu{host: "127.0.0.1"}, Handlers{})
			}()
			out, err := caller.Dial(ctx, tc.target, &bigOffer{pcmu{host: "127.0.0.1"}}, Handlers{})
			r := <-got
			if err != nil {
				t.Fatalf("Dial %s with a large offer: %v", tc.target, err)
			}
			if r.err != nil {
				t.Errorf("Accept: %v", r.err)
			}
			if r.via != tc.want {
				t.Errorf("the INVITE came over %q; want %s", r.via, tc.want)
			}
			if r.offer < 2*udpCongestionLimit {
				t.Errorf("the callee got an offer of %d bytes; want the whole padded offer", r.offer)
			}
			if err := out.Hangup(ctx); err != nil {
				t.Errorf("Hangup: %v", err)
			}
			if r.in != nil {
				within(t, r.in.Done(), 5*time.Second, "the callee's call after BYE") // one call at a time
			}
		})
	}
}

// TestLargeInviteToNobody: a large INVITE to an address where nothing
// listens, over TCP or UDP (a far end that died), fails at once as
// unreachable instead of waiting out Timer B over UDP.
func TestLargeInviteToNobody(t *testing.T) {
	caller := startUA(t, Config{Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}}})
	// A port that was just free on both transports.
	gone, _ := ringingUA(t, Config{Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}}})
	target := "sip:room@" + gone.Addr(UDP)
	gone.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := caller.Dial(ctx, target, &bigOffer{pcmu{host: "127.0.0.1"}}, Handlers{})
	took := time.Since(start)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Dial %s (nobody there): %v; want ErrUnreachable", target, err)
	}
	if took > 3*time.Second {
		t.Errorf("unreachable after %v; want it within a second or so", took)
	}
}
