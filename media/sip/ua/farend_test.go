package ua

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// Tests against real far ends nobody here wrote: Debian's baresip and
// Kamailio, through internal/siptest. They fail, not skip, when the tools
// are missing under CI=true, and skip under -short.

// audioOnly is a baresip that speaks PCMU only, so the hard-coded
// offer/answer of pcmu is enough.
func audioOnly(user string, auto bool) *siptest.Options {
	return &siptest.Options{User: user, AutoAnswer: auto, NoVideo: true, AudioCodecs: []string{"PCMU/8000/1"}}
}

// TestBaresipCallsBothWays: the room calls baresip (it answers, holds and
// resumes us, and we hang up), then baresip calls the room (we accept,
// baresip hangs up and we report it).
func TestBaresipCallsBothWays(t *testing.T) {
	b := siptest.StartBaresip(t, audioOnly("bob", true))
	incoming := make(chan *IncomingCall, 1)
	u := startUA(t, Config{User: "room", Inbound: Policy{Kind: PolicyRing}, OnIncoming: func(ic *IncomingCall) { incoming <- ic }})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Room → baresip.
	neg := &pcmu{host: "127.0.0.1"}
	begin := time.Now()
	c, err := u.Dial(ctx, b.URI("udp"), neg, Handlers{})
	if err != nil {
		t.Fatalf("Dial baresip: %v\nbaresip log:\n%s", err, b.Log())
	}
	t.Logf("INVITE → 200 from baresip in %v", time.Since(begin))
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	b.Hold()
	b.Resume()
	eventually(t, 5*time.Second, "baresip's hold and resume re-INVITEs", func() bool {
		return slices.Contains(neg.answeredDirs(), "sendonly") && neg.answeredDirs()[len(neg.answeredDirs())-1] == "sendrecv"
	})
	t.Logf("directions baresip offered: %v", neg.answeredDirs())
	if err := c.Hold(ctx); err != nil {
		t.Errorf("hold baresip: %v", err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Errorf("resume baresip: %v", err)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Errorf("hang up: %v", err)
	}
	ev := b.Expect(5*time.Second, siptest.EventCallClosed)
	t.Logf("baresip closed the call: %q", ev.Param)

	// Baresip → room.
	b.Dial(u.Contact(UDP))
	var ic *IncomingCall
	select {
	case ic = <-incoming:
	case <-time.After(10 * time.Second):
		t.Fatalf("baresip's call never rang the room\nbaresip log:\n%s", b.Log())
	}
	if !strings.HasPrefix(ic.From, "sip:bob@") {
		t.Errorf("caller %q; want sip:bob@...", ic.From)
	}
	in, err := ic.Accept(ctx, &pcmu{host: "127.0.0.1"}, Handlers{})
	if err != nil {
		t.Fatalf("accept baresip's call: %v", err)
	}
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	b.Hangup()
	if !within(t, in.Done(), 5*time.Second, "the room's call after baresip hung up") {
		t.FailNow()
	}
	if e := in.End(); !e.Remote || !strings.HasPrefix(e.Reason, "the far end hung up") {
		t.Errorf("end %+v; want the far end hung up", e)
	}
}

// TestBaresipRefusesOffer: baresip with only PCMA cannot take our PCMU
// offer: the call fails as not acceptable, with the reason.
func TestBaresipRefusesOffer(t *testing.T) {
	opts := audioOnly("carol", true)
	opts.AudioCodecs = []string{"PCMA/8000/1"}
	b := siptest.StartBaresip(t, opts)
	u := startUA(t, Config{})
	_, err := u.Dial(context.Background(), b.URI("udp"), &pcmu{host: "127.0.0.1"}, Handlers{})
	if err == nil || !strings.Contains(err.Error(), "no common codec") {
		t.Errorf("Dial a PCMA-only baresip: %v; want no common codec", err)
	}
}

// TestKamailioRegistration: the room registers to Kamailio with digest
// auth and refreshes; a wrong password is Failed with the room's reason;
// after Kamailio restarts (location table lost) the room registers again;
// stopping unregisters.
func TestKamailioRegistration(t *testing.T) {
	k := siptest.StartKamailio(t, nil)
	bad := startUA(t, Config{Account: &Account{AOR: k.AOR("bob"), Registrar: k.Proxy("udp"), Password: NewSecret("not-bobs")}})

	u, err := New(Config{
		Listen:  []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}},
		Account: &Account{AOR: k.AOR("alice"), Registrar: k.Proxy("udp"), Password: NewSecret(k.Users["alice"]), Expires: 4 * time.Second},
		Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := u.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() {
		cancel()
		<-done
	}()

	begin := time.Now()
	eventually(t, 5*time.Second, "registered with kamailio", func() bool { return u.Registration().State == Registered })
	t.Logf("registered in %v", time.Since(begin))
	reg, err := k.WaitRegistered("alice", 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reg.Contact, u.Addr(UDP)) {
		t.Errorf("kamailio has contact %q; want our listening address %s", reg.Contact, u.Addr(UDP))
	}
	n := len(k.Registrations())
	if _, err := k.WaitRegistered("alice", n, 5*time.Second); err != nil {
		t.Errorf("no refresh within 5 s of a 4 s registration: %v", err)
	}

	eventually(t, 5*time.Second, "wrong password fails", func() bool { return bad.Registration().State == Failed })
	if got := bad.Registration().Reason; got != reasonBadCredentials {
		t.Errorf("wrong password reason %q; want %q", got, reasonBadCredentials)
	}

	n = len(k.Registrations())
	k.Restart()
	begin = time.Now()
	if _, err := k.WaitRegistered("alice", n, 10*time.Second); err != nil {
		t.Errorf("after a restart: %v", err)
	}
	t.Logf("registered again %v after the restart", time.Since(begin))

	n = len(k.Registrations())
	cancel()
	<-done
	eventually(t, 5*time.Second, "unregistered", func() bool {
		regs := k.Registrations()
		return len(regs) > n && slices.ContainsFunc(regs[n:], func(r siptest.Registration) bool { return r.User == "alice" && r.Unregister() })
	})
}

// TestKamailioRoutesCalls: the room registered as alice calls bob's AOR
// through the proxy (which challenges the INVITE with 407), and bob calls
// alice's AOR back to the room.
func TestKamailioRoutesCalls(t *testing.T) {
	k := siptest.StartKamailio(t, &siptest.KamailioOptions{AuthCalls: true})
	bopts := audioOnly("bob", true)
	bopts.Account = &siptest.Account{User: "bob", Password: k.Users["bob"], Domain: k.Domain}
	b := siptest.StartBaresip(t, bopts)
	b.Expect(5*time.Second, siptest.EventRegisterOK)

	incoming := make(chan *IncomingCall, 1)
	u := startUA(t, Config{
		Account:    &Account{AOR: k.AOR("alice"), Registrar: k.Proxy("udp"), Password: NewSecret(k.Users["alice"])},
		Inbound:    AllowList(k.AOR("bob")),
		OnIncoming: func(ic *IncomingCall) { incoming <- ic },
	})
	eventually(t, 5*time.Second, "registered", func() bool { return u.Registration().State == Registered })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := u.Dial(ctx, k.AOR("bob"), &pcmu{host: "127.0.0.1"}, Handlers{})
	if err != nil {
		t.Fatalf("Dial bob through kamailio: %v\nkamailio log:\n%s", err, k.Log())
	}
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	if !strings.Contains(k.Log(), "challenged INVITE user=alice") {
		t.Error("kamailio never challenged the room's INVITE")
	}
	if err := c.Hangup(ctx); err != nil {
		t.Errorf("hang up: %v", err)
	}
	b.Expect(5*time.Second, siptest.EventCallClosed)

	b.Dial(k.AOR("alice"))
	var ic *IncomingCall
	select {
	case ic = <-incoming:
	case <-time.After(10 * time.Second):
		t.Fatalf("bob's call never reached the room\nkamailio log:\n%s", k.Log())
	}
	if !ic.AllowListed {
		t.Error("bob is on the allow list but the call says otherwise")
	}
	in, err := ic.Accept(ctx, &pcmu{host: "127.0.0.1"}, Handlers{})
	if err != nil {
		t.Fatalf("accept bob's call: %v", err)
	}
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	if err := in.Hangup(ctx); err != nil {
		t.Errorf("hang up bob's call: %v", err)
	}
	b.Expect(5*time.Second, siptest.EventCallClosed)
}

// TestKamailioTLS: the room registers over TLS (sips:) and calls an agent
// registered over UDP through the proxy.
func TestKamailioTLS(t *testing.T) {
	cert := siptest.NewCert(t)
	k := siptest.StartKamailio(t, &siptest.KamailioOptions{TLS: cert})
	bopts := audioOnly("bob", true)
	bopts.Account = &siptest.Account{User: "bob", Password: k.Users["bob"], Domain: k.Domain}
	b := siptest.StartBaresip(t, bopts)
	b.Expect(5*time.Second, siptest.EventRegisterOK)

	u := startUA(t, Config{
		Listen:    []Listen{{Transport: TLS, Addr: "127.0.0.1:0"}},
		CertFile:  cert.CertFile,
		KeyFile:   cert.KeyFile,
		TLSClient: &tls.Config{RootCAs: cert.Pool},
		Account:   &Account{AOR: k.AOR("alice"), Registrar: k.Proxy("tls"), Password: NewSecret(k.Users["alice"])},
	})
	eventually(t, 5*time.Second, "registered over TLS", func() bool { return u.Registration().State == Registered })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := u.Dial(ctx, k.AOR("bob"), &pcmu{host: "127.0.0.1"}, Handlers{})
	if err != nil {
		t.Fatalf("Dial bob over TLS: %v\nkamailio log:\n%s", err, k.Log())
	}
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	if relayed := k.Relayed(); len(relayed) == 0 || !strings.Contains(relayed[len(relayed)-1], "in=tls") {
		t.Errorf("kamailio relayed %q; want our INVITE in over TLS", relayed)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Errorf("hang up: %v", err)
	}
	b.Expect(5*time.Second, siptest.EventCallClosed)
}

// TestSippFlood: sipp floods the room with INVITEs carrying SDP at 200
// calls/s over UDP and TCP; the room rate-limits them, answers none with
// 200 (no call starts by itself), and still answers afterwards.
func TestSippFlood(t *testing.T) {
	var rang atomic.Int32
	u := startUA(t, Config{
		Listen:     []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}, {Transport: TCP, Addr: "127.0.0.1:0"}},
		Inbound:    Policy{Kind: PolicyRing},
		OnIncoming: func(*IncomingCall) { rang.Add(1) }, // nobody in the room answers
	})
	for _, tr := range []Transport{UDP, TCP} {
		res := siptest.RunSipp(t, siptest.SippRun{Target: u.Addr(tr), Transport: string(tr), Service: "room",
			Calls: 200, Rate: 200, Timeout: 3 * time.Second})
		t.Logf("sipp over %s: %d calls successful, %d failed in %v (exit %d)", tr, res.Successful(), res.Failed(), res.Duration, res.ExitCode)
		if res.Successful() != 0 {
			t.Errorf("sipp over %s: %d calls were answered; want none", tr, res.Successful())
		}
	}
	if n := rang.Load(); n != 1 {
		t.Errorf("the room rang %d times; want 1 (one call at a time, the rest busy or rate-limited)", n)
	}
	ping := rawRequest("OPTIONS", siptest.LocalAddrMark, u.Contact(UDP), 1, "", "")
	got, err := siptest.SendRaw("udp", u.Addr(UDP), []byte(ping), 2*time.Second)
	if err != nil || !strings.HasPrefix(string(got), "SIP/2.0 200") {
		t.Errorf("after the flood OPTIONS got %q, %v; want 200", got, err)
	}
}

