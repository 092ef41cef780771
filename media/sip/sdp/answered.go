package sdp

import "strings"

// Answered takes the far end's answer to roomd's outstanding offer. On
// error the call cannot go on with this answer (hang up with the reason);
// the previous negotiation, if any, stays in force, and the offer is
// consumed either way.
func (s *Session) Answered(answer []byte) (*Negotiated, error) {
	offered := s.offered
	if offered == nil {
		return nil, ErrNoOffer
	}
	s.offered = nil
	rs, err := parse(answer)
	if err != nil {
		return nil, err
	}
	if len(rs.media) != len(offered) {
		return nil, malformed("the answer has %d m-lines for an offer of %d", len(rs.media), len(offered))
	}
	neg := &Negotiated{}
	layout := make([]line, len(offered))
	var audioErr error
	for i, m := range rs.media {
		ol := offered[i]
		var st *Stream
		err := error(nil)
		switch {
		case ol.port == 0:
		case m.port == 0:
			err = refusef("sdp: far end rejected the %v stream", ol.kind)
		case !strings.EqualFold(m.media, ol.kind.String()):
			err = malformed("m-line %d answers %s to an offer of %v", i, m.media, ol.kind)
		default:
			st, ol, err = s.answeredMedia(m, ol)
		}
		switch {
		case st != nil && ol.kind == Audio:
			neg.Audio = st
		case st != nil:
			neg.Video = st
		case ol.kind == Audio && ol.port != 0 && audioErr == nil:
			audioErr = err
		case ol.kind == Video && ol.port != 0 && neg.VideoRefused == nil:
			neg.VideoRefused = err
		}
		if st == nil {
			ol.port, ol.rejectedFormats = 0, m.formats
		}
		layout[i] = ol
	}
	if neg.Audio == nil {
		if audioErr == nil {
			audioErr = ErrNoAudio
		}
		return nil, audioErr
	}
	s.layout, s.neg = layout, neg
	return neg, nil
}

// answeredMedia reads the answer to one of roomd's offered m-lines and
// returns the line narrowed to what was agreed, for re-offers.
func (s *Session) answeredMedia(m *remoteMedia, ol line) (*Stream, line, error) {
	cr, err := s.answeredCrypto(m, &ol)
	if err != nil {
		return nil, ol, err
	}
	var codecs []Codec
	var kept []format
	for _, f := range ol.formats {
		if f.name == TelephoneEvent { // kept below, once the audio codec is known
			continue
		}
		for _, pt := range m.pts {
			r := m.format(pt)
			mode := -1
			if strings.EqualFold(r.name, H264) {
				p, prof, ok := parseH264(m.fmtps[pt])
				if !ok || !prof.decodable() {
					continue
				}
				mode = p.PacketizationMode
			}
			if f.sameCodec(r, mode) {
				codecs = append(codecs, codecFrom(m, pt, f.pt, f.name, r))
				kept = append(kept, f)
				break
			}
		}
	}
	if len(codecs) == 0 {
		return nil, ol, refusef("sdp: no common %v codec (far end answers %s)", ol.kind, m.formatNames())
	}
	var dtmf *Codec
	if ol.kind == Audio {
		if dtmf = pickEvents(m, m.pts, codecs[0].ClockRate); dtmf != nil {
			for _, f := range ol.formats {
				if f.name == TelephoneEvent && f.clock == dtmf.ClockRate {
					dtmf.ReceivePT = f.pt
					kept = append(kept, f)
					break
				}
			}
		}
	}
	ol.formats = kept
	ol.rtcpMux = m.rtcpMux
	st := s.newStream(m, ol.kind, ol.dir, codecs, dtmf)
	st.Crypto = cr
	return st, ol, nil
}

// answeredCrypto checks the answer's protection against what roomd
// offered, and narrows ol to it.
func (s *Session) answeredCrypto(m *remoteMedia, ol *line) (Crypto, error) {
	dtlsProto := strings.HasPrefix(m.proto, "UDP/TLS/")
	switch {
	case ol.setup != "":
		if !dtlsProto || len(m.fps) == 0 {
			return Crypto{}, refusef("sdp: far end answered the DTLS-SRTP offer with %s and no fingerprint; the call cannot be encrypted", m.proto)
		}
		cr := Crypto{Method: DTLSSRTP, RemoteFingerprints: m.fps}
		switch m.setup {
		case "active", "":
			cr.Role, ol.setup = DTLSServer, "passive"
		case "passive":
			cr.Role, ol.setup = DTLSClient, "active"
		default:
			return Crypto{}, refusef("sdp: far end answered a=setup:%s; an answer must choose active or passive", m.setup)
		}
		return cr, nil
	case dtlsProto:
		return Crypto{}, refusef("sdp: far end answered DTLS-SRTP (%s) to an offer without it", m.proto)
	case len(ol.sdes) > 0:
		for _, c := range m.crypto {
			for _, o := range ol.sdes {
				if c.tag != o.tag {
					continue
				}
				cr, err := sdesCrypto(c)
				if err != nil {
					return Crypto{}, refusef("sdp: far end answered a=crypto %d with a key roomd cannot use (%v)", c.tag, err)
				}
				if cr.Suite != o.suite {
					return Crypto{}, refusef("sdp: far end answered a=crypto %d with %v; roomd offered %v under that tag", c.tag, cr.Suite, o.suite)
				}
				cr.Local = o.key
				ol.sdes = []sdesLine{o}
				return cr, nil
			}
		}
		if strings.Contains(ol.proto, "SAVP") {
			return Crypto{}, refusef("sdp: far end answered SRTP without a key roomd offered; the call cannot be encrypted")
		}
		ol.sdes = nil
		return Crypto{}, nil // best-effort SDES declined: plain RTP, as the policy allows
	case strings.Contains(m.proto, "SAVP"):
		return Crypto{}, refusef("sdp: far end answered %s to a plain RTP offer", m.proto)
	}
	return Crypto{}, nil
}
