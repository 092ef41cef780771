package rtpmedia

import (
	"image"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/roomd/roomd/media/codec"
)

// keyFrame encodes one H.264 key frame of the pattern.
func keyFrame(t *testing.T, w, h int) []byte {
	t.Helper()
	enc, err := codec.NewH264(codec.VideoConfig{Width: w, Height: h, BitRate: 2_000_000, KeyFrameInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f, key, err := enc.Encode(patternFrames(t, w, h, 1)[0])
	if err != nil || !key {
		t.Fatalf("key frame: %v %v", key, err)
	}
	return f
}

// A relay that drops 20 % of the video makes the far end's receiver
// reports bring the sender's target down within a few report intervals;
// it climbs back once the loss stops.
func TestLossLowersBitrate(t *testing.T) {
	var target atomic.Int64
	var changes atomic.Int32
	opts := Options{RTCPInterval: 100 * time.Millisecond, Rate: RateConfig{Min: 100_000, Max: 2_000_000, Start: 1_000_000}}
	ha := Handlers{OnBitrate: func(bps int) {
		target.Store(int64(bps))
		changes.Add(1)
	}}
	a := listen(t, Video, opts)
	b := listen(t, Video, Options{RTCPInterval: 100 * time.Millisecond})
	rel := newRelay(t, b.RTPAddr())
	var lossy atomic.Bool
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	rel.set(func(toFar bool, p []byte) bool {
		if !toFar || isRTCP(p) || !lossy.Load() {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		return rng.Float64() < 0.2
	}, nil)
	c := Codec{PT: 96, Name: CodecH264, PacketizationMode: 1}
	start(t, a, Remote{RTP: rel.front.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: c}, ha)
	start(t, b, Remote{RTP: rel.back.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: c})
	if target.Load() != 1_000_000 {
		t.Fatalf("start target %d", target.Load())
	}
	// A small picture keeps decoding cheap at 200 frames a second, so
	// the only loss is the relay's.
	frame := keyFrame(t, 160, 96)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			a.WriteVideo(frame, 5*time.Millisecond)
		}
	}()
	defer func() { close(stop); <-done }()

	lossy.Store(true)
	began := time.Now()
	if !eventually(2*time.Second, func() bool { return target.Load() < 500_000 }) {
		t.Fatalf("20 %% loss for 2 s left the target at %d", target.Load())
	}
	down := time.Since(began)
	st := a.Stats()
	if st.Sent.LossRate < 0.1 || st.Sent.LossRate > 0.3 {
		t.Errorf("far end reports %.1f %% lost, want about 20 %%", st.Sent.LossRate*100)
	}
	low := target.Load()
	lossy.Store(false)
	began = time.Now()
	// Up to 90 % of the knee the loss left, six clean reports there, then
	// probing past it: about 25 reports of 100 ms.
	if !eventually(8*time.Second, func() bool { return target.Load() > 2*low }) {
		t.Fatalf("without loss the target stayed at %d", target.Load())
	}
	up := time.Since(began)
	t.Logf("20 %% loss: 1 Mbit/s → %d bit/s in %v (reported loss %.1f %%, %d changes); without loss ×2 in %v", low, down.Round(time.Millisecond), st.Sent.LossRate*100, changes.Load(), up.Round(time.Millisecond))
	if st := b.Stats(); st.Received.Lost == 0 {
		t.Errorf("the receiver counted no lost packets")
	}
}

// Reports flow both ways: the RTT comes from LSR/DLSR, the far end's
// jitter and loss show in Stats.
func TestReportsGiveRTT(t *testing.T) {
	a := listen(t, Audio, Options{RTCPInterval: 30 * time.Millisecond})
	b := listen(t, Audio, Options{RTCPInterval: 30 * time.Millisecond})
	c := Codec{PT: 0, Name: CodecPCMU}
	start(t, a, remoteOf(b, c))
	start(t, b, remoteOf(a, c))
	talk(t, a, b, 300*time.Millisecond)
	if !eventually(2*time.Second, func() bool { return a.Stats().RTT > 0 }) {
		t.Fatal("no RTT from the far end's reports")
	}
	st := a.Stats()
	if st.RTT > 50*time.Millisecond {
		t.Fatalf("RTT %v on loopback", st.RTT)
	}
	t.Logf("loopback RTT %v; sent %d packets, received %d", st.RTT, st.Sent.Packets, st.Received.Packets)
}

// feedbackPeer is a stream whose far end is a raw socket, for sending it
// hand-made RTCP and reading what it answers.
func feedbackPeer(t *testing.T, kind Kind, fb Feedback, h Handlers) (*Stream, *net.UDPConn) {
	t.Helper()
	peer := rawPeer(t)
	s := listen(t, kind, Options{})
	start(t, s, Remote{RTP: peer.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: Codec{PT: 96, Name: CodecVP8}, Feedback: fb}, h)
	return s, peer
}

func sendRTCP(t *testing.T, peer *net.UDPConn, to *Stream, pkts ...rtcp.Packet) {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WriteToUDP(b, to.RTPAddr()); err != nil {
		t.Fatal(err)
	}
}

// readRTCPPackets reads RTCP from c until one matches want or d passes.
func readRTCPUntil(c *net.UDPConn, d time.Duration, want func(rtcp.Packet) bool) bool {
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := c.Read(buf)
		if err != nil {
			return false
		}
		if !isRTCP(buf[:n]) {
			continue
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			var t TMMB
			if t.Unmarshal(buf[:n]) == nil && want(&t) {
				return true
			}
			continue
		}
		for _, p := range pkts {
			if raw, ok := p.(*rtcp.RawPacket); ok {
				var t TMMB
				if t.Unmarshal(*raw) == nil {
					p = &t
				}
			}
			if want(p) {
				return true
			}
		}
	}
}

