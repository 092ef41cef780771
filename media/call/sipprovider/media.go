package sipprovider

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
)

// rtpPayload is the largest RTP payload the call's streams send
// (rtpmedia.Options.MTU): room for IP, UDP, RTP, SRTP and a tunnel's
// headers in a 1500-byte Ethernet frame.
const rtpPayload = 1200

// callMedia is one call's RTP streams and its offer/answer state.
type callMedia struct {
	audio, video *rtpmedia.Stream
	cert         *tls.Certificate
	neg          *negotiator
	// maxNAL is rtpPayload when the video is H.264 in packetization-mode
	// 0, which cannot fragment a NAL unit; 0 otherwise.
	maxNAL int
}

// newMedia binds the call's RTP ports on addr and prepares the SDP with
// the room's video codec (mime) under cfg's encryption policy.
func newMedia(addr netip.Addr, mime string, cfg Config, log *slog.Logger) (*callMedia, error) {
	opts := rtpmedia.Options{Logger: log, Timeout: cfg.RTPTimeout, MTU: rtpPayload, Ports: cfg.RTPPorts}
	ip := net.IP(addr.AsSlice())
	m := &callMedia{}
	var err error
	if m.audio, err = rtpmedia.Listen(ip, rtpmedia.Audio, opts); err != nil {
		return nil, err
	}
	opts.Rate = cfg.VideoRate
	if m.video, err = rtpmedia.Listen(ip, rtpmedia.Video, opts); err != nil {
		m.close()
		return nil, err
	}
	sc := sdp.Config{
		Address:     addr,
		AudioPort:   m.audio.RTPAddr().Port,
		VideoPort:   m.video.RTPAddr().Port,
		Encryption:  cfg.Encryption,
		Keying:      cfg.Keying,
		VideoCodecs: []string{videoCodecName(mime)},
		// Used only to answer an offer with ICE, as an ICE-lite agent;
		// roomd's own offers carry no ICE.
		ICE: newICECredentials(),
	}
	if cfg.Encryption != sdp.EncryptionOff && cfg.Keying == sdp.KeyingDTLS {
		cert, fp, err := rtpmedia.NewCertificate()
		if err != nil {
			m.close()
			return nil, err
		}
		m.cert = &cert
		sc.DTLS = &sdp.DTLS{Fingerprints: []sdp.Fingerprint{fp}}
	}
	sess, err := sdp.NewSession(sc)
	if err != nil {
		m.close()
		return nil, fmt.Errorf("sipprovider: %w", err)
	}
	m.neg = &negotiator{s: sess}
	return m, nil
}

// start runs the negotiated streams; a stream the far end took no part
// in (no video) is closed.
func (m *callMedia) start(ctx context.Context, neg *sdp.Negotiated, h rtpmedia.Handlers) error {
	r, err := rtpmedia.RemoteFrom(neg.Audio, m.cert)
	if err != nil {
		return fmt.Errorf("sipprovider: audio: %w", err)
	}
	if err := m.audio.Start(ctx, r, h); err != nil {
		return fmt.Errorf("sipprovider: audio: %w", err)
	}
	if neg.Video == nil || !neg.Video.Remote.IsValid() {
		m.video.Close()
		m.video = nil
		return nil
	}
	r, err = rtpmedia.RemoteFrom(neg.Video, m.cert)
	if err != nil {
		return fmt.Errorf("sipprovider: video: %w", err)
	}
	if err := m.video.Start(ctx, r, h); err != nil {
		return fmt.Errorf("sipprovider: video: %w", err)
	}
	if strings.EqualFold(r.Codec.Name, rtpmedia.CodecH264) && r.Codec.PacketizationMode == 0 {
		m.maxNAL = rtpPayload
	}
	return nil
}

// sink is where the room's media goes.
func (m *callMedia) sink() callSink {
	return callSink{Media: rtpmedia.Media{Audio: m.audio, Video: m.video}, maxNAL: m.maxNAL}
}

// callSink is the call's streams as the room's provider.RawSink; in
// H.264 packetization-mode 0 it asks the room's encoder for NAL units
// that fit one RTP packet.
type callSink struct {
	rtpmedia.Media
	maxNAL int
}

var _ provider.NALSizeLimited = callSink{}

// MaxNALSize is the RTP payload size in packetization-mode 0, else 0.
func (c callSink) MaxNALSize() int { return c.maxNAL }

func (m *callMedia) close() {
	for _, s := range []*rtpmedia.Stream{m.audio, m.video} {
		if s != nil {
			s.Close()
		}
	}
}

// negotiator is ua's Negotiator on an sdp.Session: the dialog's offers
// and answers, with the far end's hold noted so a silent held call is not
// a lost one.
type negotiator struct {
	mu     sync.Mutex
	s      *sdp.Session
	last   *sdp.Negotiated
	onHold bool
	// follow gets each negotiation after the first (followUpdates).
	follow func(*sdp.Negotiated)
}

var _ ua.Negotiator = (*negotiator)(nil)

func sdpDirection(d ua.Direction) sdp.Direction {
	switch d {
	case ua.SendOnly:
		return sdp.SendOnly
	case ua.RecvOnly:
		return sdp.RecvOnly
	case ua.Inactive:
		return sdp.Inactive
	}
	return sdp.SendRecv
}

func (n *negotiator) Offer(d ua.Direction) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.s.Offer(sdpDirection(d))
}

func (n *negotiator) Accept(answer []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	neg, err := n.s.Answered(answer)
	if err != nil {
		return err
	}
	n.note(neg)
	return nil
}

func (n *negotiator) Answer(offer []byte) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	body, neg, err := n.s.Answer(offer, sdp.SendRecv)
	if err != nil {
		return nil, err
	}
	n.note(neg)
	return body, nil
}

// note keeps the latest negotiation; the far end holds the room when it
// no longer sends audio.
func (n *negotiator) note(neg *sdp.Negotiated) {
	if n.last == nil {
		n.last = neg
	} else if n.follow != nil {
		n.follow(neg)
	}
	n.onHold = neg.Audio != nil && neg.Audio.Direction != sdp.SendRecv
}

// negotiated is the call's first negotiation, the one its streams run.
func (n *negotiator) negotiated() *sdp.Negotiated {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}

// held says the far end has put the room on hold.
func (n *negotiator) held() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.onHold
}

// newICECredentials are a call's own ICE-lite ufrag and password (RFC
// 8839 §5.4: at least 4 and 22 characters; these are 8 and 26 of
// base32, 130 bits in the password). The password is a secret: it goes
// into the SDP answer and nowhere else.
func newICECredentials() *sdp.ICE {
	return &sdp.ICE{Ufrag: rand.Text()[:8], Pwd: rand.Text(), Lite: true}
}
