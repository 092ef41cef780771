package sdp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/roomd/roomd/media/sip/srtpkey"
)

// Answer answers the far end's offer (an INVITE's or a re-INVITE's) with
// roomd's media in direction want at most (SendRecv, or SendOnly /
// Inactive while roomd holds). It takes the first usable audio and video
// m-lines and rejects the rest (port 0); a call needs audio, video is
// optional. On error nothing changes and the call should be refused (SIP
// 488 for ErrNotAcceptable, 400 for ErrMalformed). An offer of roomd's
// still waiting for its answer is dropped: the dialog resolves glare
// (491) before it calls Answer. The answer holds key material: log it
// only through Redact.
func (s *Session) Answer(offer []byte, want Direction) ([]byte, *Negotiated, error) {
	rs, err := parse(offer)
	if err != nil {
		return nil, nil, err
	}
	neg := &Negotiated{}
	var lines []line
	var audioErr, videoErr error
	for _, m := range rs.media {
		kind, known := kindOf(m.media)
		var st *Stream
		var l line
		err := error(nil)
		switch {
		case !known || m.port == 0:
		case kind == Audio && neg.Audio != nil, kind == Video && neg.Video != nil:
		case kind == Video && s.cfg.VideoPort == 0:
			err = refusef("sdp: roomd sends no video on this call")
		case kind == Video && m.content == "slides":
			err = refusef("sdp: roomd does not take presentation video (a=content:slides) yet")
		default:
			st, l, err = s.answerMedia(m, kind, want)
		}
		switch {
		case st != nil && kind == Audio:
			neg.Audio = st
		case st != nil:
			neg.Video = st
		case kind == Audio && known && audioErr == nil:
			audioErr = err
		case kind == Video && known && videoErr == nil:
			videoErr = err
		}
		if st == nil {
			l = line{media: m.media, proto: m.proto, rejectedFormats: m.formats}
		}
		lines = append(lines, l)
	}
	if neg.Audio == nil {
		if audioErr == nil {
			audioErr = ErrNoAudio
		}
		return nil, nil, audioErr
	}
	if neg.Video == nil {
		neg.VideoRefused = videoErr
	}
	body, err := s.marshal(lines)
	if err != nil {
		return nil, nil, fmt.Errorf("sdp: writing the answer: %w", err)
	}
	s.offered, s.layout, s.neg = nil, lines, neg
	return body, neg, nil
}

func kindOf(media string) (Kind, bool) {
	switch strings.ToLower(media) {
	case "audio":
		return Audio, true
	case "video":
		return Video, true
	}
	return 0, false
}

// answerMedia decides one offered m-line roomd can take.
func (s *Session) answerMedia(m *remoteMedia, kind Kind, want Direction) (*Stream, line, error) {
	l := line{kind: kind, port: s.port(kind), proto: m.proto, rtcpMux: m.rtcpMux}
	cr, err := s.answerCrypto(m, kind, &l)
	if err != nil {
		return nil, line{}, err
	}
	codecs, dtmf, formats := s.matchOffer(m, kind)
	if len(codecs) == 0 {
		return nil, line{}, refusef("sdp: no common %v codec (far end offers %s); roomd speaks %s",
			kind, m.formatNames(), strings.Join(s.codecNames(kind), ", "))
	}
	l.formats = formats
	if m.ice != nil && m.ice.Ufrag != "" && s.cfg.ICE != nil {
		l.ice = s.cfg.ICE.withHostCandidates(s.cfg.Address, l.port, l.rtcpMux)
	}
	st := s.newStream(m, kind, want, codecs, dtmf)
	st.Crypto = cr
	st.LocalICE = l.ice
	l.dir = st.Direction
	if kind == Audio {
		l.ptime = audioPTime
	} else {
		l.bitrate = s.cfg.Video.MaxBitrate
	}
	return st, l, nil
}

func (s *Session) codecNames(kind Kind) []string {
	if kind == Audio {
		return s.cfg.AudioCodecs
	}
	return s.cfg.VideoCodecs
}

// newStream reads what offers and answers share from the far end's
// m-line: addresses, direction, feedback, limits, ICE.
func (s *Session) newStream(m *remoteMedia, kind Kind, ours Direction, codecs []Codec, dtmf *Codec) *Stream {
	st := &Stream{Kind: kind, Index: m.index, RTCPMux: m.rtcpMux, Codecs: codecs, DTMF: dtmf, MaxBitrate: m.bandwidth}
	st.Remote, st.RemoteRTCP = m.remoteAddrs()
	theirs := m.dir
	if m.holds() {
		theirs = direction(theirs.Sends(), false)
	}
	st.Direction = ours.and(theirs.reverse())
	if kind == Video {
		for _, fb := range m.feedback(codecs[0].PT) {
			for _, a := range feedbackAttrs {
				if a.value == fb {
					a.set(&st.Feedback)
				}
			}
		}
		st.SendLimit = s.sendLimit(m, codecs[0])
	}
	if m.ice != nil && m.ice.Ufrag != "" {
		st.ICE = m.ice
	}
	return st
}

