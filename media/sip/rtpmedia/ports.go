package rtpmedia

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"syscall"
)

// ErrPortsExhausted means every RTP/RTCP port pair of Options.Ports is in
// use.
var ErrPortsExhausted = errors.New("rtpmedia: every RTP port pair in the range is in use; end other calls or widen sip.rtp_ports")

// PortRange is the UDP ports a stream may bind, First to Last inclusive:
// RTP on an even port, RTCP on the odd one above it. The zero value lets
// the system choose.
type PortRange struct {
	First, Last int
}

// IsZero reports whether r leaves the choice to the system.
func (r PortRange) IsZero() bool { return r.First == 0 && r.Last == 0 }

// String is the range as written in roomd's config, "16384-32767".
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// pairs is the number of even/odd pairs in r.
func (r PortRange) pairs() int {
	first := r.First + r.First%2
	if r.Last < first+1 {
		return 0
	}
	return (r.Last - first + 1) / 2
}

// listenPair binds an even port and the odd one above it, inside ports
// unless it is zero.
func listenPair(ip net.IP, ports PortRange) (*net.UDPConn, *net.UDPConn, error) {
	if ports.IsZero() {
		return listenAnyPair(ip)
	}
	n := ports.pairs()
	if n == 0 {
		return nil, nil, fmt.Errorf("rtpmedia: port range %v holds no even/odd pair; use one such as 16384-32767", ports)
	}
	first := ports.First + ports.First%2
	start := rand.IntN(n)
	for i := range n {
		port := first + 2*((start+i)%n)
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("rtpmedia: cannot open RTP port %d on %v: %w", port, ip, err)
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
		if err != nil {
			a.Close()
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, nil, fmt.Errorf("rtpmedia: cannot open RTCP port %d on %v: %w", port+1, ip, err)
		}
		return a, b, nil
	}
	return nil, nil, fmt.Errorf("%w (%v on %v)", ErrPortsExhausted, ports, ip)
}

// listenAnyPair binds an even port the system chooses and the odd one
// above it.
func listenAnyPair(ip net.IP) (*net.UDPConn, *net.UDPConn, error) {
	var lastErr error
	for range 50 {
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return nil, nil, fmt.Errorf("rtpmedia: cannot open an RTP port on %v: %w", ip, err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
		if err != nil {
			a.Close()
			lastErr = err
			continue
		}
		return a, b, nil
	}
	return nil, nil, fmt.Errorf("rtpmedia: no free even/odd port pair on %v; free some UDP ports: %w", ip, lastErr)
}
