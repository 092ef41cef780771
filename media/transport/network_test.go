package transport

// Network tests: a sender and a receiver PeerConnection, in process, joined
// by pion's virtual network. Everything the receiver gets passes
//
//	router → token bucket (the bandwidth cap) → random loss → 20 ms delay
//
// as in pion/bwe-test; the way back (RTCP feedback) is clean. The sender's
// "encoder" is synthetic: every frame is exactly bitrate/fps bytes and
// carries its own number and length, so the receiver can tell a whole frame
// from a broken one without a codec. vnet runs in real time, so assertions
// look at medians and windows rather than single samples.

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/transport/v4/test"
	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

const (
	testFPS   = 30
	linkDelay = 20 * time.Millisecond
)

// link is the virtual network between the two peers.
type link struct {
	router           *vnet.Router
	tbf              *vnet.TBFQueue
	loss             *vnet.LossFilter
	sender, receiver *vnet.Net
}

func newLink(t *testing.T) *link {
	t.Helper()
	lf := logging.NewDefaultLoggerFactory()
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "192.0.2.0/24", LoggerFactory: lf})
	must(t, err)
	sender, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"192.0.2.1"}})
	must(t, err)
	receiver, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"192.0.2.2"}})
	must(t, err)

	delay, err := vnet.NewDelayFilter(receiver, vnet.WithDelay(linkDelay))
	must(t, err)
	loss, err := vnet.NewLossFilter(delay, 0)
	must(t, err)
	// Uncapped until a test caps it: 100 Mbit/s, 64 KB burst, 1 MB queue.
	tbf := vnet.NewTBFQueue(100_000_000, 64<<10, 1<<20)
	queue, err := vnet.NewQueue(loss, tbf)
	must(t, err)

	must(t, router.AddNet(sender))
	must(t, router.AddNet(queue))
	must(t, router.Start())
	t.Cleanup(func() {
		_ = router.Stop()
		_ = queue.Close()
		_ = delay.Close()
	})
	return &link{router: router, tbf: tbf, loss: loss, sender: sender, receiver: receiver}
}

// setCap limits the sender→receiver direction to bps with a 300 ms queue.
func (l *link) setCap(bps int) {
	l.tbf.SetRate(bps)
	l.tbf.SetBurst(4 << 10)
	l.tbf.SetSize(int64(bps / 8 * 3 / 10))
}

// synthEncoder stands in for a video encoder: frames of bitrate/fps bytes.
// Byte 0 is a VP8 frame tag (bit 0 clear on key frames), then the frame's
// number and length, then the number's low byte as filler.
type synthEncoder struct {
	mu      sync.Mutex
	bitrate int
	key     bool
	seq     uint32

	forced atomic.Int64 // ForceKeyFrame calls
	sent   sync.Map     // seq → time.Time the frame was written
	frames atomic.Int64
}

func newSynthEncoder(bps int) *synthEncoder { return &synthEncoder{bitrate: bps, key: true} }

func (e *synthEncoder) SetBitRate(bps int) {
	e.mu.Lock()
	e.bitrate = bps
	e.mu.Unlock()
}

func (e *synthEncoder) ForceKeyFrame() {
	e.forced.Add(1)
	e.mu.Lock()
	e.key = true
	e.mu.Unlock()
}

func (e *synthEncoder) next() (frame []byte, seq uint32) {
	e.mu.Lock()
	size := max(e.bitrate/8/testFPS, 16)
	key := e.key
	e.key = false
	e.seq++
	seq = e.seq
	e.mu.Unlock()

	frame = make([]byte, size)
	frame[0] = 1
	if key {
		frame[0] = 0
	}
	binary.BigEndian.PutUint32(frame[1:], seq)
	binary.BigEndian.PutUint32(frame[5:], uint32(size))
	for i := 9; i < size; i++ {
		frame[i] = byte(seq)
	}
	return frame, seq
}

func (e *synthEncoder) run(ctx context.Context, track *webrtc.TrackLocalStaticSample) {
	tick := time.NewTicker(time.Second / testFPS)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		frame, seq := e.next()
		e.sent.Store(seq, time.Now())
		e.frames.Add(1)
		if err := track.WriteSample(media.Sample{Data: frame, Duration: time.Second / testFPS}); err != nil {
			return
		}
	}
}

