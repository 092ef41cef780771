package sdp

// CheckOffer tells, before the room rings, whether a far end's offer could
// start a call at all: it must parse and be within the bounds (else an
// error matching ErrMalformed, SIP 400) and hold an audio stream on an RTP
// profile roomd speaks, with a port and a payload format (else
// ErrNoAudio, 488). Codecs and encryption are settled when the call is
// answered; an offer Answer takes always passes.
func CheckOffer(offer []byte) error {
	rs, err := parse(offer)
	if err != nil {
		return err
	}
	for _, m := range rs.media {
		if kind, ok := kindOf(m.media); ok && kind == Audio && m.port != 0 && len(m.pts) > 0 && rtpProfile(m.proto) {
			return nil
		}
	}
	return ErrNoAudio
}

// rtpProfile says whether roomd can answer an m-line on transport proto.
func rtpProfile(proto string) bool {
	switch proto {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF":
		return true
	}
	return false
}