// A PLI or a new FIR asks the encoder for a key frame; a repeated FIR
// does not ask twice.
func TestKeyFrameRequestsReceived(t *testing.T) {
	var asked atomic.Int32
	s, peer := feedbackPeer(t, Video, Feedback{PLI: true}, Handlers{OnKeyFrameRequest: func() { asked.Add(1) }})
	sendRTCP(t, peer, s, &rtcp.ReceiverReport{SSRC: 7}, &rtcp.PictureLossIndication{SenderSSRC: 7, MediaSSRC: s.SSRC()})
	if !eventually(time.Second, func() bool { return asked.Load() == 1 }) {
		t.Fatalf("PLI: %d key frames asked", asked.Load())
	}
	sendRTCP(t, peer, s, &rtcp.PictureLossIndication{SenderSSRC: 7, MediaSSRC: s.SSRC() + 1})
	fir := &rtcp.FullIntraRequest{SenderSSRC: 7, FIR: []rtcp.FIREntry{{SSRC: s.SSRC(), SequenceNumber: 4}}}
	sendRTCP(t, peer, s, fir)
	sendRTCP(t, peer, s, fir) // a retransmission of the same request
	fir2 := &rtcp.FullIntraRequest{SenderSSRC: 7, FIR: []rtcp.FIREntry{{SSRC: s.SSRC(), SequenceNumber: 5}}}
	sendRTCP(t, peer, s, fir2)
	if !eventually(time.Second, func() bool { return asked.Load() >= 3 }) {
		t.Fatalf("after two FIRs: %d key frames asked", asked.Load())
	}
	time.Sleep(50 * time.Millisecond)
	if n := asked.Load(); n != 3 {
		t.Fatalf("%d key frames asked, want 3 (PLI, FIR 4, FIR 5; not the PLI for another SSRC nor FIR 4 again)", n)
	}
	if st := s.Stats(); st.Sent.PLIs != 1 || st.Sent.FIRs != 3 {
		t.Fatalf("stats count %d PLIs and %d FIRs received", st.Sent.PLIs, st.Sent.FIRs)
	}
}

// The decoder's need for a key frame goes out as PLI or FIR as
// negotiated, else to OnNeedKeyFrame (SIP INFO).
func TestKeyFrameRequestsSent(t *testing.T) {
	s, peer := feedbackPeer(t, Video, Feedback{PLI: true}, Handlers{})
	s.RequestKeyFrame()
	if !readRTCPUntil(peer, time.Second, func(p rtcp.Packet) bool { _, ok := p.(*rtcp.PictureLossIndication); return ok }) {
		t.Fatal("no PLI sent")
	}
	s, peer = feedbackPeer(t, Video, Feedback{FIR: true}, Handlers{})
	s.RequestKeyFrame()
	if !readRTCPUntil(peer, time.Second, func(p rtcp.Packet) bool { _, ok := p.(*rtcp.FullIntraRequest); return ok }) {
		t.Fatal("no FIR sent")
	}
	var info atomic.Int32
	s, _ = feedbackPeer(t, Video, Feedback{}, Handlers{OnNeedKeyFrame: func() { info.Add(1) }})
	s.RequestKeyFrame()
	s.RequestKeyFrame() // within 500 ms: dropped
	if info.Load() != 1 {
		t.Fatalf("without rtcp-fb OnNeedKeyFrame ran %d times, want 1", info.Load())
	}
}

