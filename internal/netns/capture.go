//go:build linux

package netns

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// UDPPacket is one IPv4 UDP datagram seen on the host end.
type UDPPacket struct {
	Src, Dst netip.AddrPort
	Payload  []byte
}

// CaptureFromPeer hands f every IPv4 UDP datagram that arrives at the host
// end from the peer (an AF_PACKET socket on HostIf), from now until t's
// cleanup. f runs on one goroutine of its own.
func (l *Link) CaptureFromPeer(t testing.TB, f func(UDPPacket)) {
	t.Helper()
	ifi, err := netInterfaceIndex(l.HostIf)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
	if err != nil {
		t.Fatalf("netns: capture socket: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi}); err != nil {
		unix.Close(fd)
		t.Fatalf("netns: capture on %s: %v", l.HostIf, err)
	}
	// A short receive timeout lets the loop see the stop flag.
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		t.Fatalf("netns: capture timeout: %v", err)
	}
	var (
		mu   sync.Mutex
		stop bool
		wg   sync.WaitGroup
	)
	stopped := func() bool { mu.Lock(); defer mu.Unlock(); return stop }
	wg.Go(func() {
		defer unix.Close(fd)
		buf := make([]byte, 65536)
		for !stopped() {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Pkttype != unix.PACKET_HOST {
				continue
			}
			if p, ok := parseUDP4(buf[:n]); ok {
				f(p)
			}
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		stop = true
		mu.Unlock()
		wg.Wait()
	})
}

// parseUDP4 reads an IPv4 packet carrying an unfragmented UDP datagram.
func parseUDP4(b []byte) (UDPPacket, bool) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_UDP {
		return UDPPacket{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if frag := binary.BigEndian.Uint16(b[6:]); frag&0x3fff != 0 || total > len(b) || ihl+8 > total {
		return UDPPacket{}, false
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	u := b[ihl:total]
	return UDPPacket{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:])),
		Payload: append([]byte(nil), u[8:]...),
	}, true
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func netInterfaceIndex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
