package transport

// The network tests' harness: two peers on a vnet link, a session between
// them, and readings of the sender's estimate (network_test.go says how the
// link is built).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v4/test"
	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
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
