package call

import (
	"context"
	"time"

	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/room"
)

// reportMedia sends the room the call's figures every two seconds while
// they change.
func (e *Engine) reportMedia(ctx context.Context, seq uint64, pub *transport.PeerConnection, s *sender) {
	r := transport.NewStatsReader(pub)
	r.SentFrames = s
	e.reportEvery(ctx, seq, s, r.Read)
}

// reportEvery reports read's figures every two seconds while they change;
// the first read only starts the rates.
func (e *Engine) reportEvery(ctx context.Context, seq uint64, s *sender, read func() transport.Stats) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	read()
	lastRecv, lastAt := map[string]ReceivedVideo{}, time.Now()
	// At once, how the call is carried (protocol, encryption, camera,
	// microphone); the figures follow at the first tick.
	e.mu.Lock()
	e.stats.VideoSource, e.stats.AudioSource = s.video.Info().String(), s.audio.Info().String()
	e.stats.Encryption = e.encryptionLocked()
	last := callMedia(transport.Stats{}, e.stats, 0)
	e.mu.Unlock()
	e.report(room.MediaReported{Seq: seq, Media: last})
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := read()
		now := time.Now()
		// The camera may open, go away and come back during the call: say
		// what it is now, not what it was when the call began.
		cam, mic := s.video.Info().String(), s.audio.Info().String()
		e.mu.Lock()
		e.stats.VideoSource, e.stats.AudioSource = cam, mic
		e.stats.Encryption = e.encryptionLocked()
		// The publisher's PeerConnection receives nothing: what the meeting
		// sends comes on the subscriptions, counted as it is decoded.
		recv := st.Received.Bitrate + e.receivedRates(lastRecv, now.Sub(lastAt))
		lastAt = now
		m := callMedia(st, e.stats, recv)
		e.mu.Unlock()
		if !m.Equal(last) {
			last = m
			e.report(room.MediaReported{Seq: seq, Media: m})
		}
	}
}

// callMedia is the room's view of the call's figures: what the publisher's
// statistics st say about sending, es (the engine's figures, rates
// current) about each participant, and recv bit/s received in all. Rates
// are rounded (bitrates to 10 kbit/s, frame rates to whole frames) so
// status stays calm.
func callMedia(st transport.Stats, es Stats, recv int) room.CallMedia {
	m := room.CallMedia{
		Protocol:      es.Protocol,
		Encryption:    es.Encryption,
		Participants:  len(es.Participants),
		TargetBitrate: st.TargetBitrate / 10_000 * 10_000,
		SendBitrate:   st.Sent.Bitrate / 10_000 * 10_000,
		RecvBitrate:   recv / 10_000 * 10_000,
		LossPercent:   float64(int(st.Sent.LossRate*1000)) / 10,
		RTTMillis:     int(st.RTT.Milliseconds()),
		SendFPS:       float64(int(st.Sent.FPS + 0.5)),
		Width:         st.Sent.Width,
		Height:        st.Sent.Height,
		Encoder:       es.Encoder,
		Camera:        es.VideoSource,
		Microphone:    es.AudioSource,
	}
	// Only the participants still in the meeting: Received keeps the
	// totals of those who left, in case they come back.
	for _, id := range es.Participants {
		rv := es.Received[id]
		m.Received = append(m.Received, room.ReceivedVideo{
			Participant: id,
			Width:       rv.Width,
			Height:      rv.Height,
			FPS:         float64(int(rv.FPS + 0.5)),
			Bitrate:     rv.Bitrate / 10_000 * 10_000,
		})
	}
	return m
}

// countReceived adds a received packet's payload to its participant's total.
func (e *Engine) countReceived(id string, n int) {
	e.mu.Lock()
	rv := e.stats.Received[id]
	rv.bytes += uint64(n)
	e.stats.Received[id] = rv
	e.mu.Unlock()
}

// receivedRates turns the running totals into rates over the time since
// the last call, for status; it returns the total received bitrate.
func (e *Engine) receivedRates(last map[string]ReceivedVideo, elapsed time.Duration) int {
	total := 0
	for id, rv := range e.stats.Received {
		prev := last[id]
		if prev.frames > rv.frames || prev.bytes > rv.bytes { // a new call's totals
			prev = ReceivedVideo{}
		}
		rv.FPS = float64(rv.frames-prev.frames) / elapsed.Seconds()
		rv.Bitrate = int(float64(rv.bytes-prev.bytes) * 8 / elapsed.Seconds())
		e.stats.Received[id] = rv
		last[id] = rv
		total += rv.Bitrate
	}
	e.stats.RecvBitrate = total
	return total
}
