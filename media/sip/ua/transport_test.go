package ua

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// TestLoopbackTransports: a call over TCP and over TLS, with a BYE from
// the callee back to the caller's listener.
func TestLoopbackTransports(t *testing.T) {
	cert := siptest.NewCert(t)
	listen := []Listen{{Transport: TCP, Addr: "127.0.0.1:0"}, {Transport: TLS, Addr: "127.0.0.1:0"}}
	base := Config{Listen: listen, CertFile: cert.CertFile, KeyFile: cert.KeyFile, TLSClient: &tls.Config{RootCAs: cert.Pool}}
	callee, incoming := ringingUA(t, base)
	caller := startUA(t, base)
	for _, tr := range []Transport{TCP, TLS} {
		t.Run(string(tr), func(t *testing.T) {
			to := callee.Contact(tr)
			if !strings.Contains(to, "transport="+string(tr)) || !strings.Contains(to, strings.TrimPrefix(callee.Addr(tr), "127.0.0.1")) {
				t.Errorf("contact %q does not name %s and the listening port %s", to, tr, callee.Addr(tr))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, in := callBetween(ctx, t, caller, callee, incoming, tr)
			if err := out.Hold(ctx); err != nil {
				t.Errorf("hold over %s: %v", tr, err)
			}
			if err := in.Hangup(ctx); err != nil {
				t.Errorf("callee hang up over %s: %v", tr, err)
			}
			within(t, out.Done(), 5*time.Second, "the caller's call after BYE")
		})
	}
}

// TestConfigRefused: configurations that cannot work are refused at New
// with a message that says what to fix.
func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no listen address"},
		{Config{Listen: []Listen{{Transport: "sctp", Addr: "127.0.0.1:0"}}}, "unknown transport"},
		{Config{Listen: []Listen{{Transport: TLS, Addr: "127.0.0.1:0"}}}, "needs a certificate"},
		{Config{Listen: []Listen{{Transport: TLS, Addr: "127.0.0.1:0"}}, CertFile: "/nonexistent", KeyFile: "/nonexistent"}, "load the TLS certificate"},
		{Config{Listen: []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}}, Account: &Account{AOR: "room"}}, "not a sip:user@domain"},
		{Config{Listen: []Listen{{Transport: UDP, Addr: "256.1.1.1:0"}}}, "listen on udp"},
	} {
		u, err := New(tc.cfg)
		if err == nil {
			u.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "ua: ") {
			t.Errorf("New(%+v) = %v; want an error saying %q", tc.cfg, err, tc.want)
		}
	}
}
