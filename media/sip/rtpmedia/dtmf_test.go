package rtpmedia

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// rawPeer is a far end that only reads packets: a plain UDP socket.
func rawPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readRTP reads RTP packets from c (RTCP left out) until d passes.
func readRTP(t *testing.T, c *net.UDPConn, d time.Duration) []rtp.Packet {
	t.Helper()
	var out []rtp.Packet
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := c.Read(buf)
		if err != nil {
			return out
		}
		var p rtp.Packet
		if isRTCP(buf[:n]) || p.Unmarshal(append([]byte(nil), buf[:n]...)) != nil {
			continue
		}
		out = append(out, p)
	}
}

// DTMF goes out as RFC 4733 events: per digit one timestamp, the first
// packet marked, durations growing, three end packets with the full
// duration, audio held while the digit sounds; G.711 audio around it is
// 160 samples per packet at 8 kHz.
func TestDTMFPackets(t *testing.T) {
	peer := rawPeer(t)
	a := listen(t, Audio, Options{})
	r := Remote{RTP: peer.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: Codec{PT: 0, Name: CodecPCMU}, DTMF: 101}
	start(t, a, r)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	audio := make(chan struct{})
	go func() {
		defer close(audio)
		for off := 0; ctx.Err() == nil; off += 960 {
			a.WriteAudio(tone(1000, off, 960))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(60 * time.Millisecond)
	if err := a.SendDTMF(ctx, "1#", 100*time.Millisecond, 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	cancel()
	<-audio
	pkts := readRTP(t, peer, 200*time.Millisecond)

	type event struct {
		ts       uint32
		digit    byte
		packets  []rtp.Packet
		ends     int
		duration uint16
	}
	var events []*event
	var audioInEvent, audioPkts int
	var inEvent bool
	var lastSeq uint16
	for i, p := range pkts {
		if i > 0 && p.SequenceNumber != lastSeq+1 {
			t.Errorf("sequence jumps from %d to %d", lastSeq, p.SequenceNumber)
		}
		lastSeq = p.SequenceNumber
		switch p.PayloadType {
		case 0:
			audioPkts++
			if len(p.Payload) != 160 {
				t.Errorf("PCMU packet of %d bytes, want 160 (20 ms at 8 kHz)", len(p.Payload))
			}
			if inEvent {
				audioInEvent++
			}
		case 101:
			if len(p.Payload) != 4 {
				t.Fatalf("event payload of %d bytes", len(p.Payload))
			}
			end := p.Payload[1]&0x80 != 0
			dur := binary.BigEndian.Uint16(p.Payload[2:])
			if len(events) == 0 || events[len(events)-1].ts != p.Timestamp {
				if !p.Marker {
					t.Errorf("first packet of event at ts %d not marked", p.Timestamp)
				}
				events = append(events, &event{ts: p.Timestamp, digit: p.Payload[0]})
			} else if p.Marker {
				t.Errorf("marker on a later packet of event at ts %d", p.Timestamp)
			}
			ev := events[len(events)-1]
			if p.Payload[0] != ev.digit || p.Payload[1]&0x3f != dtmfVolume {
				t.Errorf("packet %v of event %d", p.Payload, ev.digit)
			}
			if dur == 0 || dur < ev.duration {
				t.Errorf("event %d: duration %d after %d", ev.digit, dur, ev.duration)
			}
			ev.duration = dur
			ev.packets = append(ev.packets, p)
			inEvent = !end
			if end {
				ev.ends++
			}
		}
	}
	if len(events) != 2 || events[0].digit != 1 || events[1].digit != 11 {
		t.Fatalf("events %v, want digit 1 then # (11)", events)
	}
	for _, ev := range events {
		if ev.ends != 3 || ev.duration != 800 {
			t.Errorf("event %d: %d end packets, final duration %d; want 3 and 800 (100 ms at 8 kHz)", ev.digit, ev.ends, ev.duration)
		}
		if n := len(ev.packets); n != 2+3 {
			t.Errorf("event %d: %d packets, want 2 updates (every 50 ms) and 3 ends", ev.digit, n)
		}
	}
	if d := events[1].ts - events[0].ts; d < 800+8*60-160 {
		t.Errorf("second event only %d ticks after the first", d)
	}
	if audioInEvent != 0 || audioPkts < 5 {
		t.Errorf("%d audio packets during a digit, %d in all", audioInEvent, audioPkts)
	}
	t.Logf("%d packets: %d audio, events %d and %d at ts %d and %d", len(pkts), audioPkts, events[0].digit, events[1].digit, events[0].ts, events[1].ts)
}

func TestSendDTMFRefuses(t *testing.T) {
	peer := rawPeer(t)
	a := listen(t, Audio, Options{})
	start(t, a, Remote{RTP: peer.LocalAddr().(*net.UDPAddr), Codec: Codec{PT: 0, Name: CodecPCMU}})
	if err := a.SendDTMF(context.Background(), "1", 0, 0); err != ErrNoDTMF {
		t.Fatalf("no telephone-event negotiated: %v, want ErrNoDTMF", err)
	}
	b := listen(t, Audio, Options{})
	start(t, b, Remote{RTP: peer.LocalAddr().(*net.UDPAddr), Codec: Codec{PT: 0, Name: CodecPCMU}, DTMF: 101})
	if err := b.SendDTMF(context.Background(), "12x", 0, 0); err == nil {
		t.Fatal("digit x accepted")
	}
}

// Telephone-events from the far end are reported once per digit, at its
// end, with its duration; the far end's own payload type (renumbered by
// an answerer) is read too, and events are not played as audio.
func TestDTMFReceived(t *testing.T) {
	a, b := listen(t, Audio, Options{}), listen(t, Audio, Options{})
	c := Codec{PT: 0, Name: CodecPCMU}
	ra, rb := remoteOf(b, c), remoteOf(a, c)
	ra.DTMF = 100                        // a sends with 100
	rb.DTMF, rb.DTMFReceivePT = 101, 100 // b sends with 101, reads a's 100
	type digit struct {
		d   rune
		dur time.Duration
	}
	got := make(chan digit, 16)
	played := &pcmSink{}
	start(t, b, rb, Handlers{OnAudio: played.add, OnDTMF: func(d rune, dur time.Duration) { got <- digit{d, dur} }})
	start(t, a, ra)
	if err := a.SendDTMF(context.Background(), "12#D", 100*time.Millisecond, 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var digits []rune
	for len(digits) < 4 {
		select {
		case g := <-got:
			digits = append(digits, g.d)
			if g.dur != 100*time.Millisecond {
				t.Errorf("digit %c lasted %v; want 100ms", g.d, g.dur)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("digits received %q; want 12#D", string(digits))
		}
	}
	if string(digits) != "12#D" {
		t.Errorf("digits received %q; want 12#D", string(digits))
	}
	select {
	case g := <-got:
		t.Errorf("digit %c reported again (repeated end packets)", g.d)
	case <-time.After(100 * time.Millisecond):
	}
	if n := len(played.samples()); n != 0 {
		t.Errorf("%d samples of telephone-events played as audio", n)
	}
}
