// Package sipprovider joins SIP meetings (sip: and sips: links) for the
// call engine: it dials the link's address with the daemon's SIP user
// agent (media/sip/ua), negotiates the media with media/sip/sdp, and
// carries the room's encoded video and PCM audio itself over RTP or SRTP
// (media/sip/rtpmedia) through the session's provider.RawMedia. Register
// a *Provider under Name in call.Config.Providers.
//
// The far end is one participant, named by its display name or address.
// A far-end hang-up ends the call (provider.ErrEnded); media that stops
// for the RTP timeout makes the engine call back ('reconnecting'), and a
// call back that fails fails the call (provider.ErrMediaLost).
package sipprovider

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/meetinglink"
)

// Name is the provider name meeting links give SIP meetings.
const Name = meetinglink.SIP

// Config configures the provider. Zero fields take defaults.
type Config struct {
	// UA is the daemon's SIP user agent, running (ua.UA.Run). Required.
	UA *ua.UA
	// Encryption is the media encryption policy; the zero value is
	// sdp.EncryptionRequired.
	Encryption sdp.Policy
	// Keying is how keys are offered: SDES (the default) or DTLS-SRTP.
	Keying sdp.Keying
	// MediaAddress is the local address put in the SDP and bound for RTP;
	// invalid means the address that routes to the far end.
	MediaAddress netip.Addr
	// RTPTimeout is how long without media fails the call; 0 means 10 s.
	RTPTimeout time.Duration
	// RTPPorts bounds the ports calls' media binds (sip.rtp_ports); the
	// zero value lets the system choose.
	RTPPorts rtpmedia.PortRange
	// VideoRate bounds the video bitrate the loss-based controller sets
	// (the room's media.min/start/max_bitrate); zero fields take
	// rtpmedia's defaults.
	VideoRate rtpmedia.RateConfig
	// Inbound holds the ringing inbound calls a join with
	// room.Meeting.Incoming answers; nil means the room answers none.
	Inbound *Inbound
	// OnDTMF, when set, gets each tone the far end sends in a call (RFC
	// 4733 telephone-events or SIP INFO); nil means they are only logged,
	// without the digit. Tones may be a passcode: never log them.
	OnDTMF func(digit rune)
}

// Provider joins SIP meetings. It is safe for concurrent use.
type Provider struct {
	cfg Config

	mu     sync.Mutex
	active *ua.Call // the call in progress, for DTMF
	audio  *rtpmedia.Stream
	crypto string // the call's media encryption, for status
	neg    *negotiator
	// lostTo is the address whose media stopped, when the engine is
	// calling it back; a failed call back fails the call.
	lostTo string
}

var (
	_ provider.Provider   = (*Provider)(nil)
	_ provider.DTMFSender = (*Provider)(nil)
	_ provider.Decliner   = (*Provider)(nil)
)

// New makes a provider from cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.UA == nil {
		return nil, errors.New("sipprovider: no SIP user agent; configure [sip] in roomd's config")
	}
	if cfg.RTPTimeout == 0 {
		cfg.RTPTimeout = 10 * time.Second
	}
	return &Provider{cfg: cfg}, nil
}

// Reasons the call ends with.
const (
	whyHungUp  = "the far end hung up"
	whyNoMedia = "no media from the far end for %v; check the network and the far end"
)

var (
	errNoRawPath = errors.New("sipprovider: the call engine cannot hand a SIP call the room's media; update roomd")
)

// Join dials the meeting's SIP address (or answers the ringing call the
// meeting names), runs the media until either side ends the call, and
// returns why it ended; its errors carry their provider class.
func (p *Provider) Join(ctx context.Context, s provider.Session) (string, error) {
	lost, err := p.join(ctx, s)
	p.mu.Lock()
	callingBack := p.lostTo != "" && p.lostTo == s.Target().Endpoint
	p.lostTo = ""
	if lost != "" {
		p.lostTo = s.Target().Endpoint
	}
	p.mu.Unlock()
	if ctx.Err() != nil {
		return "", nil
	}
	why := ""
	var ce *ua.CallError
	if errors.As(err, &ce) {
		why = ce.Reason
	}
	if err != nil && callingBack {
		// The media stopped and the far end does not take the call
		// back: it is gone.
		if why == "" {
			why = err.Error()
		}
		return "", provider.WithReason(provider.Classify(err, provider.ErrMediaLost), fmt.Sprintf(whyNoMedia+"; calling back failed: %s", p.cfg.RTPTimeout, why))
	}
	return lost, ua.Classify(provider.WithReason(err, why))
}