// TestLinphoneCallsBothWays: a second independent SIP stack, linphonec:
// the room calls it and hangs up, then it calls the room and hangs up.
func TestLinphoneCallsBothWays(t *testing.T) {
	lp := siptest.StartLinphone(t, &siptest.LinphoneOptions{User: "carol", AutoAnswer: true, AudioCodecs: []string{"PCMU/8000"}})
	incoming := make(chan *IncomingCall, 1)
	u := startUA(t, Config{Inbound: Policy{Kind: PolicyRing}, OnIncoming: func(ic *IncomingCall) { incoming <- ic }})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := u.Dial(ctx, lp.URI(), &pcmu{host: "127.0.0.1"}, Handlers{})
	if err != nil {
		t.Fatalf("Dial linphonec: %v\nlinphonec log:\n%s", err, lp.Log())
	}
	if which, m := lp.WaitLine(10*time.Second, siptest.LinphoneConnected, siptest.LinphoneEnded); which != 0 {
		t.Fatalf("linphonec did not connect: %q", m)
	}
	if err := c.Hold(ctx); err != nil {
		t.Errorf("hold linphonec: %v", err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Errorf("resume linphonec: %v", err)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Errorf("hang up: %v", err)
	}
	lp.WaitLine(5*time.Second, siptest.LinphoneEnded)

	lp.Call(u.Contact(UDP))
	var ic *IncomingCall
	select {
	case ic = <-incoming:
	case <-time.After(10 * time.Second):
		t.Fatalf("linphonec's call never rang the room\nlinphonec log:\n%s", lp.Log())
	}
	in, err := ic.Accept(ctx, &pcmu{host: "127.0.0.1"}, Handlers{})
	if err != nil {
		t.Fatalf("accept linphonec's call: %v", err)
	}
	if which, m := lp.WaitLine(10*time.Second, siptest.LinphoneConnected, siptest.LinphoneEnded); which != 0 {
		t.Fatalf("linphonec's call did not connect: %q", m)
	}
	lp.Terminate()
	if !within(t, in.Done(), 5*time.Second, "the room's call after linphonec hung up") {
		t.FailNow()
	}
	if e := in.End(); !e.Remote {
		t.Errorf("end %+v; want the far end hung up", e)
	}
}
