package rtpmedia

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// Errors callers branch on.
var (
	// ErrNotStarted is returned by writes before Start.
	ErrNotStarted = errors.New("rtpmedia: stream not started; call Start with the negotiated remote first")
	// ErrUnsupportedCodec means the stream cannot carry the negotiated codec.
	ErrUnsupportedCodec = errors.New("rtpmedia: codec not supported; negotiate H264, VP8, opus, PCMU or PCMA")
)

// Options configures a stream; zero fields take defaults.
type Options struct {
	Logger *slog.Logger
	// MTU is the largest RTP payload sent; 0 means 1200 bytes.
	MTU int
	// RTCPInterval is the time between RTCP reports; 0 means 1 s.
	RTCPInterval time.Duration
	// Timeout is how long without a packet means the media stopped; 0
	// means 10 s.
	Timeout time.Duration
	// Rate bounds the loss-based controller (video streams).
	Rate RateConfig
	// CNAME is the RTCP canonical name; empty means a random one.
	CNAME string
	// Ports bounds the RTP/RTCP ports Listen binds (sip.rtp_ports); the
	// zero value lets the system choose.
	Ports PortRange
}

// Handlers are what the stream tells its user; nil ones are skipped. They
// run on the stream's goroutines and must not block for long.
type Handlers struct {
	// OnVideo gets each decoded picture; it belongs to the decoder and is
	// valid until the callback returns.
	OnVideo func(img *image.YCbCr)
	// OnAudio gets the far end's audio as 48 kHz mono PCM.
	OnAudio func(pcm []int16)
	// OnKeyFrameRequest says the far end asked for a key frame (PLI, FIR):
	// call the encoder's ForceKeyFrame.
	OnKeyFrameRequest func()
	// OnNeedKeyFrame says the decoder needs a key frame and the far end
	// negotiated no RTCP feedback to ask with: send SIP INFO
	// picture_fast_update.
	OnNeedKeyFrame func()
	// OnBitrate gets the send target in bit/s whenever it changes: the
	// encoder's SetBitRate.
	OnBitrate func(bps int)
	// OnDTMF gets each digit the far end sends as an RFC 4733
	// telephone-event (0-9 * # A-D), once, when it ends, with how long it
	// sounded. Digits may be a passcode: do not log them.
	OnDTMF func(digit rune, d time.Duration)
	// OnMediaStopped says no packet came for Options.Timeout; OnMediaResumed
	// says they came back.
	OnMediaStopped, OnMediaResumed func()
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MTU == 0 {
		o.MTU = 1200
	}
	if o.RTCPInterval == 0 {
		o.RTCPInterval = time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.CNAME == "" {
		o.CNAME = fmt.Sprintf("roomd-%08x", rand.Uint32())
	}
	return o
}

// Stream is one media (audio or video) of a call: its sockets, what it
// sends and what it receives. Its methods are safe for concurrent use.
type Stream struct {
	kind Kind
	opts Options
	h    Handlers
	log  *slog.Logger
	rtp  *net.UDPConn
	rtcp *net.UDPConn // nil once Start chose rtcp-mux

	rtpDst, rtcpDst atomic.Pointer[net.UDPAddr]
	started         atomic.Bool
	remote          Remote
	rxCodec         atomic.Pointer[Codec] // what the far end sends; Update changes it
	paused          atomic.Bool           // the far end takes no media (hold): send nothing
	ssrc            uint32

	// encrypted says the stream is SRTP; until DTLS has keyed it (srtpOut
	// and srtpIn nil) nothing is sent or played. dtls is the RTP
	// component's association, dtlsRTCP the RTCP one's without rtcp-mux.
	encrypted      bool
	dtls, dtlsRTCP *dtlsPacketConn
	// ice answers connectivity checks when roomd answered with ICE-lite;
	// nil otherwise.
	ice *iceResponder

	sendMu   sync.Mutex // sequence numbers, timestamps, SRTP out, the payloader
	srtpOut  *srtp.Context
	srtcpOut *srtp.Context // srtpOut but with DTLS on a separate RTCP port
	seq      uint16
	send     sendState

	recvMu  sync.Mutex // SRTP in (RTP and RTCP read on two goroutines)
	srtpIn  *srtp.Context
	srtcpIn *srtp.Context // as srtcpOut

	rate *RateController
	st   counters
	rx   reception
	// rxDTMF is owned by the RTP read loop.
	rxDTMF dtmfIn
	fb     feedbackState

	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  sync.Once
}

// Listen binds a stream's sockets on ip: an even RTP port chosen by the
// OS and the next port for RTCP (freed again if Start takes rtcp-mux).
func Listen(ip net.IP, kind Kind, opts Options) (*Stream, error) {
	rtpc, rtcpc, err := listenPair(ip, opts.Ports)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Stream{kind: kind, opts: opts, rtp: rtpc, rtcp: rtcpc, ssrc: rand.Uint32(), seq: uint16(rand.Uint32())}
	s.log = opts.Logger.With("media", kind.String())
	s.rate = NewRateController(opts.Rate)
	return s, nil
}

// Kind says whether the stream carries audio or video.
func (s *Stream) Kind() Kind { return s.kind }

// RTPAddr is the local RTP address, for the SDP's m= line.
func (s *Stream) RTPAddr() *net.UDPAddr { return s.rtp.LocalAddr().(*net.UDPAddr) }

// RTCPAddr is the local RTCP address (a=rtcp) before Start.
func (s *Stream) RTCPAddr() *net.UDPAddr {
	if s.rtcp == nil {
		return s.RTPAddr()
	}
	return s.rtcp.LocalAddr().(*net.UDPAddr)
}

// SSRC is the stream's sending SSRC.
func (s *Stream) SSRC() uint32 { return s.ssrc }

// Start sends to r and receives until ctx ends or Close, telling h what
// happens. It may be called once.
func (s *Stream) Start(ctx context.Context, r Remote, h Handlers) error {
	if r.RTP == nil {
		return errors.New("rtpmedia: the remote has no RTP address; check the SDP answer's c= and m= lines")
	}
	if s.started.Load() {
		return errors.New("rtpmedia: stream already started; make a new stream for a new call")
	}
	if err := s.setupSend(r.Codec); err != nil {
		return err
	}
	rcv, err := newReceiver(s.kind, r.Codec)
	if err != nil {
		return err
	}
	switch {
	case r.SRTP != nil && r.DTLS != nil:
		return errors.New("rtpmedia: a stream is keyed by SDES or by DTLS, not both; check the negotiation")
	case r.SRTP != nil:
		out, in, err := srtpContexts(*r.SRTP)
		if err != nil {
			return err
		}
		s.srtpOut, s.srtpIn, s.encrypted = out, in, true
		s.srtcpOut, s.srtcpIn = out, in
	case r.DTLS != nil:
		s.encrypted, s.dtls = true, newDTLSPacketConn(s.rtp, &s.rtpDst, false)
		if !r.RTCPMux && s.rtcp != nil {
			s.dtlsRTCP = newDTLSPacketConn(s.rtcp, &s.rtcpDst, true)
		}
	}
	if r.ICE != nil {
		s.ice = newICEResponder(*r.ICE)
	}
	s.remote, s.h = r, h
	rc := r.Codec
	s.rxCodec.Store(&rc)
	s.paused.Store(r.NoSend)
	s.rtpDst.Store(r.RTP)
	s.rtcpDst.Store(r.rtcpAddr())
	if r.RTCPMux && s.rtcp != nil {
		s.rtcp.Close()
		s.rtcp = nil
	}
	s.rx.start(time.Now())
	s.started.Store(true)
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Go(func() { s.readRTP(ctx, rcv) })
	if s.rtcp != nil {
		s.wg.Go(func() { s.readRTCP(ctx) })
	}
	s.wg.Go(func() { s.rtcpLoop(ctx) })
	for _, pc := range []*dtlsPacketConn{s.dtls, s.dtlsRTCP} {
		if pc != nil {
			s.wg.Go(func() { s.handshake(ctx, *r.DTLS, pc) })
		}
	}
	if s.kind == Video {
		s.setTarget(s.rate.CapSDP(r.MaxBitrate))
	}
	return nil
}

// Close stops the stream and frees its ports; it is idempotent.
func (s *Stream) Close() error {
	s.close.Do(func() {
		if s.cancel != nil {
			s.cancel() // the RTCP loop says BYE and closes the sockets
		}
		s.wg.Wait()
		s.closeSockets()
		s.closeCodecs()
	})
	return nil
}

func (s *Stream) closeSockets() {
	s.rtp.Close()
	if s.rtcp != nil {
		s.rtcp.Close()
	}
}

// srtpContexts makes the send and receive SRTP contexts from SDES keys.
func srtpContexts(k SRTPKeys) (out, in *srtp.Context, err error) {
	if k.Contexts != nil {
		if out, in, err = k.Contexts(); err != nil {
			return nil, nil, fmt.Errorf("rtpmedia: srtp: %w", err)
		}
		return out, in, nil
	}
	kl, err := k.Profile.KeyLen()
	if err != nil {
		return nil, nil, fmt.Errorf("rtpmedia: srtp: %w", err)
	}
	sl, err := k.Profile.SaltLen()
	if err != nil {
		return nil, nil, fmt.Errorf("rtpmedia: srtp: %w", err)
	}
	mk := func(key []byte, dir string) (*srtp.Context, error) {
		if len(key) != kl+sl {
			return nil, fmt.Errorf("rtpmedia: srtp %s key is %d bytes, the profile needs %d; check the a=crypto line", dir, len(key), kl+sl)
		}
		c, err := srtp.CreateContext(key[:kl], key[kl:], k.Profile, srtp.SRTPReplayProtection(256), srtp.SRTCPReplayProtection(256))
		if err != nil {
			return nil, fmt.Errorf("rtpmedia: srtp %s: %w", dir, err)
		}
		return c, nil
	}
	if out, err = mk(k.Local, "local"); err != nil {
		return nil, nil, err
	}
	if in, err = mk(k.Remote, "remote"); err != nil {
		return nil, nil, err
	}
	return out, in, nil
}

// writeRTP sends one packet; the caller holds sendMu.
func (s *Stream) writeRTP(p *rtp.Packet) error {
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	if s.encrypted {
		if s.srtpOut == nil {
			return nil // DTLS has not keyed the stream yet
		}
		if b, err = s.srtpOut.EncryptRTP(nil, b, &p.Header); err != nil {
			return fmt.Errorf("rtpmedia: srtp: %w", err)
		}
	}
	if _, err := s.rtp.WriteToUDP(b, s.rtpDst.Load()); err != nil {
		return fmt.Errorf("rtpmedia: send: %w", err)
	}
	s.st.sent(len(b), p.Timestamp)
	return nil
}

// writeRTCP sends a compound packet on the RTCP socket (the RTP one with
// rtcp-mux).
func (s *Stream) writeRTCP(pkts []rtcp.Packet) error {
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		return err
	}
	s.sendMu.Lock()
	if s.encrypted {
		if s.srtcpOut == nil {
			s.sendMu.Unlock()
			return nil // DTLS has not keyed the stream's RTCP yet
		}
		b, err = s.srtcpOut.EncryptRTCP(nil, b, nil)
	}
	s.sendMu.Unlock()
	if err != nil {
		return fmt.Errorf("rtpmedia: srtcp: %w", err)
	}
	c := s.rtcp
	if c == nil {
		c = s.rtp
	}
	_, err = c.WriteToUDP(b, s.rtcpDst.Load())
	return err
}

// isRTCP says whether a packet on a muxed socket is RTCP (RFC 5761 §4).
func isRTCP(b []byte) bool {
	return len(b) >= 2 && b[1]&0x7f >= 64 && b[1]&0x7f <= 95
}

// latch points dst at the address the far end sends from (symmetric RTP).
func latch(dst *atomic.Pointer[net.UDPAddr], from *net.UDPAddr) {
	if cur := dst.Load(); cur == nil || !cur.IP.Equal(from.IP) || cur.Port != from.Port {
		dst.Store(from)
	}
}