// Frames implements FrameCounter.
func (e *synthEncoder) Frames() (uint64, int, int) { return uint64(e.frames.Load()), 0, 0 }

// sentBetween counts frames written in [from, to).
func (e *synthEncoder) sentBetween(from, to time.Time) (n int) {
	e.sent.Range(func(_, v any) bool {
		if at := v.(time.Time); !at.Before(from) && at.Before(to) {
			n++
		}
		return true
	})
	return n
}

// frameSink reassembles frames at the receiver and checks each one whole.
type frameSink struct {
	mu     sync.Mutex
	whole  map[uint32]time.Time // seq → arrival of a complete, intact frame
	broken int
	keys   int
	ssrc   webrtc.SSRC
	got    chan struct{} // closed at the first whole frame
	once   sync.Once
}

func newFrameSink() *frameSink {
	return &frameSink{whole: map[uint32]time.Time{}, got: make(chan struct{})}
}

func (s *frameSink) read(track *webrtc.TrackRemote) {
	s.mu.Lock()
	s.ssrc = track.SSRC()
	s.mu.Unlock()
	sb := samplebuilder.New(1000, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(time.Second))
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			s.frame(smp.Data)
		}
	}
}

func (s *frameSink) frame(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) < 9 || int(binary.BigEndian.Uint32(b[5:])) != len(b) {
		s.broken++
		return
	}
	seq := binary.BigEndian.Uint32(b[1:])
	for _, c := range b[9:] {
		if c != byte(seq) {
			s.broken++
			return
		}
	}
	if b[0]&1 == 0 {
		s.keys++
	}
	s.whole[seq] = time.Now()
	s.once.Do(func() { close(s.got) })
}

// wholeSince counts intact frames that arrived at or after from.
func (s *frameSink) wholeSince(from time.Time) (n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.whole {
		if !at.Before(from) {
			n++
		}
	}
	return n
}

// wholeOf counts how many of the frames the encoder wrote in [from, to)
// arrived intact.
func (s *frameSink) wholeOf(e *synthEncoder, from, to time.Time) (n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.sent.Range(func(k, v any) bool {
		at := v.(time.Time)
		if _, ok := s.whole[k.(uint32)]; ok && !at.Before(from) && at.Before(to) {
			n++
		}
		return true
	})
	return n
}

func (s *frameSink) counts() (keys, broken int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys, s.broken
}

// session is one sender→receiver video call over a link.
type session struct {
	link     *link
	tx, rx   *PeerConnection
	enc      *synthEncoder
	sink     *frameSink
	ctrl     *Controller
	feedback *SenderFeedback
}

func newPeer(t *testing.T, n *vnet.Net, cfg Config) *PeerConnection {
	t.Helper()
	cfg.SettingEngine = func(se *webrtc.SettingEngine) {
		se.SetNet(n)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	f, err := New(cfg)
	must(t, err)
	pc, err := f.NewPeerConnection()
	must(t, err)
	return pc
}

// startSession connects the peers and starts the encoder, the bitrate
// controller and the RTCP reader. Cleanup stops everything in order.
func startSession(t *testing.T, cfg Config) *session {
	t.Helper()
	// Registered first, so it runs last: after the peers, the loops and
	// the virtual network have all been stopped.
	t.Cleanup(test.CheckRoutines(t))
	l := newLink(t)
	s := &session{link: l, tx: newPeer(t, l.sender, cfg), rx: newPeer(t, l.receiver, cfg), sink: newFrameSink()}
	s.enc = newSynthEncoder(s.tx.Estimator().TargetBitrate())

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		_ = s.tx.Close()
		_ = s.rx.Close()
		wg.Wait()
	})

	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "roomd")
	must(t, err)
	sender, err := s.tx.AddTrack(track)
	must(t, err)
	// Opus at the Controller's audio share, so the budget it reserves is
	// really spent, as in a call.
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "roomd")
	must(t, err)
	audioSender, err := s.tx.AddTrack(audio)
	must(t, err)
	s.rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		wg.Add(1)
		defer wg.Done()
		s.sink.read(tr)
	})
	connected := make(chan struct{})
	var once sync.Once
	s.tx.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	signal(t, s.tx.PeerConnection, s.rx.PeerConnection)
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatal("peers did not connect over the virtual network within 15 s")
	}

	full, err := cfg.withDefaults()
	must(t, err)
	s.ctrl, err = NewController(s.tx.Estimator(), s.enc, nil, ControllerConfig{
		MinBitrate: full.MinBitrate, MaxBitrate: full.MaxBitrate,
	})
	must(t, err)
	s.feedback = &SenderFeedback{Sender: sender, KeyFrame: s.enc}
	wg.Add(5)
	go func() { defer wg.Done(); s.enc.run(ctx, track) }()
	go func() { defer wg.Done(); sendAudio(ctx, audio) }()
	go func() {
		defer wg.Done()
		if err := (&SenderFeedback{Sender: audioSender}).Run(ctx); err != nil {
			t.Errorf("audio sender feedback: %v", err)
		}
	}()
	go func() { defer wg.Done(); _ = s.ctrl.Run(ctx) }()
	go func() {
		defer wg.Done()
		if err := s.feedback.Run(ctx); err != nil {
			t.Errorf("sender feedback: %v", err)
		}
	}()
	select {
	case <-s.sink.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no whole frame reached the receiver within 10 s of connecting")
	}
	return s
}

