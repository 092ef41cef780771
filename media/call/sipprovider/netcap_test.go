//go:build linux

package sipprovider

import (
	"net"
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
// from the room to the far end. The bucket (10 kB, a quarter of a second at
// the cap) and the queue (400 ms) are those of a small office's DSL or
// cable uplink; with a shorter queue a key frame at the cap never fits.
var linkCap = netns.Shape{Rate: 300_000, Burst: 10_000, Latency: 400 * time.Millisecond}

// capRun is how long the call runs over the capped link, and the final
// window the settled figures come from.
const (
	capRun    = 30 * time.Second
	capWindow = 6 * time.Second
)

// TestRateSettlesUnderCapFromRTCP: the room calls a real baresip in another
// network namespace over a veth pair whose room → far end direction is
// capped at 300 kbit/s by tc tbf. The room's encoder starts at 1 Mbit/s
// (the transport's default start), three times the cap.
//
// Feedback: the test counts on the wire (an AF_PACKET socket on the veth)
// the RTCP baresip sends. Baresip 1.0.0 sends a reception report block
// about each stream every 5 s (12 in a run, audio and video) and no REMB or TMMBR (0 and 0), and the test fails if
// that changes, so the rate comes down from the reports' fraction lost
// alone: rtpmedia's loss-based RateController, whose targets the provider
// hands the encoder.
//
// It checks that the room started over the cap (the cap drops packets in
// the first 4 s), that the encoder's target settles at or under 250
// kbit/s (the cap less the audio), that the cap drops at most 1 % of the
// packets in the last 6 s (the room no longer sends more than fits), and
// that baresip still decodes the room's pattern. docs/sip-media-path.md
// has a run's figures.
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
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(began) < capRun {
		<-tick.C
		s := linkSample(t, link, began)
		// Zero until the first report moves it: the encoder is still at
		// the transport's start, 1 Mbit/s.
		s.target = g.engine.Stats().TargetBitrate
		s.wire = int(float64(s.c.TxBytes-prev.c.TxBytes) * 8 / (s.at - prev.at).Seconds())
		s.packets, s.drops = s.c.TxPackets-prev.c.TxPackets, s.c.Dropped-prev.c.Dropped
		samples = append(samples, s)
		t.Logf("%5.1f s: target %4d kbit/s, through the cap %4d kbit/s, %3d packets dropped", s.at.Seconds(), s.target/1000, s.wire/1000, s.drops)
		prev = s
	}

	// It was over the cap at the start: the cap dropped packets.
	var early uint64
	for _, s := range samples[:4] {
		early += s.drops
	}
	if early == 0 {
		t.Errorf("the cap dropped nothing in the first 4 s: the room never sent more than %d kbit/s, so the test shows nothing", linkCap.Rate/1000)
	}
	// Settled: since when the target has stayed under capTarget, and
	// since when the cap has dropped nothing.
	underSince, cleanSince := time.Duration(-1), time.Duration(-1)
	var lateDrops, latePackets uint64
	var lateWire, lateTarget, n int
	for _, s := range samples {
		switch {
		case s.target == 0 || s.target > capTarget:
			underSince = -1
		case underSince < 0:
			underSince = s.at
		}
		switch {
		case s.drops > 0:
			cleanSince = -1
		case cleanSince < 0:
			cleanSince = s.at
		}
		if s.at >= capRun-capWindow {
			lateDrops += s.drops
			latePackets += s.packets
			lateWire += s.wire
			lateTarget = max(lateTarget, s.target)
			n++
		}
	}
	reports, remb, tmmbr := fb.get()
	t.Logf("feedback from baresip: %d reception report blocks, %d REMB, %d TMMBR", reports, remb, tmmbr)
	t.Logf("target under %d kbit/s from %s, no drops from %s; last %v: target at most %d kbit/s, %d kbit/s through the cap, %d of %d packets dropped",
		capTarget/1000, since(underSince), since(cleanSince), capWindow, lateTarget/1000, lateWire/max(n, 1)/1000, lateDrops, latePackets+lateDrops)
	if reports == 0 {
		t.Errorf("baresip sent no receiver reports: the rate cannot have come from RTCP")
	}
	if remb+tmmbr > 0 {
		t.Errorf("baresip sent %d REMB and %d TMMBR: the rate may have come from them rather than from the receiver reports alone; turn them off in the far end's config (siptest.Options.ExtraConfig)", remb, tmmbr)
	}
	if underSince < 0 {
		t.Errorf("the encoder's target did not stay at or under %d kbit/s", capTarget/1000)
	}
	if lateDrops*100 > latePackets+lateDrops {
		t.Errorf("the cap dropped %d of %d packets in the last %v: the room still sends more than %d kbit/s", lateDrops, latePackets+lateDrops, capWindow, linkCap.Rate/1000)
	}

	// The picture still gets through.
	for deadline := time.Now().Add(15 * time.Second); ; {
		img, err := b.ReceivedFrame(3 * time.Second)
		if err == nil {
			if err = checkPattern(img); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip decoded no picture of roomd's pattern over the capped link: %v", err)
		}
	}
}

// since says when a condition began to hold for good; negative: never.
func since(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(100 * time.Millisecond).String()
}

// capTarget is the highest video target that fits the cap with the audio
// beside it (about 48 kbit/s on the wire: 32 kbit/s of Opus and the
// headers of 50 packets a second) and the video's own headers.
const capTarget = 250_000

// capSample is one second of the call: the encoder's target, what
// left the room's end of the link through the cap (bit/s), and what the
// cap passed and dropped (packets).
type capSample struct {
	at             time.Duration
	target, wire   int
	packets, drops uint64
	c              netns.Counters
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
