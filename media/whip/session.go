package whip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Options say which endpoint to use and how the PeerConnection is made.
// Zero durations mean defaults.
type Options struct {
	// Endpoint is the WHIP endpoint (Publish) or the WHEP endpoint
	// (Receive): an http or https URL.
	Endpoint string
	// Token is the bearer token, sent as "Authorization: Bearer <token>"
	// with every request when set.
	Token string

	// NewPeerConnection makes the session's PeerConnection, so that the
	// engine's media engine and interceptors (NACK, RTX, TWCC, GCC) are
	// used. Nil means webrtc.NewPeerConnection with pion's defaults.
	NewPeerConnection func() (*webrtc.PeerConnection, error)
	// AddTracks adds what Publish sends to the fresh PeerConnection, before
	// the offer is made: AddTrack, or AddTransceiverFromTrack with
	// RTPTransceiverDirectionSendonly. Publish needs it; Receive ignores it.
	AddTracks func(*webrtc.PeerConnection) error
	// OnTrack receives each remote track that Receive's PeerConnection
	// gets, with that PeerConnection (for PLIs). It runs on a goroutine of
	// its own and may keep it to read the track. Publish ignores it.
	OnTrack func(*webrtc.PeerConnection, *webrtc.TrackRemote, *webrtc.RTPReceiver)
	// OnConnectionStateChange, if set, sees the PeerConnection's state
	// changes; the session owns pc.OnConnectionStateChange and passes them
	// on. Calls may arrive concurrently and out of order (pion runs each on
	// a goroutine of its own), including after Done.
	OnConnectionStateChange func(webrtc.PeerConnectionState)

	// AskICEServers sends an OPTIONS request to the endpoint before the
	// offer and adds the STUN and TURN servers its Link headers name to
	// the PeerConnection's. RFC 9725 allows this for clients that
	// cannot use the servers of the 201 answer; this one cannot, because it
	// sends its candidates in the offer. Servers that do not answer OPTIONS
	// cost one round trip.
	AskICEServers bool

	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds each HTTP request; past it the server counts as
	// unreachable. 0 means 10 s.
	RequestTimeout time.Duration
	// GatherTimeout bounds ICE gathering before the offer goes out with the
	// candidates found so far. 0 means 3 s.
	GatherTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.NewPeerConnection == nil {
		o.NewPeerConnection = func() (*webrtc.PeerConnection, error) {
			return webrtc.NewPeerConnection(webrtc.Configuration{})
		}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.GatherTimeout <= 0 {
		o.GatherTimeout = 3 * time.Second
	}
	return o
}

// Session is one WHIP or WHEP session: a PeerConnection and the resource
// the server made for it.
type Session struct {
	// PC carries the session's media. The session made it with
	// Options.NewPeerConnection and closes it when the session ends.
	PC *webrtc.PeerConnection

	x          *exchange
	log        *slog.Logger
	what       string // "WHIP" or "WHEP"
	resource   *url.URL
	iceServers []webrtc.ICEServer
	connected  chan struct{}
	done       chan struct{}

	mu     sync.Mutex
	isUp   bool
	ended  bool
	err    error
	hungUp bool // DELETE sent
}

// Publish sends media to a WHIP endpoint (RFC 9725): it makes a
// PeerConnection, lets opts.AddTracks add the tracks, POSTs the complete
// offer and applies the answer. It returns typed errors: ErrUnauthorized,
// ErrNotFound, ErrUnreachable, or an *HTTPError with the server's text.
// ctx bounds the publish only; the session lives until Leave, Close or the
// loss of its media.
func Publish(ctx context.Context, opts Options) (*Session, error) {
	if opts.AddTracks == nil {
		return nil, errors.New("whip: publish: nothing to send; set Options.AddTracks")
	}
	return start(ctx, "WHIP", opts, opts.AddTracks)
}

// Receive plays a WHEP endpoint (draft-ietf-wish-whep): it makes a
// PeerConnection with one receive-only video and one receive-only audio
// transceiver, POSTs the complete offer and applies the answer; each
// remote track goes to opts.OnTrack. Errors are those of Publish.
func Receive(ctx context.Context, opts Options) (*Session, error) {
	if opts.OnTrack == nil {
		return nil, errors.New("whip: receive: nowhere to send the media; set Options.OnTrack")
	}
	onTrack := opts.OnTrack
	return start(ctx, "WHEP", opts, func(pc *webrtc.PeerConnection) error {
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				return fmt.Errorf("adding a receive-only %s transceiver: %w", kind, err)
			}
		}
		pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) { onTrack(pc, t, r) })
		return nil
	})
}

