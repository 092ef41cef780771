//go:build linux

package netns

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

func TestParseDropped(t *testing.T) {
	out := "qdisc tbf 8001: root refcnt 2 rate 300Kbit burst 10000b lat 400ms \n Sent 39812 bytes 61 pkt (dropped 17, overlimits 40 requeues 0) \n backlog 0b 0p requeues 0\n"
	if n, err := parseDropped(out); err != nil || n != 17 {
		t.Errorf("parseDropped = %d, %v; want 17", n, err)
	}
	if _, err := parseDropped("qdisc noqueue 0: root refcnt 2\n"); err == nil {
		t.Error("parseDropped of output without statistics: no error")
	}
}

// A Link caps what the test's side sends: a 1 Mbit/s UDP stream for 2 s
// through a 300 kbit/s tbf leaves at about the cap, and the cap drops the
// rest. A datagram the namespace sends back is captured.
func TestLinkCapsHostEgress(t *testing.T) {
	l := New(t)
	const rate = 300_000
	if err := l.LimitHostEgress(Shape{Rate: rate, Burst: 10_000, Latency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var fromPeer atomic.Int32
	l.CaptureFromPeer(t, func(p UDPPacket) {
		if p.Src.Addr() == l.PeerAddr && string(p.Payload) == "hello\n" {
			fromPeer.Add(1)
		}
	})

	c, err := net.Dial("udp4", net.JoinHostPort(l.PeerAddr.String(), "9"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before, err := l.HostCounters()
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1200)
	began := time.Now()
	for sent := 0; time.Since(began) < 2*time.Second; sent++ {
		// 1 Mbit/s: one 1200-byte datagram every 9.6 ms.
		time.Sleep(time.Until(began.Add(time.Duration(sent) * 9600 * time.Microsecond)))
		_, _ = c.Write(payload) // the peer's port unreachable errors do not matter
	}
	after, err := l.HostCounters()
	if err != nil {
		t.Fatal(err)
	}
	got := float64(after.TxBytes-before.TxBytes) * 8 / time.Since(began).Seconds()
	t.Logf("1 Mbit/s offered: %.0f kbit/s through the cap, %d packets dropped", got/1000, after.Dropped-before.Dropped)
	if got > 1.2*rate || got < 0.5*rate {
		t.Errorf("%.0f kbit/s left through a %d kbit/s cap", got/1000, rate/1000)
	}
	if after.Dropped == before.Dropped {
		t.Error("the cap dropped nothing of three times its rate")
	}

	cmd := exec.Command(l.Command()[0], append(l.Command()[1:], "bash", "-c", fmt.Sprintf("echo hello > /dev/udp/%s/9", l.HostAddr))...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sending from the namespace: %v: %s", err, strings.TrimSpace(string(out)))
	}
	deadline := time.Now().Add(2 * time.Second)
	for fromPeer.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the datagram from the namespace was not captured")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without root or iproute2 the test fails under CI=true, where it must
// run, and skips elsewhere.
func TestUnavailableFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	msg := testtool.FatalMessage(t, func(tb testing.TB) { unavailable(tb, "no root") })
	if !strings.Contains(msg, "no root") || !strings.Contains(msg, "CI must run this test as root") {
		t.Errorf("under CI=true: %q; want a failure that names the reason and CI", msg)
	}
}
