// Package call puts the room into meetings: it implements room.CallEngine
// on top of the capture sources, the encoders, pion's transport with
// congestion control and the meeting providers its caller registers
// (Config.Providers: media/call/janusprovider for Janus VideoRooms,
// media/call/whipprovider to publish with WHIP and receive with WHEP), and
// feeds what it receives to the display compositor.
//
// One goroutine runs each call. It reports to the room only through the
// report function (room.Room.Report), never by touching state: InCall once
// media flows, Reconnecting while it rejoins after the server or the network
// dropped it, Failed with a reason a person understands, Idle when it left.
//
// # Files
//
// engine.go holds the engine's life (New, Start, End); session.go the
// rejoin loop, the provider seam and the failure classes; send.go the
// sender (capture, encode, tracks); receive.go decoding what the meeting
// sends; raw.go the same media for providers that carry it without a
// PeerConnection (provider.RawMedia: SIP); stats.go the figures reported
// to the room; e2ee.go SFrame end-to-end encryption of the frames for
// Janus links with e2ee=sframe (docs/e2ee.md).
package call

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	roommedia "github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/media/playout"
	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/room"
)

// Sources open the room's camera and microphone for a call.
type Sources struct {
	Video func() (capture.VideoSource, error)
	Audio func() (capture.AudioSource, error)
}

// Config configures the engine. Zero fields take defaults.
type Config struct {
	Display    string // name shown to the other participants
	Sources    Sources
	Mic        *roommedia.Gate // closed = muted
	Camera     *roommedia.Gate // closed = privacy
	Compositor *display.Compositor
	// Playout mixes the participants' audio for the speaker; nil drops it.
	Playout *playout.Mixer
	// Video encoder preferences and limits.
	Codecs     []string // MIME types, best first; default H.264 then VP8
	NoHardware bool
	Width      int
	Height     int
	FPS        float64
	Transport  transport.Config
	// Rejoin backoff after the server or network dropped the call.
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
	// Links reads meeting links; nil means meetinglink.Standard().
	Links *meetinglink.Registry
	// Providers join the meetings, by the provider name a link gives
	// (Target.Provider). A link whose provider is not here fails the call
	// with ErrUnsupportedLink.
	Providers Providers
}

// Engine runs calls. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	report func(room.Report)
	log    *slog.Logger
	fac    *transport.Factory

	mu    sync.Mutex
	calls map[uint64]*activeCall
	stats Stats
	caps  caps        // the fleet's media caps (caps.go)
	prov  Provider    // the provider of the session in progress (protocol.go)
	crypt *frameCrypt // the call's end-to-end encryption, nil for none (e2ee.go)
}

// Stats is what the engine knows about the current call, for status.
type Stats struct {
	Protocol      string // which provider carries the call: "Janus", "WHIP", "SIP"
	Encryption    string // the call's media encryption, e.g. "DTLS-SRTP" (protocol.go, e2ee.go)
	Encoder       string // which encoder and why
	VideoSource   string
	AudioSource   string
	TargetBitrate int // bit/s, from congestion control
	FramesSent    uint64
	Participants  []string
	FramesDecoded map[string]uint64 // per remote participant
	AudioPackets  map[string]uint64
	// Received is each remote participant's video as roomd decodes it.
	Received map[string]ReceivedVideo
	// RecvBitrate is what the meeting sends roomd, bit/s of RTP payload
	// (audio and video of every participant), over the last report.
	RecvBitrate int
	// Decrypt is how each participant's end-to-end encrypted frames fare
	// (empty without end-to-end encryption).
	Decrypt map[string]Decryption
}

// ReceivedVideo is one remote participant's video as decoded.
type ReceivedVideo struct {
	Width, Height int     // of the last picture decoded
	FPS           float64 // pictures decoded per second over the last report
	Bitrate       int     // bit/s of RTP payload (audio and video) over the last report

	frames, bytes uint64 // running totals behind the rates
}

type activeCall struct {
	ctx    context.Context // ends with the call, for its tones (control.go)
	m      room.Meeting
	cancel context.CancelFunc
	done   chan struct{}
	ended  atomic.Bool
}

// New makes an engine; report receives the call's progress (room.Room.Report).
func New(cfg Config, report func(room.Report)) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Mic == nil {
		cfg.Mic = &roommedia.Gate{}
	}
	if cfg.Camera == nil {
		cfg.Camera = &roommedia.Gate{}
	}
	if cfg.Display == "" {
		cfg.Display = "roomd"
	}
	if cfg.FPS == 0 {
		cfg.FPS = 30
	}
	if cfg.Links == nil {
		cfg.Links = meetinglink.Standard()
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 10 * time.Second
	}
	if cfg.Sources.Video == nil || cfg.Sources.Audio == nil {
		return nil, errors.New("call: the engine needs a video and an audio source")
	}
	tc := cfg.Transport
	user := tc.SettingEngine
	tc.SettingEngine = func(se *webrtc.SettingEngine) {
		for _, name := range cfg.Providers.names() {
			if c, ok := cfg.Providers[name].(SettingEngineConfigurer); ok {
				c.ConfigureSettingEngine(se)
			}
		}
		if user != nil {
			user(se)
		}
	}
	fac, err := transport.New(tc)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, report: report, log: cfg.Logger, fac: fac, calls: map[uint64]*activeCall{}}, nil
}

// Stats returns a copy of the current call's figures.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Participants = append([]string(nil), s.Participants...)
	s.FramesDecoded, s.AudioPackets, s.Received = map[string]uint64{}, map[string]uint64{}, map[string]ReceivedVideo{}
	s.Decrypt = maps.Clone(e.stats.Decrypt)
	for k, v := range e.stats.Received {
		s.Received[k] = v
	}
	for k, v := range e.stats.FramesDecoded {
		s.FramesDecoded[k] = v
	}
	for k, v := range e.stats.AudioPackets {
		s.AudioPackets[k] = v
	}
	return s
}

// Start begins call seq; it returns at once and reports progress.
func (e *Engine) Start(ctx context.Context, seq uint64, m room.Meeting) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &activeCall{ctx: ctx, m: m, cancel: cancel, done: make(chan struct{})}
	e.mu.Lock()
	e.calls[seq] = c
	e.stats = Stats{FramesDecoded: map[string]uint64{}, AudioPackets: map[string]uint64{}, Received: map[string]ReceivedVideo{}, Decrypt: map[string]Decryption{}}
	e.crypt = nil
	e.mu.Unlock()
	go func() {
		defer close(c.done)
		defer cancel()
		e.run(ctx, seq, m, c)
		e.mu.Lock()
		delete(e.calls, seq)
		e.mu.Unlock()
	}()
}

// End leaves call seq; it returns at once and reports Idle when it has left.
func (e *Engine) End(seq uint64) {
	e.mu.Lock()
	c := e.calls[seq]
	e.mu.Unlock()
	if c == nil {
		e.report(room.CallReported{Seq: seq, State: room.Idle})
		return
	}
	c.ended.Store(true)
	c.cancel()
}

// Wait blocks until every call has finished, for an orderly shutdown.
func (e *Engine) Wait() {
	e.mu.Lock()
	var cs []*activeCall
	for _, c := range e.calls {
		cs = append(cs, c)
	}
	e.mu.Unlock()
	for _, c := range cs {
		<-c.done
	}
}