func start(ctx context.Context, what string, opts Options, prepare func(*webrtc.PeerConnection) error) (*Session, error) {
	endpoint, err := url.Parse(opts.Endpoint)
	if err != nil || (endpoint.Scheme != "http" && endpoint.Scheme != "https") || endpoint.Host == "" {
		return nil, fmt.Errorf("whip: %s endpoint %q is not an http or https URL; check the meeting link", what, opts.Endpoint)
	}
	opts = opts.withDefaults()
	log := opts.Logger.With("protocol", what, "endpoint", redact(endpoint))
	s := &Session{
		x:         &exchange{hc: opts.HTTPClient, token: opts.Token, timeout: opts.RequestTimeout, log: log},
		log:       log,
		what:      what,
		connected: make(chan struct{}),
		done:      make(chan struct{}),
	}
	fail := func(err error) (*Session, error) {
		s.end(nil)
		return nil, err
	}

	var extra []webrtc.ICEServer
	if opts.AskICEServers {
		if extra, err = s.x.iceServers(ctx, endpoint); err != nil {
			return nil, err
		}
	}
	pc, err := opts.NewPeerConnection()
	if err != nil {
		return nil, fmt.Errorf("whip: %s: making a PeerConnection: %w", what, err)
	}
	s.PC = pc
	if len(extra) > 0 {
		// Before SetLocalDescription, so the first gathering uses them.
		cfg := pc.GetConfiguration()
		cfg.ICEServers = append(cfg.ICEServers, extra...)
		if err := pc.SetConfiguration(cfg); err != nil {
			return fail(fmt.Errorf("whip: %s: using the server's ICE servers: %w", what, err))
		}
		log.Info("whip: using the server's ICE servers", "count", len(extra))
	}
	if err := prepare(pc); err != nil {
		return fail(fmt.Errorf("whip: %s: %w", what, err))
	}
	onState := opts.OnConnectionStateChange
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.stateChanged(st)
		if onState != nil {
			onState(st)
		}
	})

	offer, err := s.gatheredOffer(ctx, opts.GatherTimeout)
	if err != nil {
		return fail(err)
	}
	resp, err := s.x.offer(ctx, what+" offer", endpoint, offer)
	if err != nil {
		return fail(err)
	}
	s.resource = resp.resource
	s.iceServers = ICEServersFromLinks(resp.header)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: resp.answer}); err != nil {
		// The server made a resource for us: tell it we are not coming.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		s.hangUp(dctx)
		cancel()
		return fail(fmt.Errorf("whip: %s: applying the server's answer: %w", what, err))
	}
	log.Info("whip: session started", "resource", redact(s.resource))
	return s, nil
}

// gatheredOffer makes the offer and waits, at most d, for ICE gathering to
// complete, so the offer carries the candidates (no trickle).
func (s *Session) gatheredOffer(ctx context.Context, d time.Duration) (string, error) {
	offer, err := s.PC.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("whip: %s: creating the offer: %w", s.what, err)
	}
	gathered := webrtc.GatheringCompletePromise(s.PC)
	if err := s.PC.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("whip: %s: %w", s.what, err)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		s.log.Warn("whip: ICE gathering incomplete; offering the candidates found so far", "after", d)
	case <-ctx.Done():
		return "", fmt.Errorf("whip: %s: gathering ICE candidates: %w", s.what, ctx.Err())
	}
	return s.PC.LocalDescription().SDP, nil
}

func (s *Session) stateChanged(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.mu.Lock()
		up := s.isUp
		s.isUp = true
		s.mu.Unlock()
		if !up {
			close(s.connected)
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		s.mu.Lock()
		leaving := s.hungUp
		s.mu.Unlock()
		if leaving {
			// The server hangs up as told.
			s.end(nil)
			return
		}
		s.end(fmt.Errorf("%w: the %s media connection %s", ErrSessionGone, s.what, st))
	}
}

// Resource is the session's URL on the server, from the Location of its
// answer, resolved against the endpoint.
func (s *Session) Resource() string { return s.resource.String() }

// ICEServers are the STUN and TURN servers the server named in the Link
// headers of its answer. The offer has gone out with its candidates by
// then, so they serve the next session (AskICEServers uses them at once).
func (s *Session) ICEServers() []webrtc.ICEServer {
	return append([]webrtc.ICEServer(nil), s.iceServers...)
}

// Connected is closed once the PeerConnection has connected (ICE and DTLS).
func (s *Session) Connected() <-chan struct{} { return s.connected }

// Done is closed when the session has ended and its PeerConnection is
// closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended: nil while it runs and after Leave or
// Close; an error matching ErrSessionGone when its media connection failed
// or closed, which calls for a new session.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Leave hangs up the polite way: DELETE the resource, then Close. The
// server may be gone already, so Leave closes the session whatever the
// DELETE's fate; leaving twice sends one DELETE.
func (s *Session) Leave(ctx context.Context) error {
	err := s.hangUp(ctx)
	s.Close()
	if err != nil {
		return fmt.Errorf("whip: %s leave was not clean (the server drops the resource when its media times out): %w", s.what, err)
	}
	return nil
}

func (s *Session) hangUp(ctx context.Context) error {
	s.mu.Lock()
	sent := s.hungUp
	s.hungUp = true
	s.mu.Unlock()
	if sent {
		return nil
	}
	return s.x.hangUp(ctx, s.resource)
}

// Close hangs up at once, without telling the server, and closes the
// PeerConnection. It is idempotent.
func (s *Session) Close() error {
	s.end(nil)
	<-s.done
	return nil
}

// end records why the session ended, once, and closes the PeerConnection.
func (s *Session) end(reason error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.err = true, reason
	s.mu.Unlock()
	if reason != nil {
		s.log.Warn("whip: session lost", "err", reason)
	}
	if s.PC != nil {
		if err := s.PC.Close(); err != nil {
			s.log.Debug("whip: closing the PeerConnection", "err", err)
		}
	}
	close(s.done)
}