// The receiving side decodes a stream it joined mid-way once its PLI
// brought a key frame: PLI received → key frame requested → encoded.
func TestPLIBringsKeyFrame(t *testing.T) {
	enc, err := codec.NewH264(codec.VideoConfig{Width: 320, Height: 180, BitRate: 500_000, KeyFrameInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var decoded atomic.Int32
	a := listen(t, Video, Options{})
	b := listen(t, Video, Options{})
	rel := newRelay(t, b.RTPAddr())
	var joined atomic.Bool
	rel.set(func(toFar bool, p []byte) bool { return toFar && !joined.Load() }, nil)
	c := Codec{PT: 96, Name: CodecH264, PacketizationMode: 1}
	fb := Feedback{PLI: true}
	start(t, a, Remote{RTP: rel.front.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: c, Feedback: fb}, Handlers{OnKeyFrameRequest: enc.ForceKeyFrame})
	start(t, b, Remote{RTP: rel.back.LocalAddr().(*net.UDPAddr), RTCPMux: true, Codec: c, Feedback: fb}, Handlers{OnVideo: func(*image.YCbCr) { decoded.Add(1) }})
	frames := patternFrames(t, 320, 180, 40)
	// The key frame is lost: b joins mid-stream.
	f, _, _ := enc.Encode(frames[0])
	a.WriteVideo(f, 0)
	time.Sleep(20 * time.Millisecond)
	joined.Store(true)
	for _, img := range frames[1:] {
		f, _, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) > 0 {
			a.WriteVideo(f, 33*time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if decoded.Load() == 0 {
		t.Fatal("nothing decoded: the PLI brought no key frame")
	}
	if st := a.Stats(); st.Sent.PLIs == 0 {
		t.Fatal("the sender saw no PLI")
	}
	t.Logf("joined mid-stream: %d of 39 frames decoded after the PLI", decoded.Load())
}

// TMMBR caps the target and is answered with TMMBN; REMB caps it too.
func TestTMMBRAndREMB(t *testing.T) {
	var target atomic.Int64
	s, peer := feedbackPeer(t, Video, Feedback{TMMBR: true}, Handlers{OnBitrate: func(bps int) { target.Store(int64(bps)) }})
	sendRTCP(t, peer, s, &rtcp.ReceiverReport{SSRC: 9}, &TMMB{SenderSSRC: 9, Entries: []TMMBEntry{{SSRC: s.SSRC(), Bitrate: 384_000, Overhead: 40}}})
	if !readRTCPUntil(peer, time.Second, func(p rtcp.Packet) bool {
		n, ok := p.(*TMMB)
		return ok && n.Notification && len(n.Entries) == 1 && n.Entries[0].SSRC == 9 && n.Entries[0].Bitrate == 384_000
	}) {
		t.Fatal("no TMMBN for the TMMBR")
	}
	if target.Load() != 384_000 {
		t.Fatalf("TMMBR 384k: target %d", target.Load())
	}
	sendRTCP(t, peer, s, &rtcp.ReceiverReport{SSRC: 9}, &rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 9, Bitrate: 256_000, SSRCs: []uint32{s.SSRC()}})
	if !eventually(time.Second, func() bool { return target.Load() == 256_000 }) {
		t.Fatalf("REMB 256k: target %d", target.Load())
	}
}

func TestTMMBRoundTrip(t *testing.T) {
	for _, bps := range []uint64{0, 64_000, 131_071, 131_072, 2_500_000, 1 << 40} {
		in := TMMB{SenderSSRC: 1, Entries: []TMMBEntry{{SSRC: 2, Bitrate: bps, Overhead: 300}}}
		b, err := in.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var out TMMB
		if err := out.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		got := out.Entries[0].Bitrate
		// 17 bits of mantissa: within 1/65536 below.
		if got > bps || float64(bps-got) > float64(bps)/65536 || out.Entries[0].Overhead != 300 || out.Notification {
			t.Fatalf("%d bit/s came back as %+v", bps, out)
		}
	}
	if err := new(TMMB).Unmarshal([]byte{0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}); err == nil {
		t.Fatal("a NACK parsed as TMMBR")
	}
}

// No packets for Timeout calls OnMediaStopped once; packets coming back
// call OnMediaResumed.
func TestRTPTimeout(t *testing.T) {
	var stopped, resumed atomic.Int32
	a := listen(t, Audio, Options{})
	b := listen(t, Audio, Options{Timeout: 200 * time.Millisecond})
	c := Codec{PT: 0, Name: CodecPCMU}
	start(t, a, remoteOf(b, c))
	start(t, b, remoteOf(a, c), Handlers{OnMediaStopped: func() { stopped.Add(1) }, OnMediaResumed: func() { resumed.Add(1) }})
	sendTone(t, a, 1000, 100*time.Millisecond)
	if stopped.Load() != 0 {
		t.Fatal("stopped while media flowed")
	}
	began := time.Now()
	if !eventually(time.Second, func() bool { return stopped.Load() == 1 }) {
		t.Fatal("no OnMediaStopped after 1 s of silence")
	}
	after := time.Since(began)
	if !b.Stats().MediaStopped {
		t.Error("Stats does not say the media stopped")
	}
	time.Sleep(150 * time.Millisecond)
	if stopped.Load() != 1 {
		t.Fatalf("OnMediaStopped ran %d times", stopped.Load())
	}
	sendTone(t, a, 1000, 40*time.Millisecond)
	if !eventually(time.Second, func() bool { return resumed.Load() == 1 }) {
		t.Fatal("no OnMediaResumed when packets came back")
	}
	t.Logf("timeout 200 ms: stopped reported %v after the last packet", after.Round(time.Millisecond))
}
