package transport

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

func TestConfigDefaults(t *testing.T) {
	for _, tc := range []struct {
		in            Config
		min, st, cap_ int
		err           bool
	}{
		{in: Config{}, min: 150_000, st: 1_000_000, cap_: 2_500_000},
		{in: Config{MaxBitrate: 500_000}, min: 150_000, st: 500_000, cap_: 500_000},
		{in: Config{MinBitrate: 3_000_000}, min: 3_000_000, st: 3_000_000, cap_: 3_000_000},
		{in: Config{MinBitrate: 300_000, StartBitrate: 200_000}, err: true},
		{in: Config{StartBitrate: 4_000_000}, err: true},
		{in: Config{MinBitrate: -1}, err: true},
	} {
		got, err := tc.in.withDefaults()
		if tc.err {
			if !errors.Is(err, ErrBadBitrates) {
				t.Errorf("%+v: err %v, want ErrBadBitrates", tc.in, err)
			}
			continue
		}
		if err != nil || got.MinBitrate != tc.min || got.StartBitrate != tc.st || got.MaxBitrate != tc.cap_ {
			t.Errorf("%+v: got %d/%d/%d (%v), want %d/%d/%d", tc.in,
				got.MinBitrate, got.StartBitrate, got.MaxBitrate, err, tc.min, tc.st, tc.cap_)
		}
	}
	if _, err := New(Config{VideoCodecs: []string{"video/AV1"}}); err == nil || !strings.HasPrefix(err.Error(), "transport: ") {
		t.Errorf("unknown codec: err %v, want a transport: error", err)
	}
}

// offerSDP returns the SDP offer of a fresh PeerConnection with an audio and
// a video transceiver.
func offerSDP(t *testing.T, cfg Config) string {
	t.Helper()
	f, err := New(cfg)
	must(t, err)
	pc, err := f.NewPeerConnection()
	must(t, err)
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		_, err := pc.AddTransceiverFromKind(k)
		must(t, err)
	}
	offer, err := pc.CreateOffer(nil)
	must(t, err)
	return offer.SDP
}

func TestOfferAdvertisesCodecsAndFeedback(t *testing.T) {
	sdp := offerSDP(t, Config{})
	for _, want := range []string{
		"a=rtpmap:111 opus/48000/2",
		"a=rtpmap:106 H264/90000", "profile-level-id=42e01f",
		"a=rtpmap:102 H264/90000",
		"a=rtpmap:96 VP8/90000",
		"a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
		"a=rtpmap:107 rtx/90000", "a=fmtp:107 apt=106",
		"a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 ccm fir", "a=rtcp-fb:96 transport-cc",
		"a=rtcp-fb:111 transport-cc",
		"transport-wide-cc-extensions",
	} {
		if !strings.Contains(sdp, want) {
			t.Errorf("offer lacks %q:\n%s", want, sdp)
		}
	}
	if strings.Contains(sdp, "goog-remb") {
		t.Error("offer advertises REMB; the sender estimates with TWCC")
	}
	if !strings.Contains(sdp, "m=video 9 UDP/TLS/RTP/SAVPF 106 107 102 103 96 97") {
		t.Errorf("default video preference is not H.264 then VP8:\n%s", sdp)
	}
	vp8First := offerSDP(t, Config{VideoCodecs: []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264}})
	if !strings.Contains(vp8First, "m=video 9 UDP/TLS/RTP/SAVPF 96 97 106") {
		t.Errorf("VideoCodecs VP8 first is not honoured:\n%s", vp8First)
	}
}

// TestEstimatorsBelongToTheirPeerConnection builds several PeerConnections
// from one Factory at once, then sends media one way between two of them over
// loopback: only the sender's estimator moves.
func TestEstimatorsBelongToTheirPeerConnection(t *testing.T) {
	f, err := New(Config{SettingEngine: func(se *webrtc.SettingEngine) {
		// The hook as used to pin ICE to one interface and address.
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}})
	must(t, err)

	pcs := make([]*PeerConnection, 6)
	var wg sync.WaitGroup
	for i := range pcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := f.NewPeerConnection()
			if err != nil {
				t.Error(err)
				return
			}
			pcs[i] = pc
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	seen := map[*Estimator]bool{}
	for _, pc := range pcs {
		defer pc.Close()
		if pc.Estimator() == nil || seen[pc.Estimator()] || pc.stats == nil {
			t.Fatalf("PeerConnection %s has a missing or shared estimator or stats", pc.ID())
		}
		seen[pc.Estimator()] = true
	}

	// pcs[4] sends to pcs[1]; the rest stay idle.
	tx, rx := pcs[4], pcs[1]
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "s")
	must(t, err)
	sender, err := tx.AddTrack(track)
	must(t, err)
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})
	signal(t, tx.PeerConnection, rx.PeerConnection)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	defer func() {
		cancel()
		_ = tx.Close()
		_ = rx.Close()
		<-done
		<-done
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		_ = (&SenderFeedback{Sender: sender}).Run(ctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		frame := make([]byte, 3000)
		for ctx.Err() == nil {
			_ = track.WriteSample(media.Sample{Data: frame, Duration: time.Second / 30})
			time.Sleep(time.Second / 30)
		}
	}()

	start := f.Config().StartBitrate
	deadline := time.Now().Add(10 * time.Second)
	for tx.Estimator().TargetBitrate() == start {
		if time.Now().After(deadline) {
			t.Fatalf("the sender's estimate stayed at %d bit/s for 10 s of media", start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, pc := range pcs {
		if pc != tx && pc.Estimator().TargetBitrate() != start {
			t.Errorf("PeerConnection %d sent nothing, yet its estimate moved to %d", i, pc.Estimator().TargetBitrate())
		}
	}
}
