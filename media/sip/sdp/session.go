package sdp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/roomd/roomd/media/sip/srtpkey"
)

// Session is one call's offer/answer state. It is not safe for concurrent
// use: the call's dialog owns it.
type Session struct {
	cfg     Config
	id      uint64
	version uint64
	// last is the last body roomd wrote, to tell whether the next one
	// changed.
	last []byte
	// keys are roomd's SDES keys per Kind, kept across re-offers.
	keys [2]srtpkey.Key
	// offered is roomd's outstanding offer, nil when none.
	offered []line
	// layout is the m-lines of the last completed negotiation, with
	// roomd's lines as written; re-offers keep it.
	layout []line
	neg    *Negotiated
}

// NewSession checks cfg and starts a call's negotiation.
func NewSession(cfg Config) (*Session, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("sdp: reading a session id: %w", err)
	}
	s := &Session{cfg: cfg, id: binary.BigEndian.Uint64(b[:]) >> 2, version: 1}
	for k := range s.keys {
		if s.keys[k], err = srtpkey.Generate(r); err != nil {
			return nil, fmt.Errorf("sdp: %w", err)
		}
	}
	return s, nil
}

// Negotiated returns the last completed negotiation, or nil.
func (s *Session) Negotiated() *Negotiated { return s.neg }

// Offer writes an offer with roomd's media in direction dir (SendRecv;
// SendOnly or Inactive to hold). Before the first negotiation it offers
// every codec roomd has; afterwards it re-offers the negotiated m-lines,
// codecs and keys. The body holds key material: log it only through
// Redact.
func (s *Session) Offer(dir Direction) ([]byte, error) {
	var lines []line
	if s.layout == nil {
		lines = append(lines, s.offerLine(Audio, dir))
		if s.cfg.VideoPort > 0 {
			lines = append(lines, s.offerLine(Video, dir))
		}
	} else {
		for _, l := range s.layout {
			if l.port != 0 {
				// The line as negotiated: its codecs, key and DTLS role.
				l.dir, l.offer = dir, true
			}
			lines = append(lines, l)
		}
	}
	body, err := s.marshal(lines)
	if err != nil {
		return nil, fmt.Errorf("sdp: writing the offer: %w", err)
	}
	s.offered = lines
	return body, nil
}

// offerProto is the profile roomd offers under its policy and keying.
func (s *Session) offerProto() (proto string, sdes, dtls bool) {
	f := ""
	if s.cfg.AVPF {
		f = "F"
	}
	switch {
	case s.cfg.Keying == KeyingDTLS && s.cfg.Encryption != EncryptionOff:
		return "UDP/TLS/RTP/SAVPF", false, true
	case s.cfg.Encryption == EncryptionRequired:
		return "RTP/SAVP" + f, true, false
	case s.cfg.Encryption == EncryptionPreferred:
		return "RTP/AVP" + f, true, false
	}
	return "RTP/AVP" + f, false, false
}

func (s *Session) port(k Kind) int {
	if k == Video {
		return s.cfg.VideoPort
	}
	return s.cfg.AudioPort
}

// offerLine is roomd's first offer for one kind of media.
func (s *Session) offerLine(k Kind, dir Direction) line {
	proto, sdes, dtls := s.offerProto()
	l := line{kind: k, port: s.port(k), proto: proto, dir: dir, rtcpMux: true, offer: true}
	// roomd offers without ICE: as an offerer it is not an ICE agent.
	if sdes {
		for i, suite := range srtpkey.Suites() {
			l.sdes = append(l.sdes, sdesLine{tag: i + 1, suite: suite, key: s.keys[k]})
		}
	}
	if dtls {
		l.fingerprints, l.setup = s.cfg.DTLS.Fingerprints, "actpass"
	}
	if k == Audio {
		l.ptime = audioPTime
		l.formats = s.audioFormats()
		return l
	}
	l.bitrate = s.cfg.Video.MaxBitrate
	l.formats = s.videoFormats()
	return l
}

func (s *Session) audioFormats() []format {
	var fs []format
	hasOpus := false
	for _, name := range s.cfg.AudioCodecs {
		c, _ := audioCodecByName(name)
		f := format{pt: c.pt, name: c.name, clock: c.clock, channels: c.channels, mode: -1}
		if c.name == Opus {
			f.fmtp, hasOpus = opusFmtp, true
		}
		fs = append(fs, f)
	}
	fs = append(fs, eventsFormat(ptEvents8k, 8000))
	if hasOpus {
		fs = append(fs, eventsFormat(ptEvents48k, 48000))
	}
	return fs
}

func eventsFormat(pt uint8, clock int) format {
	return format{pt: pt, name: TelephoneEvent, clock: clock, fmtp: eventsFmtp, mode: -1}
}

// videoFeedback is every a=rtcp-fb value roomd takes.
func videoFeedback() []string {
	var out []string
	for _, a := range feedbackAttrs {
		out = append(out, a.value)
	}
	return out
}

func (s *Session) videoFormats() []format {
	var fs []format
	v := s.cfg.Video
	for _, name := range s.cfg.VideoCodecs {
		if strings.EqualFold(name, H264) {
			fs = append(fs,
				format{pt: ptH264Mode1, name: H264, clock: 90000, mode: 1, fmtp: h264Fmtp(roomdProfileLevelID, 1, true, v), fb: videoFeedback()},
				format{pt: ptH264Mode0, name: H264, clock: 90000, mode: 0, fmtp: h264Fmtp(roomdProfileLevelID, 0, true, v), fb: videoFeedback()})
		} else {
			fs = append(fs, format{pt: ptVP8, name: VP8, clock: 90000, mode: -1, fmtp: vp8Fmtp(v), fb: videoFeedback()})
		}
	}
	return fs
}

// vp8Fmtp is roomd's VP8 receive limit (RFC 7741 §6.1).
func vp8Fmtp(v VideoLimits) string {
	return fmt.Sprintf("max-fr=%d;max-fs=%d", v.FPS, macroblocks(v.Width, v.Height))
}
