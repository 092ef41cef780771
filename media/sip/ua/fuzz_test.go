package ua

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzIncoming sends arbitrary bytes to a running agent over real UDP,
// then checks it still answers OPTIONS: no input may crash or wedge it.
// Seeds are the requests of the other tests.
func FuzzIncoming(f *testing.F) {
	la, to := "127.0.0.1:5999", "sip:room@127.0.0.1"
	sdp := (&pcmu{host: "127.0.0.1"}).sdpString()
	for _, seed := range []string{
		rawRequest("INVITE", la, to, 1, "", sdp),
		rawRequest("INVITE", la, to, 2, "Session-Expires: 30\r\n", sdp),
		rawRequest("OPTIONS", la, to, 3, "", ""),
		strings.Replace(rawRequest("BYE", la, to, 4, "", ""), "To: <"+to+">", "To: <"+to+">;tag=x", 1),
		strings.Replace(rawRequest("INFO", la, to, 5, "", fastUpdateXML), "application/sdp", mediaControlType, 1),
		strings.Replace(rawRequest("INFO", la, to, 6, "", "Signal=5\r\nDuration=100\r\n"), "application/sdp", "application/dtmf-relay", 1),
		rawRequest("CANCEL", la, to, 7, "", ""),
		rawRequest("ACK", la, to, 8, "", ""),
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\n\r\n",
		"INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\n",
		"\r\n\r\n", "\x00\x01\x02", "",
	} {
		f.Add([]byte(seed))
	}
	u, stop := fuzzUA(f)
	defer func() { _ = stop() }()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	ra, _ := net.ResolveUDPAddr("udp", u.Addr(UDP))
	probe := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 60000 {
			return
		}
		if _, err := c.WriteTo(data, ra); err != nil {
			t.Fatal(err)
		}
		probe++
		ping := rawRequest("OPTIONS", c.LocalAddr().String(), u.Contact(UDP), 1_000_000+probe, "", "")
		if _, err := c.WriteTo([]byte(ping), ra); err != nil {
			t.Fatal(err)
		}
		want := "Call-ID: raw-" + strconv.Itoa(1_000_000+probe) + "@test"
		buf := make([]byte, 65536)
		deadline := time.Now().Add(3 * time.Second)
		for {
			c.SetReadDeadline(deadline)
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no answer to OPTIONS after %q: %v", data, err)
			}
			if strings.Contains(string(buf[:n]), want) {
				return
			}
		}
	})
}

// fuzzUA runs an agent that rings and declines, for the fuzz target.
func fuzzUA(f *testing.F) (*UA, func() error) {
	u, err := New(Config{
		Listen:     []Listen{{Transport: UDP, Addr: "127.0.0.1:0"}},
		Inbound:    Policy{Kind: PolicyRing},
		OnIncoming: func(ic *IncomingCall) { go ic.Decline(false) },
		Limits:     Limits{PerSource: 1000, Total: 1000, Burst: 1000},
	})
	if err != nil {
		f.Fatal(err)
	}
	stop := runUntil(u)
	return u, stop
}
