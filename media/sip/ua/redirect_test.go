package ua

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/roomd/roomd/media/call/provider"
)

// redirector answers every INVITE with 302 to where (a stand-in for a
// redirect server: only the caller's side of 3xx is under test).
func redirector(t *testing.T, where func(self string) string) (addr string, hits *atomic.Int32) {
	t.Helper()
	hits = new(atomic.Int32)
	sua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sua.Close() })
	srv, err := sipgo.NewServer(sua)
	if err != nil {
		t.Fatal(err)
	}
	pc := listenUDP(t)
	addr = pc.LocalAddr().String()
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		hits.Add(1)
		res := sip.NewResponseFromRequest(req, 302, "Moved Temporarily", nil)
		res.AppendHeader(sip.NewHeader("Contact", "<"+where(addr)+">"))
		tx.Respond(res)
	})
	go srv.ServeUDP(pc)
	return addr, hits
}

// TestRedirect: a 302 is followed to its Contact; a redirect loop stops
// after MaxRedirects with a reason.
func TestRedirect(t *testing.T) {
	callee, incoming := ringingUA(t, Config{})
	caller := startUA(t, Config{MaxRedirects: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	moved, _ := redirector(t, func(string) string { return callee.Contact(UDP) })
	go func() {
		if ic := nextIncoming(t, incoming); ic != nil {
			ic.Decline(false)
		}
	}()
	_, err := caller.Dial(ctx, "sip:room@"+moved, &pcmu{host: "127.0.0.1"}, Handlers{})
	if !errors.Is(err, ErrDeclined) {
		t.Errorf("Dial through a redirect: %v; want the callee's 603", err)
	}

	loop, hits := redirector(t, func(self string) string { return "sip:room@" + self })
	_, err = caller.Dial(ctx, "sip:room@"+loop, &pcmu{host: "127.0.0.1"}, Handlers{})
	var ce *CallError
	if !errors.As(err, &ce) || ce.Code != 302 || !errors.Is(Classify(err), provider.ErrRefused) {
		t.Errorf("Dial into a redirect loop: %v; want a refused 302", err)
	}
	if hits.Load() != 3 {
		t.Errorf("the loop was followed %d times; want 3 (the call and 2 redirects)", hits.Load())
	}
}
