package siptest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

func kamailioAccount(k *siptest.Kamailio, user, password string) *siptest.Account {
	return &siptest.Account{User: user, Password: password, Domain: k.Domain, RegInt: 4 * time.Second}
}

// Baresip registers with the right password; with a wrong one the registrar
// refuses it and baresip's event says why. After a restart, which empties
// the location table, the agent registers again.
func TestKamailioRegistrationAuthAndRestart(t *testing.T) {
	begin := time.Now()
	k := siptest.StartKamailio(t, nil)
	t.Logf("kamailio up in %v on %s", time.Since(begin), k.Domain)

	good := siptest.StartBaresip(t, &siptest.Options{Account: kamailioAccount(k, "alice", "alice-secret"), NoVideo: true})
	if ev := good.Expect(5*time.Second, siptest.EventRegisterOK, siptest.EventRegisterFail); ev.Type != siptest.EventRegisterOK {
		t.Fatalf("registration with the right password: %v", ev)
	}
	if _, err := k.WaitRegistered("alice", 0, time.Second); err != nil {
		t.Error(err)
	}

	bad := siptest.StartBaresip(t, &siptest.Options{Account: kamailioAccount(k, "bob", "not-bobs-password"), NoVideo: true})
	ev := bad.Expect(5*time.Second, siptest.EventRegisterOK, siptest.EventRegisterFail)
	if ev.Type != siptest.EventRegisterFail || !strings.Contains(ev.Param, "401") && !strings.Contains(ev.Param, "403") {
		t.Errorf("registration with a wrong password: %v; want REGISTER_FAIL with 401/403", ev)
	}
	t.Logf("wrong password: %v", ev)
	for _, r := range k.Registrations() {
		if r.User == "bob" && r.OK {
			t.Errorf("kamailio accepted bob with a wrong password: %+v", r)
		}
	}

	n := len(k.Registrations())
	begin = time.Now()
	k.Restart()
	t.Logf("kamailio restarted in %v", time.Since(begin))
	if _, err := k.WaitRegistered("alice", n, 10*time.Second); err != nil {
		t.Errorf("after the restart: %v", err)
	}
}

// Two baresips registered with Kamailio call each other through it over
// each transport; the proxy challenges the INVITE (407) and the caller
// answers the challenge, as with a real PBX.
func TestKamailioRoutesCallsBetweenRegisteredAgents(t *testing.T) {
	cert := siptest.NewCert(t)
	k := siptest.StartKamailio(t, &siptest.KamailioOptions{TLS: cert, AuthCalls: true})
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			domain := k.Domain
			if transport == "tls" {
				domain = fmt.Sprintf("127.0.0.1:%d", k.TLSPort)
			}
			agent := func(user string, auto bool) *siptest.Baresip {
				acc := kamailioAccount(k, user, k.Users[user])
				acc.Domain, acc.Transport = domain, transport
				b := siptest.StartBaresip(t, &siptest.Options{Account: acc, AutoAnswer: auto, TLS: cert})
				if ev := b.Expect(5*time.Second, siptest.EventRegisterOK, siptest.EventRegisterFail); ev.Type != siptest.EventRegisterOK {
					t.Fatalf("%s over %s: %v", user, transport, ev)
				}
				return b
			}
			bob := agent("bob", true)
			alice := agent("alice", false)
			alice.Dial(bob.AOR())
			establish(t, alice, bob)
			img, err := bob.ReceivedFrame(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := siptest.CheckBars(img); err != nil {
				t.Error(err)
			}
			bob.Hangup()
			alice.Expect(5*time.Second, siptest.EventCallClosed)
			relayed := k.Relayed()
			if len(relayed) == 0 || !strings.Contains(relayed[len(relayed)-1], "from=alice to=bob in="+transport) {
				t.Errorf("kamailio relayed %q; want alice's INVITE to bob over %s", relayed, transport)
			}
			if !strings.Contains(k.Log(), "challenged INVITE user=alice") {
				t.Error("kamailio never challenged alice's INVITE")
			}
		})
	}
}