// sendLimit is what the far end decodes of codec c.
func (s *Session) sendLimit(m *remoteMedia, c Codec) VideoLimits {
	lim := s.cfg.Video
	switch {
	case c.H264 != nil:
		prof, _ := parseProfileLevelID(c.H264.ProfileLevelID)
		lim = h264SendLimit(prof, c.H264, s.cfg.Video, c.H264.LevelAsymmetryAllowed)
	case c.Is(VP8):
		p := fmtpParams(c.Fmtp)
		if fs := intParam(p, "max-fs"); fs > 0 {
			fr := intParam(p, "max-fr")
			if fr == 0 {
				fr = lim.FPS
			}
			lim = fitPicture(lim, fs, fs*min(fr, lim.FPS))
			lim.FPS = min(lim.FPS, fr)
			lim.MaxBitrate = s.cfg.Video.MaxBitrate
		}
	}
	lim.MaxBitrate = minPositive(lim.MaxBitrate, m.bandwidth)
	return lim
}

// answerCrypto decides the protection of an offered m-line under the
// policy, and writes roomd's side of it into l.
func (s *Session) answerCrypto(m *remoteMedia, kind Kind, l *line) (Crypto, error) {
	switch m.proto {
	case "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF":
		if s.cfg.DTLS == nil || len(s.cfg.DTLS.Fingerprints) == 0 {
			return Crypto{}, ErrNoDTLS
		}
		if len(m.fps) == 0 {
			return Crypto{}, refusef("sdp: far end offers DTLS-SRTP without a certificate fingerprint")
		}
		cr := Crypto{Method: DTLSSRTP, RemoteFingerprints: m.fps}
		switch m.setup {
		case "actpass", "passive":
			cr.Role, l.setup = DTLSClient, "active"
		case "active", "":
			cr.Role, l.setup = DTLSServer, "passive"
		default:
			return Crypto{}, refusef("sdp: far end offers DTLS-SRTP with a=setup:%s; roomd needs active, passive or actpass", m.setup)
		}
		l.fingerprints = s.cfg.DTLS.Fingerprints
		return cr, nil
	case "RTP/SAVP", "RTP/SAVPF":
		cr, why := s.pickSDES(m.crypto, kind, l)
		if cr.Method == SDES {
			return cr, nil
		}
		return Crypto{}, refusef("sdp: far end offers SRTP with no key roomd can use (%s)", why)
	case "RTP/AVP", "RTP/AVPF":
		if s.cfg.Encryption == EncryptionOff {
			return Crypto{}, nil
		}
		cr, why := s.pickSDES(m.crypto, kind, l)
		switch {
		case cr.Method == SDES:
			return cr, nil
		case s.cfg.Encryption == EncryptionPreferred:
			return Crypto{}, nil
		case len(m.crypto) == 0:
			return Crypto{}, ErrPlainRTP
		}
		return Crypto{}, refusef("sdp: far end offers SRTP keys roomd cannot use (%s) and encryption is required", why)
	}
	return Crypto{}, refusef("sdp: far end offers %v over %s, which roomd does not speak (it takes RTP/AVP(F), RTP/SAVP(F) and UDP/TLS/RTP/SAVPF)", kind, m.proto)
}

// pickSDES takes the first a=crypto of the far end's offer roomd can use
// and writes roomd's matching line into l; otherwise it says why not.
func (s *Session) pickSDES(lines []cryptoLine, kind Kind, l *line) (Crypto, string) {
	why := "no a=crypto"
	for i, c := range lines {
		cr, err := sdesCrypto(c)
		if err != nil {
			if i == 0 {
				why = err.Error()
			}
			continue
		}
		cr.Local = s.keys[kind]
		l.sdes = []sdesLine{{tag: c.tag, suite: cr.Suite, key: cr.Local}}
		return cr, ""
	}
	return Crypto{}, why
}

