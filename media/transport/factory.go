package transport

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// Bitrate defaults, in bit/s, for the whole send budget of a PeerConnection.
const (
	DefaultMinBitrate   = 150_000
	DefaultStartBitrate = 1_000_000
	DefaultMaxBitrate   = 2_500_000
)

// nacksPerPacket bounds how often the receiver asks for one lost packet.
const nacksPerPacket = 2

// Config describes the PeerConnections a Factory builds. The zero value is
// usable: every zero field takes its default.
type Config struct {
	// MinBitrate, StartBitrate and MaxBitrate bound the congestion
	// controller's send estimate (bit/s, audio and video together):
	// the floor, the estimate before any feedback, and the cap.
	MinBitrate, StartBitrate, MaxBitrate int

	// VideoCodecs lists video MIME types in order of preference; only
	// webrtc.MimeTypeH264 and webrtc.MimeTypeVP8 are known. Default: H.264,
	// then VP8 (a hardware H.264 encoder is the cheap path on a Pi).
	VideoCodecs []string

	// ICEServers are the STUN and TURN servers of every PeerConnection.
	ICEServers []webrtc.ICEServer

	// SettingEngine, if set, adjusts pion's SettingEngine before the API is
	// built: a virtual network in tests, ICE restricted to some interfaces
	// or addresses, 1:1 NAT addresses, timeouts.
	SettingEngine func(*webrtc.SettingEngine)
}

// withDefaults fills zero fields and checks that the bitrates are ordered.
func (c Config) withDefaults() (Config, error) {
	if c.MinBitrate == 0 {
		c.MinBitrate = DefaultMinBitrate
	}
	if c.MaxBitrate == 0 {
		c.MaxBitrate = max(DefaultMaxBitrate, c.MinBitrate)
	}
	if c.StartBitrate == 0 {
		c.StartBitrate = min(max(DefaultStartBitrate, c.MinBitrate), c.MaxBitrate)
	}
	if c.MinBitrate < 0 || c.MinBitrate > c.StartBitrate || c.StartBitrate > c.MaxBitrate {
		return c, fmt.Errorf("%w: floor %d, start %d and cap %d bit/s must be positive and ascending",
			ErrBadBitrates, c.MinBitrate, c.StartBitrate, c.MaxBitrate)
	}
	if len(c.VideoCodecs) == 0 {
		c.VideoCodecs = []string{webrtc.MimeTypeH264, webrtc.MimeTypeVP8}
	}
	return c, nil
}

// ErrBadBitrates reports a floor, start or cap that cannot be used.
var ErrBadBitrates = errors.New("transport: bad bitrates")

// Factory builds PeerConnections that share one configured webrtc.API.
// It is safe for concurrent use.
type Factory struct {
	cfg Config
	api *webrtc.API
	// recv builds PeerConnections that only receive: no send-side
	// congestion controller, whose pacer would tick every 5 ms for
	// nothing.
	recv *webrtc.API

	// mu serialises NewPeerConnection: pion builds a PeerConnection's
	// interceptors synchronously inside webrtc.API.NewPeerConnection, so
	// while mu is held the per-PeerConnection callbacks below can only be
	// about the PeerConnection being built, whatever its ID.
	mu        sync.Mutex
	building  bool
	estimator *Estimator
	estID     string
	stats     stats.Getter
	statsID   string
}

// New builds a Factory for cfg.
func New(cfg Config) (*Factory, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Factory{cfg: cfg}

	se := webrtc.SettingEngine{}
	if cfg.SettingEngine != nil {
		cfg.SettingEngine(&se)
	}
	if f.api, err = f.newAPI(se, true); err != nil {
		return nil, err
	}
	if f.recv, err = f.newAPI(se, false); err != nil {
		return nil, err
	}
	return f, nil
}

// newAPI builds a pion API with roomd's codecs and interceptors; send adds
// the congestion controller.
func (f *Factory) newAPI(se webrtc.SettingEngine, send bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m, f.cfg.VideoCodecs); err != nil {
		return nil, err
	}

	reg := &interceptor.Registry{}
	// The congestion controller goes first: interceptors added later wrap
	// it, so everything written — media, RTX from the NACK responder,
	// audio — passes its pacer and is counted, with the TWCC sequence
	// number already stamped, just before it leaves.
	if send {
		ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
			return newFixedGCC(f.cfg)
		})
		if err != nil {
			return nil, fmt.Errorf("transport: congestion controller: %w", err)
		}
		ccf.OnNewPeerConnection(f.onEstimator)
		reg.Add(ccf)
	}

	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, fmt.Errorf("transport: TWCC header extension: %w", err)
	}
	// pion's own stats interceptor feeds pc.GetStats (inbound-rtp); ours
	// adds what GetStats leaves out: outbound counters and the far end's
	// reports about them. Both sit inside the NACK interceptors so that
	// they count the NACKs sent and the retransmissions.
	if err := webrtc.ConfigureStatsInterceptor(reg); err != nil {
		return nil, fmt.Errorf("transport: stats: %w", err)
	}
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, fmt.Errorf("transport: stats: %w", err)
	}
	sf.OnNewPeerConnection(f.onStats)
	reg.Add(sf)
	// pion's NACK generator never learns that a packet arrived by RTX (it
	// watches the primary stream only), so unbounded it asks again every
	// 100 ms for as long as the packet stays in its 512-packet window: on a
	// capped link that retransmission storm filled the queue (300 ms RTT,
	// 10–20 kbit/s of video getting through). Two requests per packet keep
	// one retry for a lost retransmission and bound the overhead at twice
	// the loss rate.
	if err := webrtc.ConfigureNackWithOptions(m, reg,
		[]nack.GeneratorOption{nack.GeneratorMaxNacksPerPacket(nacksPerPacket)}); err != nil {
		return nil, fmt.Errorf("transport: NACK: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("transport: RTCP reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, fmt.Errorf("transport: TWCC feedback: %w", err)
	}

	return webrtc.NewAPI(
		webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se),
	), nil
}