// dialTarget is the address to call and the digits to send once in. A
// link's transport is kept; ua picks one for a link that names none (TCP
// first for an offer over RFC 3261 18.1.1's 1300 bytes, then UDP).
func dialTarget(t provider.Target, passcode string) (uri, dtmf, host string, err error) {
	l, err := meetinglink.Parse(t.Endpoint)
	if err != nil {
		return "", "", "", provider.Classify(fmt.Errorf("sipprovider: the meeting link is not a SIP address: %s", meetinglink.Why(err)), provider.ErrNotFound)
	}
	if l.Provider != meetinglink.SIP {
		return "", "", "", provider.Classify(fmt.Errorf("sipprovider: a %s link is not a SIP address", l.Provider), provider.ErrNotFound)
	}
	l.Secret = passcode
	scheme, _, _ := strings.Cut(l.URI, ":")
	uri = scheme + ":"
	if u := l.DialUser(); u != "" {
		uri += u + "@"
	}
	uri += l.Server
	if l.Transport != "" {
		uri += ";transport=" + l.Transport
	}
	host = l.Server
	if h, _, err := net.SplitHostPort(l.Server); err == nil {
		host = h
	}
	return uri, l.DialDTMF(), strings.Trim(host, "[]"), nil
}

// localAddr is the address the far end at host reaches the room on.
func (p *Provider) localAddr(ctx context.Context, host string) (netip.Addr, error) {
	if p.cfg.MediaAddress.IsValid() {
		return p.cfg.MediaAddress, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, provider.Classify(fmt.Errorf("sipprovider: cannot find %s: %w", host, err), provider.ErrUnreachable)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ips[0], 5060)))
	if err != nil {
		return netip.Addr{}, provider.Classify(fmt.Errorf("sipprovider: no route to %s: %w", host, err), provider.ErrUnreachable)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

func (p *Provider) join(ctx context.Context, s provider.Session) (string, error) {
	raw, ok := s.(provider.RawMedia)
	if !ok {
		return "", errNoRawPath
	}
	log := s.Logger()
	var uri, dtmf, host string
	var incoming *ua.IncomingCall
	if id := s.Target().Incoming; id != "" {
		if p.cfg.Inbound == nil {
			return "", provider.Classify(errors.New("sipprovider: the room takes no inbound calls"), provider.ErrNotFound)
		}
		if incoming, ok = p.cfg.Inbound.Take(id); !ok {
			return "", provider.WithReason(provider.Classify(errors.New("sipprovider: the caller hung up before the room answered"), provider.ErrNotFound), "the caller hung up")
		}
		host = incoming.Source
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	} else {
		var err error
		uri, dtmf, host, err = dialTarget(s.Target(), s.Passcode())
		if err != nil {
			return "", err
		}
	}
	mime, err := raw.VideoCodec(ctx)
	if err != nil {
		return "", err
	}
	addr, err := p.localAddr(ctx, host)
	if err != nil {
		return "", err
	}
	m, err := newMedia(addr, mime, p.cfg, log)
	if errors.Is(err, rtpmedia.ErrPortsExhausted) {
		return "", provider.WithReason(provider.Classify(err, provider.ErrRefused), "every RTP port in sip.rtp_ports is in use; end other calls or widen the range")
	}
	if err != nil {
		return "", err
	}
	defer m.close()

	var enc atomic.Pointer[provider.RawEncoder]
	keyFrame := func() {
		if e := enc.Load(); e != nil {
			(*e).ForceKeyFrame()
		}
	}
	farDTMF := func(via string) func(rune, time.Duration) {
		return func(d rune, _ time.Duration) {
			log.Info("sip: the far end sent a DTMF digit", "via", via)
			if p.cfg.OnDTMF != nil {
				p.cfg.OnDTMF(d)
			}
		}
	}
	h := ua.Handlers{FastUpdate: keyFrame, DTMF: farDTMF("SIP INFO")}
	started := time.Now()
	var c *ua.Call
	if incoming != nil {
		c, err = incoming.Accept(ctx, m.neg, h)
	} else {
		log.Info("sip: calling", "to", redactUser(uri))
		c, err = p.cfg.UA.Dial(ctx, uri, m.neg, h)
	}
	if err != nil {
		return "", err
	}
	ended := false
	defer func() {
		if !ended {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = c.Hangup(hctx)
			cancel()
		}
	}()
	neg := m.neg.negotiated()
	if neg == nil || neg.Audio == nil {
		return "", provider.Classify(errors.New("sipprovider: the far end's answer has no audio"), ua.ErrNotAcceptable)
	}
	log.Info("sip: call answered", "media", neg.String(), "crypto", neg.CryptoStatus(), "after", time.Since(started).Round(time.Millisecond))

	id := farEndName(c, incoming)
	left := s.Participant(id)
	defer left()
	player := raw.ReceiveRaw(id)
	defer player.Close()

	stopped := make(chan struct{}, 1)
	first := make(chan struct{})
	var firstOnce sync.Once
	handlers := rtpmedia.Handlers{
		OnVideo: func(img *image.YCbCr) {
			firstOnce.Do(func() {
				log.Info("sip: first picture from the far end", "after", time.Since(started).Round(time.Millisecond))
				close(first)
			})
			player.Video(img)
		},
		OnAudio:           player.Audio,
		OnDTMF:            farDTMF("RFC 4733"),
		OnKeyFrameRequest: keyFrame,
		OnNeedKeyFrame: func() {
			go func() {
				ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				_ = c.SendFastUpdate(ictx)
			}()
		},
		OnBitrate: func(bps int) {
			if e := enc.Load(); e != nil {
				(*e).SetBitRate(bps)
			}
		},
		OnMediaStopped: func() {
			if m.neg.held() {
				return
			}
			select {
			case stopped <- struct{}{}:
			default:
			}
		},
	}
	if err := m.start(ctx, neg, handlers); err != nil {
		// The same answer would come again: calling back cannot help.
		return "", provider.Classify(err, provider.ErrRefused)
	}
	m.followUpdates(log)
	e, err := raw.SendRaw(ctx, m.sink())
	if err != nil {
		return "", err
	}
	enc.Store(&e)
	s.Connected()
	go raw.ReportRaw(ctx, m.sink().Stats)

	p.mu.Lock()
	p.active, p.audio, p.crypto, p.neg = c, m.audio, neg.CryptoStatus(), m.neg
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.active, p.audio, p.crypto, p.neg = nil, nil, "", nil
		p.mu.Unlock()
	}()
	if dtmf != "" {
		go func() {
			// The IVR answers before it listens.
			if err := pause(ctx, time.Second); err != nil {
				return
			}
			if err := p.sendDigits(ctx, dtmf); err != nil && ctx.Err() == nil {
				log.Warn("sip: sending the meeting's DTMF failed", "err", err)
			}
		}()
	}

	select {
	case <-ctx.Done():
		return "", nil
	case <-c.Done():
		ended = true
		end := c.End()
		why := end.Reason
		if why == "" || end.Remote {
			why = whyHungUp
		}
		return "", provider.Classify(errors.New(why), provider.ErrEnded)
	case <-stopped:
		// The engine calls back (the room shows 'reconnecting'); if that
		// fails, Join fails the call.
		return fmt.Sprintf(whyNoMedia, p.cfg.RTPTimeout), nil
	}
}

