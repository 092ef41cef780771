package janustest_test

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/janustest"
)

func TestStartServesRoomsAndRestarts(t *testing.T) {
	begin := time.Now()
	s := janustest.Start(t, nil)
	t.Logf("janus up in %v at %s (media %s)", time.Since(begin), s.URL, s.MediaIP)

	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if h := u.Hostname(); h != "127.0.0.1" {
		t.Errorf("WebSocket API on %s, want loopback", h)
	}
	if s.MediaIP.IsLoopback() {
		t.Errorf("MediaIP %s is loopback; Janus gathers no loopback candidates", s.MediaIP)
	}
	for _, room := range []uint64{janustest.PINRoom, janustest.OpenRoom} {
		p, err := s.Participants(room)
		if err != nil {
			t.Fatalf("room %d: %v", room, err)
		}
		if len(p) != 0 {
			t.Errorf("room %d has participants before anyone joined: %v", room, p)
		}
	}
	if _, err := s.Participants(janustest.MissingRoom); err == nil || !strings.Contains(err.Error(), "426") {
		t.Errorf("listing a missing room: got %v, want Janus error 426", err)
	}

	// Only the plugins and transports the tests need are configured.
	cfg, err := os.ReadFile(s.Dir() + "/janus.plugin.videoroom.jcfg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `pin = "`+janustest.PIN+`"`) || strings.Contains(string(cfg), "bitrate = 128000") {
		t.Errorf("videoroom config lacks the PIN room or has the demo cap:\n%s", cfg)
	}
	plugins, err := os.ReadDir(s.Dir() + "/plugins")
	if err != nil || len(plugins) != 1 {
		t.Errorf("plugins folder: %v, %v; want only the VideoRoom plugin", plugins, err)
	}

	s.Restart()
	if _, err := s.Participants(janustest.PINRoom); err != nil {
		t.Fatalf("after restart: %v", err)
	}

	s.Stop()
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("WebSocket port %s still answers after Stop", u.Host)
	}
	s.Stop() // idempotent
}

func TestMediaAddrIsNotLoopback(t *testing.T) {
	ip, err := janustest.MediaAddr()
	if err != nil {
		t.Fatal(err)
	}
	if ip.IsLoopback() || ip.To4() == nil {
		t.Errorf("MediaAddr() = %s, want a non-loopback IPv4 address", ip)
	}
}
