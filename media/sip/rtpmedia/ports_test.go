package rtpmedia

import (
	"errors"
	"net"
	"testing"
)

// freePairRange finds two adjacent free even/odd port pairs on loopback
// and returns them as a range of four ports.
func freePairRange(t *testing.T) PortRange {
	t.Helper()
	for range 50 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		first := p - p%2
		if first < 1024 || first+3 > 65535 {
			continue
		}
		free := true
		for q := first; q <= first+3; q++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: q})
			if err != nil {
				free = false
				break
			}
			c.Close()
		}
		if free {
			return PortRange{First: first, Last: first + 3}
		}
	}
	t.Fatal("no four free adjacent UDP ports on loopback")
	return PortRange{}
}

// TestListenPortRange: in a range of two pairs whose first is taken,
// Listen binds the second (even RTP, RTCP above it); with both taken it
// fails with ErrPortsExhausted.
func TestListenPortRange(t *testing.T) {
	ip := net.IPv4(127, 0, 0, 1)
	r := freePairRange(t)
	taken, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: r.First})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for range 5 { // the start is random: each time the free pair
		s, err := Listen(ip, Audio, Options{Ports: r})
		if err != nil {
			t.Fatalf("Listen in %v with %d taken: %v", r, r.First, err)
		}
		rtpPort, rtcpPort := s.RTPAddr().Port, s.rtcp.LocalAddr().(*net.UDPAddr).Port
		s.Close()
		if rtpPort != r.First+2 || rtcpPort != r.First+3 {
			t.Fatalf("Listen in %v with %d taken bound %d/%d; want %d/%d", r, r.First, rtpPort, rtcpPort, r.First+2, r.First+3)
		}
	}
	s, err := Listen(ip, Video, Options{Ports: r})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Listen(ip, Audio, Options{Ports: r}); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("Listen in a full range %v: err = %v; want ErrPortsExhausted", r, err)
	}
	if _, err := Listen(ip, Audio, Options{Ports: PortRange{First: 20001, Last: 20001}}); err == nil {
		t.Error("Listen in a range with no even/odd pair succeeded")
	}
}
