package rtpmedia

import (
	"time"

	"github.com/roomd/roomd/media/transport"
)

// Media is a call's streams together: the sink for the room's media
// (media/call/provider.RawSink) and one set of figures. Either stream may
// be nil (an audio-only call).
type Media struct {
	Audio, Video *Stream
}

// WriteVideo sends an encoded frame on the video stream.
func (m Media) WriteVideo(frame []byte, d time.Duration) error {
	if m.Video == nil {
		return nil
	}
	return m.Video.WriteVideo(frame, d)
}

// WriteAudio sends 48 kHz mono PCM on the audio stream.
func (m Media) WriteAudio(pcm []int16) error {
	if m.Audio == nil {
		return nil
	}
	return m.Audio.WriteAudio(pcm)
}

// Stats sums the streams' figures as media/call reports them: bitrates,
// packets and losses of both, the target, frame rate and loss rates of
// the video, the RTT of whichever knows one. Like Stream.Stats, rates are
// since the previous call.
func (m Media) Stats() transport.Stats {
	var out transport.Stats
	out.At = time.Now()
	for _, s := range []*Stream{m.Audio, m.Video} {
		if s == nil {
			continue
		}
		st := s.Stats().Stats
		add(&out.Sent, st.Sent)
		add(&out.Received, st.Received)
		if out.RTT == 0 || s == m.Video && st.RTT > 0 {
			out.RTT = st.RTT
		}
		if s == m.Video || m.Video == nil {
			out.TargetBitrate = st.TargetBitrate
			out.Sent.LossRate, out.Received.LossRate = st.Sent.LossRate, st.Received.LossRate
			out.Sent.FPS, out.Received.FPS = st.Sent.FPS, st.Received.FPS
			out.Received.Width, out.Received.Height = st.Received.Width, st.Received.Height
		}
	}
	return out
}

func add(to *transport.StreamStats, s transport.StreamStats) {
	to.Bitrate += s.Bitrate
	to.Packets += s.Packets
	to.Lost += s.Lost
	to.NACKs += s.NACKs
	to.PLIs += s.PLIs
	to.FIRs += s.FIRs
}
