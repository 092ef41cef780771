//go:build linux

package sipprovider

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/roomd/roomd/internal/netns"
	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// linkCap is the bottleneck of TestRateSettlesUnderCapFromRTCP: 300 kbit/s
// from the room to the far end. The bucket (10 kB, a third of a second at
// the cap) and the queue (400 ms) are those of a small office's DSL or
// cable uplink; with a shorter queue a key frame at the cap never fits.
var linkCap = netns.Shape{Rate: 300_000, Burst: 10_000, Latency: 400 * time.Millisecond}

// capRun is how long the call runs over the capped link, and the final
// window the settled figures come from.
const (
	capRun    = 24 * time.Second
	capWindow = 8 * time.Second
)

// TestRateSettlesUnderCapFromRTCP: the room calls a real baresip in another
// network namespace over a veth pair whose room → far end direction is
// capped at 300 kbit/s by tc tbf. The room's encoder starts at 1 Mbit/s
// (the transport's default start), three times the cap; baresip sends
// plain RTCP receiver reports (counted here from the wire: baresip 1.0.0
// sends no REMB and no TMMBR, so the rate can only come down from the
// reports' fraction lost, the loss-based controller of rtpmedia). The
// test checks that the encoder's target settles at or under the cap with
// room for the audio, that the link stops dropping (the room no longer
// sends more than fits), and that baresip still decodes the room's
// picture.
func TestRateSettlesUnderCapFromRTCP(t *testing.T) {
	testtool.SkipInShortMode(t, "baresip in a network namespace")
	link := netns.New(t)
	if err := link.LimitHostEgress(linkCap); err != nil {
		t.Fatal(err)
	}
	var fb feedbackCount
	link.CaptureFromPeer(t, fb.add)
	b := siptest.StartBaresip(t, &siptest.Options{User: "far", AutoAnswer: true, Wrapper: link.Command(), Addr: link.PeerAddr.String()})
	host := net.JoinHostPort(link.HostAddr.String(), "0")
	g := newRig(t, Config{Encryption: sdp.EncryptionOff}, ua.Config{Listen: []ua.Listen{{Transport: ua.UDP, Addr: host}}})

	g.join(b.URI("udp"))
	g.wait(t, room.InCall, 15*time.Second)
	began := time.Now()

	var samples []capSample
	prev := linkSample(t, link, began)
	for tick := time.NewTicker(time.Second); time.Since(began) < capRun; {
		<-tick.C
		s := linkSample(t, link, began)
		s.target = g.engine.Stats().TargetBitrate
		s.sent = int(float64(s.c.TxBytes-prev.c.TxBytes) * 8 / (s.at - prev.at).Seconds())
		s.drops = s.c.Dropped - prev.c.Dropped
		samples = append(samples, s)
		t.Logf("%5.1f s: target %4d kbit/s, on the wire %4d kbit/s, %3d packets dropped by the cap", s.at.Seconds(), s.target/1000, s.sent/1000, s.drops)
		prev = s
	}

	// It was over the cap at the start: the cap dropped packets.
	var early uint64
	for _, s := range samples[:5] {
		early += s.drops
	}
	if early == 0 {
		t.Errorf("the cap dropped nothing in the first 5 s: the room never sent more than %d kbit/s, so the test shows nothing", linkCap.Rate/1000)
	}
	// Settled: the target has stayed under the cap since settle, and in
	// the final window the link drops (almost) nothing.
	settle := time.Duration(-1)
	for i, s := range samples {
		if s.target > 0 && s.target <= capTarget {
			if settle < 0 {
				settle = s.at
			}
		} else {
			settle = -1
			_ = i
		}
	}
	var lateDrops uint64
	var lateSent, lateTarget int
	n := 0
	for _, s := range samples {
		if s.at < capRun-capWindow {
			continue
		}
		lateDrops += s.drops
		lateSent += s.sent
		lateTarget = max(lateTarget, s.target)
		n++
	}
	rep, remb, tmmbr := fb.get()
	t.Logf("feedback from baresip: %d receiver report blocks, %d REMB, %d TMMBR", rep, remb, tmmbr)
	t.Logf("settled after %v; last %v: highest target %d kbit/s, %d kbit/s on the wire, %d packets dropped", settle, capWindow, lateTarget/1000, lateSent/n/1000, lateDrops)
	if rep == 0 {
		t.Errorf("baresip sent no receiver reports: the rate cannot have come from RTCP")
	}
	if settle < 0 {
		t.Errorf("the encoder's target never stayed at or under %d kbit/s", capTarget/1000)
	}
	if lateDrops > 5 {
		t.Errorf("the cap dropped %d packets in the last %v: the room still sends more than %d kbit/s", lateDrops, capWindow, linkCap.Rate/1000)
	}

	// The picture still gets through.
	var patErr error
	eventually(t, 15*time.Second, "roomd's pattern at baresip over the capped link", func() bool {
		img, err := b.ReceivedFrame(3 * time.Second)
		if err != nil {
			patErr = err
			return false
		}
		patErr = checkPattern(img)
		return patErr == nil
	})
}

// capTarget is the highest video target that fits the cap with the audio
// (Opus at about 40 kbit/s on the wire) and headers beside it.
const capTarget = 250_000

type capSample struct {
	at     time.Duration
	target int
	sent   int // bit/s that left the room's end of the link
	drops  uint64
	c      netns.Counters
}

func linkSample(t *testing.T, l *netns.Link, began time.Time) capSample {
	c, err := l.HostCounters()
	if err != nil {
		t.Fatal(err)
	}
	return capSample{at: time.Since(began), c: c}
}

// feedbackCount counts the RTCP feedback the far end sends: receiver
// report blocks (in SR and RR), REMB and TMMBR.
type feedbackCount struct {
	mu                  sync.Mutex
	reports, remb, tmmb int
}

func (f *feedbackCount) add(p netns.UDPPacket) {
	b := p.Payload
	// RTCP: version 2, packet type 200-206 (RFC 5761 §4).
	if len(b) < 8 || b[0]>>6 != 2 || b[1] < 200 || b[1] > 206 {
		return
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			f.reports += len(p.Reports)
		case *rtcp.ReceiverReport:
			f.reports += len(p.Reports)
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			f.remb++
		case *rtcp.RawPacket:
			var tm rtpmedia.TMMB
			if tm.Unmarshal(*p) == nil && !tm.Notification {
				f.tmmb++
			}
		}
	}
}

func (f *feedbackCount) get() (reports, remb, tmmbr int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reports, f.remb, f.tmmb
}

var _ = fmt.Sprint
var _ = strconv.Itoa