// Config returns the configuration in use, defaults filled in.
func (f *Factory) Config() Config { return f.cfg }

// onEstimator is the cc interceptor's per-PeerConnection callback.
func (f *Factory) onEstimator(id string, bwe cc.BandwidthEstimator) {
	e := newEstimator(bwe)
	// Only NewPeerConnection builds interceptors, and it holds f.mu while
	// doing so; no lock is taken here because this runs inside that call.
	if !f.building {
		return
	}
	f.estimator, f.estID = e, id
}

// onStats is the stats interceptor's per-PeerConnection callback.
func (f *Factory) onStats(id string, g stats.Getter) {
	if !f.building {
		return
	}
	f.stats, f.statsID = g, id
}

// NewPeerConnection builds a PeerConnection with its bandwidth estimator.
func (f *Factory) NewPeerConnection() (*PeerConnection, error) {
	return f.newPeerConnection(true)
}

// NewReceivePeerConnection builds a PeerConnection that only receives (a
// subscription to the meeting's feeds): NACK, reports and transport-wide
// feedback as usual, but no send-side estimator, so Estimator returns nil.
func (f *Factory) NewReceivePeerConnection() (*PeerConnection, error) {
	return f.newPeerConnection(false)
}

func (f *Factory) newPeerConnection(send bool) (*PeerConnection, error) {
	api := f.recv
	if send {
		api = f.api
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.building = true
	f.estimator, f.estID, f.stats, f.statsID = nil, "", nil, ""
	defer func() {
		f.building = false
		f.estimator, f.stats = nil, nil
	}()

	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: f.cfg.ICEServers})
	if err != nil {
		return nil, fmt.Errorf("transport: new PeerConnection: %w", err)
	}
	if (send && (f.estimator == nil || f.estID != pc.ID())) || f.stats == nil || f.statsID != pc.ID() {
		_ = pc.Close()
		return nil, fmt.Errorf("transport: PeerConnection %s was built without its interceptors (estimator for %q, stats for %q)",
			pc.ID(), f.estID, f.statsID)
	}
	return &PeerConnection{PeerConnection: pc, estimator: f.estimator, stats: f.stats}, nil
}

// PeerConnection is a pion PeerConnection with the congestion controller
// and statistics that belong to it.
type PeerConnection struct {
	*webrtc.PeerConnection
	estimator *Estimator
	stats     stats.Getter
}

// Estimator returns the PeerConnection's send-side bandwidth estimator.
func (p *PeerConnection) Estimator() *Estimator { return p.estimator }

// Estimator is the GCC send-side bandwidth estimate of one PeerConnection.
type Estimator struct {
	bwe     cc.BandwidthEstimator
	changed chan struct{}
}

func newEstimator(bwe cc.BandwidthEstimator) *Estimator {
	e := &Estimator{bwe: bwe, changed: make(chan struct{}, 1)}
	// Registered before any packet flows: pion reads the callback under
	// its own lock but writes it without one. The callback only wakes the
	// reader; pion fires each change on a new goroutine, so values could
	// arrive out of order, and TargetBitrate is the one to trust.
	bwe.OnTargetBitrateChange(func(int) {
		select {
		case e.changed <- struct{}{}:
		default:
		}
	})
	return e
}

// TargetBitrate returns the current estimate in bit/s.
func (e *Estimator) TargetBitrate() int { return e.bwe.GetTargetBitrate() }

// Changed receives a value, coalesced, after the estimate changes. It is
// meant for one reader, usually a Controller.
func (e *Estimator) Changed() <-chan struct{} { return e.changed }

// Details returns GCC's internal state (loss and delay estimates, usage,
// state) for diagnostics.
func (e *Estimator) Details() map[string]any { return e.bwe.GetStats() }

// registerCodecs registers Opus and the wanted video codecs, each video codec
// with its RTX companion. NACK, PLI and transport-cc feedback are added by
// the interceptor configuration that follows.
func registerCodecs(m *webrtc.MediaEngine, video []string) error {
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("transport: register Opus: %w", err)
	}

	fir := []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}}
	type videoCodec struct {
		pt   webrtc.PayloadType
		fmtp string
	}
	known := map[string][]videoCodec{
		strings.ToLower(webrtc.MimeTypeH264): {
			// Constrained baseline first: what browsers and SFUs expect.
			{106, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
			{102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"},
		},
		strings.ToLower(webrtc.MimeTypeVP8): {{96, ""}},
	}
	seen := map[string]bool{}
	for _, mime := range video {
		key := strings.ToLower(mime)
		variants, ok := known[key]
		if !ok {
			return fmt.Errorf("transport: video codec %q is not supported; use %s or %s",
				mime, webrtc.MimeTypeH264, webrtc.MimeTypeVP8)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, v := range variants {
			if err := m.RegisterCodec(webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{
					MimeType: mime, ClockRate: 90000, SDPFmtpLine: v.fmtp, RTCPFeedback: fir,
				},
				PayloadType: v.pt,
			}, webrtc.RTPCodecTypeVideo); err != nil {
				return fmt.Errorf("transport: register %s: %w", mime, err)
			}
			if err := m.RegisterCodec(webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{
					MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", v.pt),
				},
				PayloadType: v.pt + 1,
			}, webrtc.RTPCodecTypeVideo); err != nil {
				return fmt.Errorf("transport: register RTX for %s: %w", mime, err)
			}
		}
	}
	return nil
}