// farEndName is how the far end is shown: its display name, else its
// address without parameters.
func farEndName(c *ua.Call, ic *ua.IncomingCall) string {
	if ic != nil && ic.Display != "" {
		return ic.Display
	}
	if ic != nil && ic.From != "" {
		return ic.From
	}
	r := c.Remote()
	if i := strings.IndexAny(r, ";>"); i > 0 {
		r = strings.TrimPrefix(r[:i], "<")
	}
	if r == "" {
		return "SIP far end"
	}
	return r
}

// redactUser hides the user part of a dial URI, which may hold a
// passcode (passcode-via=user).
func redactUser(uri string) string {
	scheme, rest, _ := strings.Cut(uri, ":")
	if _, host, ok := strings.Cut(rest, "@"); ok {
		return scheme + ":…@" + host
	}
	return uri
}

// Decline refuses the ringing inbound call id.
func (p *Provider) Decline(id string) {
	if p.cfg.Inbound != nil {
		p.cfg.Inbound.Decline(id)
	}
}

// Crypto is the media encryption of the call in progress ("SRTP
// AES_CM_128_HMAC_SHA1_80 (SDES)", "none (plain RTP)"), "" between calls.
func (p *Provider) Crypto() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.crypto
}

// SendDTMF sends digits on the call in progress: RFC 4733 events when the
// far end negotiated them, else SIP INFO. ',' pauses two seconds.
func (p *Provider) SendDTMF(ctx context.Context, digits string) error {
	return p.sendDigits(ctx, digits)
}

func (p *Provider) sendDigits(ctx context.Context, digits string) error {
	p.mu.Lock()
	c, audio := p.active, p.audio
	p.mu.Unlock()
	if c == nil {
		return errors.New("sipprovider: no SIP call in progress; join a SIP meeting first")
	}
	for i, run := range strings.Split(digits, ",") {
		if i > 0 {
			if err := pause(ctx, 2*time.Second); err != nil {
				return err
			}
		}
		if run == "" {
			continue
		}
		if !rtpmedia.ValidDTMF(run) {
			return fmt.Errorf("sipprovider: DTMF digits: only 0-9, *, # and A-D can be sent")
		}
		err := audio.SendDTMF(ctx, run, 0, 0)
		if errors.Is(err, rtpmedia.ErrNoDTMF) {
			for _, d := range run {
				if err = c.SendDTMF(ctx, d, rtpmedia.DTMFTone); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("sipprovider: sending DTMF: %w", err)
		}
	}
	return nil
}

// pause waits d, or returns ctx's error when the call ends first.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return ctx.Err()
}

// videoCodecName is the SDP name of the room's encoder's MIME type.
func videoCodecName(mime string) string {
	switch strings.ToLower(mime) {
	case strings.ToLower(codec.MimeVP8):
		return sdp.VP8
	}
	return sdp.H264
}