// sdesCrypto reads one a=crypto into the far end's side of a Crypto.
func sdesCrypto(c cryptoLine) (Crypto, error) {
	suite, err := srtpkey.ParseSuite(c.suite)
	if err != nil {
		return Crypto{}, err
	}
	for _, p := range c.sessionParams {
		name, val, _ := strings.Cut(p, "=")
		switch strings.ToUpper(name) {
		case "UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP":
			return Crypto{}, fmt.Errorf("sdp: a=crypto %d weakens SRTP with %s, which roomd refuses", c.tag, name)
		case "KDR":
			if n, err := strconv.Atoi(val); err != nil || n != 0 {
				return Crypto{}, fmt.Errorf("sdp: a=crypto %d asks for key derivation rate %s, which roomd does not do", c.tag, val)
			}
		}
	}
	key, err := srtpkey.ParseKeyParams(c.keyParams)
	if err != nil {
		return Crypto{}, err
	}
	return Crypto{Method: SDES, Suite: suite, Tag: c.tag, Remote: key}, nil
}

// matchOffer finds the offered formats roomd takes, in roomd's order of
// preference, and the formats roomd answers with.
func (s *Session) matchOffer(m *remoteMedia, kind Kind) ([]Codec, *Codec, []format) {
	var codecs []Codec
	var formats []format
	add := func(pt uint8, r rtpmap, f format) {
		c := codecFrom(m, pt, pt, f.name, r)
		codecs = append(codecs, c)
		f.pt = pt
		if kind == Video {
			f.fb = commonFeedback(m.feedback(pt))
		}
		formats = append(formats, f)
	}
	if kind == Audio {
		for _, name := range s.cfg.AudioCodecs {
			ci, _ := audioCodecByName(name)
			for _, pt := range m.pts {
				if r := m.format(pt); strings.EqualFold(r.name, ci.name) && r.clock == ci.clock {
					f := format{name: ci.name, clock: ci.clock, channels: ci.channels, mode: -1}
					if ci.name == Opus {
						f.fmtp = opusFmtp
					}
					add(pt, r, f)
					break
				}
			}
		}
		if len(codecs) == 0 {
			return nil, nil, nil
		}
		dtmf := pickEvents(m, m.pts, codecs[0].ClockRate)
		if dtmf != nil {
			formats = append(formats, eventsFormat(dtmf.PT, dtmf.ClockRate))
		}
		return codecs, dtmf, formats
	}
	for _, name := range s.cfg.VideoCodecs {
		if !strings.EqualFold(name, H264) {
			for _, pt := range m.pts {
				if r := m.format(pt); strings.EqualFold(r.name, VP8) && r.clock == 90000 {
					add(pt, r, format{name: VP8, clock: 90000, mode: -1, fmtp: vp8Fmtp(s.cfg.Video)})
					break
				}
			}
			continue
		}
		for _, mode := range []int{1, 0} {
			for _, pt := range m.pts {
				r := m.format(pt)
				if !strings.EqualFold(r.name, H264) || r.clock != 90000 {
					continue
				}
				p, prof, ok := parseH264(m.fmtps[pt])
				if !ok || p.PacketizationMode != mode || !prof.decodable() {
					continue
				}
				fmtp := h264Fmtp(answerProfileLevelID(prof, p.LevelAsymmetryAllowed), mode, p.LevelAsymmetryAllowed, s.cfg.Video)
				add(pt, r, format{name: H264, clock: 90000, mode: mode, fmtp: fmtp})
			}
		}
	}
	return codecs, nil, formats
}

// pickEvents finds the telephone-event format among pts: at the audio
// codec's clock (RFC 4733 §2.1), else at 8000, else any.
func pickEvents(m *remoteMedia, pts []uint8, clock int) *Codec {
	var best *Codec
	for _, pt := range pts {
		r := m.format(pt)
		if !strings.EqualFold(r.name, TelephoneEvent) {
			continue
		}
		c := codecFrom(m, pt, pt, TelephoneEvent, r)
		switch {
		case r.clock == clock:
			return &c
		case best == nil || r.clock == 8000:
			best = &c
		}
	}
	return best
}

// codecFrom builds the Codec of the far end's format pt.
func codecFrom(m *remoteMedia, pt, receivePT uint8, name string, r rtpmap) Codec {
	c := Codec{PT: pt, ReceivePT: receivePT, Name: name, ClockRate: r.clock, Channels: r.channels, Fmtp: m.fmtps[pt]}
	switch name {
	case H264:
		c.H264, _, _ = parseH264(c.Fmtp)
	case Opus:
		c.Opus = parseOpus(c.Fmtp)
		if c.Opus.PTime == 0 {
			c.Opus.PTime = m.ptime
		}
	}
	return c
}

// commonFeedback keeps the far end's rtcp-fb values roomd takes.
func commonFeedback(theirs []string) []string {
	var out []string
	for _, v := range videoFeedback() {
		if slices.Contains(theirs, v) {
			out = append(out, v)
		}
	}
	return out
}
