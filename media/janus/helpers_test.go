package janus_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/roomd/roomd/internal/janustest"
	"github.com/roomd/roomd/media/janus"
)

// peerConnections makes PeerConnections the way an engine would (default
// codecs and interceptors) that gather host candidates only on Janus'
// media address.
func peerConnections(ip net.IP) func() (*webrtc.PeerConnection, error) {
	return func() (*webrtc.PeerConnection, error) {
		m := &webrtc.MediaEngine{}
		if err := m.RegisterDefaultCodecs(); err != nil {
			return nil, err
		}
		ir := &interceptor.Registry{}
		if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
			return nil, err
		}
		var se webrtc.SettingEngine
		se.SetIPFilter(func(a net.IP) bool { return a.Equal(ip) })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		if err := janus.ConfigureSettingEngine(&se); err != nil {
			return nil, err
		}
		api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
		return api.NewPeerConnection(webrtc.Configuration{})
	}
}

// participant is one room system in a test: a session of the client under
// test that publishes a VP8 and an Opus track and counts what it receives.
type participant struct {
	t       *testing.T
	display string
	s       *janus.Session
	pub     *webrtc.PeerConnection

	mu        sync.Mutex
	remotes   map[string]*janus.Remote            // by display
	packets   map[string]map[string]*atomic.Int64 // display -> kind -> RTP packets
	newRemote chan *janus.Remote
}

func testLogger(t testing.TB, name string) *slog.Logger {
	if os.Getenv("JANUS_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("who", name)
}

func (p *participant) options(srv *janustest.Server, room uint64, pin string) janus.Options {
	return janus.Options{
		URL:               srv.URL,
		Room:              room,
		PIN:               pin,
		Display:           p.display,
		NewPeerConnection: peerConnections(srv.MediaIP),
		OnRemote:          p.onRemote,
		Logger:            testLogger(p.t, p.display),
	}
}

func newParticipant(t *testing.T, display string) *participant {
	return &participant{
		t:         t,
		display:   display,
		remotes:   map[string]*janus.Remote{},
		packets:   map[string]map[string]*atomic.Int64{},
		newRemote: make(chan *janus.Remote, 16),
	}
}

// join joins room and publishes; it fails the test on error.
func join(t *testing.T, srv *janustest.Server, room uint64, pin, display string) *participant {
	t.Helper()
	p := newParticipant(t, display)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := janus.Join(ctx, p.options(srv, room, pin))
	if err != nil {
		t.Fatalf("%s: Join: %v", display, err)
	}
	p.s = s
	t.Cleanup(func() { s.Close() })
	p.publish(ctx, srv.MediaIP)
	return p
}

// onRemote is the engine's setup hook: count RTP per kind on every track.
func (p *participant) onRemote(r *janus.Remote) {
	counts := map[string]*atomic.Int64{"audio": {}, "video": {}}
	p.mu.Lock()
	p.remotes[r.Feed.Display] = r
	p.packets[r.Feed.Display] = counts
	p.mu.Unlock()
	r.PC.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		p.t.Logf("%s %s: subscription to %s: ICE %s", time.Now().Format("15:04:05.000"), p.display, r.Feed.Display, st)
	})
	r.PC.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := counts[track.Kind().String()]
		for {
			if _, _, err := track.ReadRTP(); err != nil {
				return
			}
			n.Add(1)
		}
	})
	p.newRemote <- r
}

func (p *participant) publish(ctx context.Context, ip net.IP) {
	p.t.Helper()
	pc, err := peerConnections(ip)()
	if err != nil {
		p.t.Fatal(err)
	}
	p.pub = pc
	p.t.Cleanup(func() { pc.Close() })
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", p.display)
	if err != nil {
		p.t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", p.display)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{audio, video} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			p.t.Fatal(err)
		}
	}
	if err := p.s.Publish(ctx, pc); err != nil {
		p.t.Fatalf("%s: Publish: %v", p.display, err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	p.t.Cleanup(func() { close(stop); wg.Wait() })
	go send(&wg, stop, video, vp8KeyFrame(), 33*time.Millisecond)
	go send(&wg, stop, audio, []byte{0xf8, 0xff, 0xfe}, 20*time.Millisecond) // Opus silence
}

func send(wg *sync.WaitGroup, stop chan struct{}, tr *webrtc.TrackLocalStaticSample, frame []byte, every time.Duration) {
	defer wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = tr.WriteSample(media.Sample{Data: frame, Duration: every})
		}
	}
}

// vp8KeyFrame is a VP8 key frame header (320×240) with padding: enough for
// Janus to see a key frame; nobody decodes it here.
func vp8KeyFrame() []byte {
	f := []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
	return append(f, make([]byte, 200)...)
}

// remote waits for the subscription to display.
func (p *participant) remote(display string, within time.Duration) *janus.Remote {
	p.t.Helper()
	deadline := time.After(within)
	for {
		p.mu.Lock()
		r := p.remotes[display]
		p.mu.Unlock()
		if r != nil {
			return r
		}
		select {
		case <-p.newRemote:
		case <-deadline:
			p.t.Fatalf("%s: no subscription to %s within %v (feeds %v)", p.display, display, within, p.s.Feeds())
		}
	}
}

// waitMedia waits until audio and video RTP from display has arrived.
func (p *participant) waitMedia(display string, within time.Duration) {
	p.t.Helper()
	p.remote(display, within)
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		c := p.packets[display]
		p.mu.Unlock()
		a, v := c["audio"].Load(), c["video"].Load()
		if a > 0 && v > 0 {
			p.t.Logf("%s received from %s: %d audio, %d video RTP packets", p.display, display, a, v)
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: from %s only %d audio, %d video RTP packets within %v", p.display, display, a, v, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitDone(t *testing.T, what string, done <-chan struct{}, within time.Duration) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("%s did not end within %v", what, within)
	}
}

// checkNoGoroutines fails t if goroutines of this package outlive their
// sessions.
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var left []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "roomd/media/janus.") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of package janus still running:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