// sendAudio writes 20 ms Opus-sized frames at DefaultAudioBitrate.
func sendAudio(ctx context.Context, track *webrtc.TrackLocalStaticSample) {
	const ptime = 20 * time.Millisecond
	frame := make([]byte, DefaultAudioBitrate/8*int(ptime/time.Millisecond)/1000)
	tick := time.NewTicker(ptime)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := track.WriteSample(media.Sample{Data: frame, Duration: ptime}); err != nil {
			return
		}
	}
}

// signal runs a non-trickle offer/answer between two PeerConnections.
func signal(t *testing.T, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	offer, err := offerer.CreateOffer(nil)
	must(t, err)
	done := webrtc.GatheringCompletePromise(offerer)
	must(t, offerer.SetLocalDescription(offer))
	<-done
	must(t, answerer.SetRemoteDescription(*offerer.LocalDescription()))
	answer, err := answerer.CreateAnswer(nil)
	must(t, err)
	done = webrtc.GatheringCompletePromise(answerer)
	must(t, answerer.SetLocalDescription(answer))
	<-done
	must(t, offerer.SetRemoteDescription(*answerer.LocalDescription()))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sample is one reading of the sender's estimate.
type sample struct {
	at     time.Duration // since the phase began
	target int           // GCC's estimate
	video  int           // what the Controller gave the encoder
}

// watch reads the estimate every 100 ms for d, or until stop returns true.
func (s *session) watch(d time.Duration, stop func(sample) bool) []sample {
	start := time.Now()
	var out []sample
	for time.Since(start) < d {
		time.Sleep(100 * time.Millisecond)
		smp := sample{at: time.Since(start), target: s.tx.Estimator().TargetBitrate(), video: s.ctrl.VideoBitrate()}
		out = append(out, smp)
		if stop != nil && stop(smp) {
			break
		}
	}
	return out
}

// median is the median target of the samples in [from, to).
func median(ss []sample, from, to time.Duration) int {
	var v []int
	for _, s := range ss {
		if s.at >= from && s.at < to {
			v = append(v, s.target)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// crossings returns when the target first went under limit and when it was
// last over it (0 if never).
func crossings(ss []sample, limit int) (firstUnder, lastOver time.Duration) {
	firstUnder = -1
	for _, s := range ss {
		if s.target <= limit && firstUnder < 0 {
			firstUnder = s.at
		}
		if s.target > limit {
			lastOver = s.at
		}
	}
	return firstUnder, lastOver
}

// series renders the samples every half second as "1.0s:812/780" (target/
// video, kbit/s).
func series(ss []sample) string {
	var b strings.Builder
	for i, s := range ss {
		if i%5 == 4 || i == len(ss)-1 {
			fmt.Fprintf(&b, " %.1fs:%d/%d", s.at.Seconds(), s.target/1000, s.video/1000)
		}
	}
	return b.String()
}

// TestNetworkCapThenLift: under a 300 kbit/s cap the estimate settles under
// the cap within 10 s — the median of the last 3 s of the 10 s is under it —
// and video keeps arriving; when the cap lifts to 5 Mbit/s the estimate
// climbs to 1.5 times the old cap, well above the 300–350 kbit/s peaks of
// its sawtooth under the cap.
func TestNetworkCapThenLift(t *testing.T) {
	if testing.Short() { // make test-unit: 20 s of real time; make test runs it
		t.Skip("20 s of real time: -short (make test-unit) leaves it to make test")
	}
	const (
		capBPS  = 300_000
		phase   = 10 * time.Second
		window  = 3 * time.Second
		lifted  = 5_000_000
		climbed = capBPS * 3 / 2
	)
	s := startSession(t, Config{})

	s.link.setCap(capBPS)
	capped := s.watch(phase, nil)
	capEnd := time.Now()
	t.Logf("under %d kbit/s, GCC target/encoder kbit/s:%s", capBPS/1000, series(capped))

	last3s := median(capped, phase-window, phase+time.Second)
	firstUnder, lastOver := crossings(capped, capBPS)
	frames := s.sink.wholeSince(capEnd.Add(-window))
	t.Logf("cap: first under the cap at %.1f s, last over it at %.1f s; median of the last 3 s %d kbit/s; %d whole frames in the last 3 s",
		firstUnder.Seconds(), lastOver.Seconds(), last3s/1000, frames)
	if last3s >= capBPS {
		t.Errorf("median target over the last 3 s of %v under the cap is %d bit/s, want under %d", phase, last3s, capBPS)
	}
	// A collapse to the floor is not settling: the link still carries 300.
	if last3s < capBPS/3 {
		t.Errorf("median target over the last 3 s is %d bit/s, want at least a third of the %d bit/s link", last3s, capBPS)
	}
	// 30 fps for 3 s is 90 frames; a third of that shows video flowing.
	if frames < 30 {
		t.Errorf("only %d whole frames arrived in the last 3 s under the cap, want at least 30", frames)
	}
	if v := s.ctrl.VideoBitrate(); v <= 0 || v >= capBPS {
		t.Errorf("encoder bitrate under the cap is %d, want in (0, %d)", v, capBPS)
	}

	s.link.setCap(lifted)
	liftStart := time.Now()
	up := s.watch(20*time.Second, func(smp sample) bool { return smp.target >= climbed })
	last := up[len(up)-1]
	t.Logf("cap lifted to %d kbit/s, GCC target/encoder kbit/s:%s", lifted/1000, series(up))
	t.Logf("lift: target %d kbit/s after %.1f s (wanted %d)", last.target/1000, time.Since(liftStart).Seconds(), climbed/1000)
	if last.target < climbed {
		t.Errorf("target is %d bit/s 20 s after the cap lifted, want at least %d; GCC state %v",
			last.target, climbed, s.tx.Estimator().Details())
	}
}

// TestNetworkLossRecovered: with 5 % random loss towards the receiver, NACK
// and RTX repair what is lost and nearly every frame arrives whole. Frames
// span several packets here (about 4 at 1 Mbit/s), so without repair only
// about 0.95^4 ≈ 81 % of them would.
func TestNetworkLossRecovered(t *testing.T) {
	if testing.Short() { // make test-unit: 9 s of real time; make test runs it
		t.Skip("9 s of real time: -short (make test-unit) leaves it to make test")
	}
	const (
		lossPercent = 5
		run         = 8 * time.Second
		settle      = time.Second // frames still in flight at the end
	)
	s := startSession(t, Config{})
	must(t, s.link.loss.SetLossRate(lossPercent, true))
	txStats, rxStats := NewStatsReader(s.tx), NewStatsReader(s.rx)
	txStats.SentFrames = s.enc
	tx0, rx0 := txStats.Read(), rxStats.Read()

	from := time.Now()
	time.Sleep(run)
	to := time.Now().Add(-settle)
	tx1, rx1 := txStats.Read(), rxStats.Read()

	sent := s.enc.sentBetween(from, to)
	whole := s.sink.wholeOf(s.enc, from, to)
	_, broken := s.sink.counts()
	packets := tx1.Sent.Packets - tx0.Sent.Packets
	frames := tx1.Sent.FPS * tx1.At.Sub(tx0.At).Seconds()
	t.Logf("%d %% loss: %d of %d frames whole (%.1f %%), %d broken samples; %.1f packets per frame; receiver sent %d NACKs, lost %d packets before repair (%.1f %%); sender target %d kbit/s, sent %d kbit/s, RTT %v",
		lossPercent, whole, sent, 100*float64(whole)/float64(max(sent, 1)), broken, float64(packets)/max(frames, 1),
		rx1.Received.NACKs-rx0.Received.NACKs, rx1.Received.Lost-rx0.Received.Lost, 100*rx1.Received.LossRate,
		tx1.TargetBitrate/1000, tx1.Sent.Bitrate/1000, tx1.RTT)

	if sent < int(run.Seconds()-settle.Seconds())*testFPS/2 {
		t.Fatalf("the encoder wrote only %d frames in %v", sent, run-settle)
	}
	// Without repair this test would see about 81 %; 97 % leaves room for
	// a retransmission lost twice and for a slow machine.
	if float64(whole) < 0.97*float64(sent) {
		t.Errorf("%d of %d frames arrived whole at 5 %% loss, want at least 97 %%", whole, sent)
	}
	if float64(packets) < 2*frames {
		t.Errorf("%d packets for %.0f frames: frames must span several packets for this test to show repair", packets, frames)
	}
	if rx1.Received.NACKs == rx0.Received.NACKs {
		t.Error("the receiver sent no NACK at 5 % loss")
	}
	if rx1.Received.Lost == rx0.Received.Lost {
		t.Error("the receiver saw no loss: the loss filter is not in the path")
	}
	if broken != 0 {
		t.Errorf("%d reassembled frames were corrupt", broken)
	}
	// The status figures agree with what the test itself saw.
	if tx1.Sent.FPS < testFPS*2/3 || tx1.Sent.FPS > testFPS*4/3 {
		t.Errorf("stats: sent %.1f fps, want about %d", tx1.Sent.FPS, testFPS)
	}
	if tx1.Sent.Bitrate < tx1.TargetBitrate/2 || rx1.Received.Bitrate < tx1.TargetBitrate/2 {
		t.Errorf("stats: sent %d and received %d bit/s against a target of %d", tx1.Sent.Bitrate, rx1.Received.Bitrate, tx1.TargetBitrate)
	}
	if tx1.RTT < linkDelay || tx1.RTT > time.Second {
		t.Errorf("stats: RTT %v, want between the link's %v one way and 1 s", tx1.RTT, linkDelay)
	}
	if tx1.Sent.NACKs == 0 || tx1.Sent.Lost == 0 {
		t.Errorf("stats: the sender saw %d NACKs and %d packets reported lost, want both above 0", tx1.Sent.NACKs, tx1.Sent.Lost)
	}
}

// TestNetworkKeyFrameRequests: a PLI or FIR from the receiver makes the
// sender's encoder start a key frame, which then reaches the receiver; a
// burst of requests is served at most once per interval, plus once at its
// end.
func TestNetworkKeyFrameRequests(t *testing.T) {
	s := startSession(t, Config{})
	s.sink.mu.Lock()
	ssrc := uint32(s.sink.ssrc)
	s.sink.mu.Unlock()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s (requests %d, key frames forced %d)", what, s.feedback.Requests(), s.feedback.KeyFrames())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	keysBefore, _ := s.sink.counts()
	must(t, s.rx.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}))
	waitFor("PLI forces a key frame", func() bool { return s.enc.forced.Load() == 1 })
	waitFor("the key frame reaches the receiver", func() bool { k, _ := s.sink.counts(); return k > keysBefore })

	time.Sleep(DefaultKeyFrameInterval)
	must(t, s.rx.WriteRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{
		MediaSSRC: ssrc, FIR: []rtcp.FIREntry{{SSRC: ssrc, SequenceNumber: 1}},
	}}))
	waitFor("FIR forces a key frame", func() bool { return s.enc.forced.Load() == 2 })

	// Five PLIs at once, inside the interval of the FIR's key frame: one
	// key frame when the interval ends, however many asked.
	for range 5 {
		must(t, s.rx.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}))
	}
	waitFor("all requests arrive", func() bool { return s.feedback.Requests() == 7 })
	time.Sleep(2 * DefaultKeyFrameInterval)
	if n := s.enc.forced.Load(); n != 3 {
		t.Errorf("a burst of 5 PLIs forced %d key frames in total, want 3 (PLI, FIR, one for the burst)", n)
	}
}
