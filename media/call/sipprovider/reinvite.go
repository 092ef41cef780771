package sipprovider

import (
	"log/slog"

	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/media/sip/sdp"
)

// followUpdates has the call's running streams follow every negotiation
// after the first (the far end's re-INVITE, or the answer to roomd's
// re-offer): a new address, payload type or hold.
func (m *callMedia) followUpdates(log *slog.Logger) {
	m.neg.mu.Lock()
	defer m.neg.mu.Unlock()
	m.neg.follow = func(neg *sdp.Negotiated) { m.follow(neg, log) }
}

// follow updates each running stream to neg. A stream neg cannot move in
// place keeps its last negotiation, and the log says why.
func (m *callMedia) follow(neg *sdp.Negotiated, log *slog.Logger) {
	for _, x := range []struct {
		s *rtpmedia.Stream
		n *sdp.Stream
	}{{m.audio, neg.Audio}, {m.video, neg.Video}} {
		if x.s == nil || x.n == nil {
			continue
		}
		r, err := rtpmedia.RemoteFrom(x.n, m.cert)
		if err == nil {
			err = x.s.Update(r)
		}
		if err != nil {
			log.Warn("sip: the media keeps its last negotiation", "media", x.s.Kind().String(), "err", err)
			continue
		}
		log.Info("sip: the media follows the new negotiation", "media", x.s.Kind().String(), "remote", r.RTP.String(), "pt", r.Codec.PT, "sending", !r.NoSend)
	}
}
