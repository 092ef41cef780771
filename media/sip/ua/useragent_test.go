package ua

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestUserAgentHeader: every request the room sends in a call (INVITE,
// ACK, re-INVITE, INFO, BYE) says User-Agent: roomd/<version>, and its
// Contact names the real listening address. The far end is a bare sipgo
// dialog server that records what it gets.
func TestUserAgentHeader(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // method → User-Agent
	var contact string
	record := func(req *sip.Request) {
		mu.Lock()
		defer mu.Unlock()
		got[string(req.Method)] = "(none)"
		if h := req.GetHeader("User-Agent"); h != nil {
			got[string(req.Method)] = h.Value()
		}
		if req.IsInvite() && contact == "" {
			contact = req.Contact().Address.HostPort()
		}
	}
	sua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer sua.Close()
	srv, _ := sipgo.NewServer(sua)
	cli, _ := sipgo.NewClient(sua)
	pc := listenUDP(t)
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	p, _ := strconv.Atoi(port)
	dialogs := sipgo.NewDialogServerCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "far", Host: "127.0.0.1", Port: p}})
	answer := (&pcmu{host: "127.0.0.1"}).sdp("sendrecv")
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		record(req)
		if _, inDialog := req.To().Params.Get("tag"); inDialog {
			tx.Respond(sip.NewSDPResponseFromRequest(req, answer))
			return
		}
		d, err := dialogs.ReadInvite(req, tx)
		if err != nil {
			t.Errorf("far end: %v", err)
			return
		}
		d.RespondSDP(answer)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		record(req)
		dialogs.ReadAck(req, tx)
	})
	srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
		record(req)
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		record(req)
		dialogs.ReadBye(req, tx)
	})
	go srv.ServeUDP(pc)

	u := startUA(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := u.Dial(ctx, "sip:far@"+pc.LocalAddr().String(), &pcmu{host: "127.0.0.1"}, Handlers{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.SendFastUpdate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range []string{"INVITE", "ACK", "INFO", "BYE"} {
		if got[m] != "roomd/test" {
			t.Errorf("%s User-Agent %q; want roomd/test", m, got[m])
		}
	}
	if contact != u.Addr(UDP) {
		t.Errorf("INVITE Contact %s; want the listening address %s", contact, u.Addr(UDP))
	}
}
