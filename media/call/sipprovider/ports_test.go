package sipprovider

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// TestRTPPortsFull: with every port of sip.rtp_ports in use, a call is
// refused before any INVITE, with a reason that says what to do.
func TestRTPPortsFull(t *testing.T) {
	ip := net.IPv4(127, 0, 0, 1)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	first := c.LocalAddr().(*net.UDPAddr).Port &^ 1
	c.Close()
	ports := rtpmedia.PortRange{First: first, Last: first + 3}
	// A port this test cannot bind is in use already: the range is full
	// either way.
	for p := ports.First; p <= ports.Last; p++ {
		if c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: p}); err == nil {
			defer c.Close()
		}
	}
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred, MediaAddress: netip.MustParseAddr("127.0.0.1"), RTPPorts: ports}, ua.Config{})
	g.join("sip:bob@127.0.0.1:9;transport=udp")
	r := g.wait(t, room.Failed, 10*time.Second)
	if !strings.Contains(r.Reason, "sip.rtp_ports") {
		t.Errorf("refused with %q; want the reason naming sip.rtp_ports", r.Reason)
	}
}
