package transport

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// Stats is a compact view of one PeerConnection's media for status reports.
// Rates are over the time since the previous Read.
type Stats struct {
	At time.Time
	// TargetBitrate is the congestion controller's send estimate, bit/s.
	TargetBitrate int
	Sent          StreamStats
	Received      StreamStats
	// RTT is the round-trip time from RTCP reports, or from ICE consent
	// checks until the first report arrives; 0 if unknown.
	RTT time.Duration
}

// StreamStats sums one direction over all RTP streams, retransmissions
// included.
type StreamStats struct {
	Bitrate int    // RTP bit/s, headers included
	Packets uint64 // since the start
	// Lost counts packets lost since the start; for Sent, as reported by
	// the far end.
	Lost int64
	// LossRate is the fraction lost (0..1): for Sent, the far end's latest
	// report; for Received, over the interval.
	LossRate float64
	NACKs    uint32 // NACK packets sent (Received) or received (Sent)
	PLIs     uint32 // PLI packets, likewise
	FIRs     uint32

	// Frame fields come from a FrameCounter; zero without one.
	FPS           float64
	Width, Height int
}

// FrameCounter reports frames as an encoder or decoder counts them: the
// total so far and the size of the latest.
type FrameCounter interface {
	Frames() (count uint64, width, height int)
}

// StatsReader reads Stats from one PeerConnection; it keeps the previous
// sample to compute rates. It is not safe for concurrent use.
type StatsReader struct {
	pc *PeerConnection
	// SentFrames and ReceivedFrames, if set, supply frame rate and size.
	SentFrames, ReceivedFrames FrameCounter

	prev statsSample
}

type statsSample struct {
	at                 time.Time
	sentBytes, rcvd    uint64
	rcvdPkts           uint64
	rcvdLost           int64
	sentFrames, rFrame uint64
}

// NewStatsReader reads stats from pc.
func NewStatsReader(pc *PeerConnection) *StatsReader { return &StatsReader{pc: pc} }

// Read takes a sample now. The first call has no rates.
func (r *StatsReader) Read() Stats {
	now := time.Now()
	st := Stats{At: now, TargetBitrate: r.pc.estimator.TargetBitrate()}
	cur := statsSample{at: now}

	// Received: pc.GetStats carries inbound-rtp per remote track.
	var iceRTT float64
	for _, s := range r.pc.GetStats() {
		switch s := s.(type) {
		case webrtc.InboundRTPStreamStats:
			cur.rcvd += s.BytesReceived + s.HeaderBytesReceived
			cur.rcvdPkts += uint64(s.PacketsReceived)
			cur.rcvdLost += int64(s.PacketsLost)
			st.Received.NACKs += s.NACKCount
			st.Received.PLIs += s.PLICount
			st.Received.FIRs += s.FIRCount
		case webrtc.ICECandidatePairStats:
			if s.Nominated && s.CurrentRoundTripTime > 0 {
				iceRTT = s.CurrentRoundTripTime
			}
		}
	}

	// Sent: GetStats has no outbound-rtp in pion v4, so read our stats
	// interceptor for every SSRC we send on, RTX included.
	var rtt time.Duration
	for _, sender := range r.pc.GetSenders() {
		if sender.Track() == nil {
			continue
		}
		for _, enc := range sender.GetParameters().Encodings {
			for _, ssrc := range []webrtc.SSRC{enc.SSRC, enc.RTX.SSRC} {
				if ssrc == 0 {
					continue
				}
				s := r.pc.stats.Get(uint32(ssrc))
				if s == nil {
					continue
				}
				cur.sentBytes += s.OutboundRTPStreamStats.BytesSent + s.OutboundRTPStreamStats.HeaderBytesSent
				st.Sent.Packets += s.OutboundRTPStreamStats.PacketsSent
				st.Sent.NACKs += s.OutboundRTPStreamStats.NACKCount
				st.Sent.PLIs += s.OutboundRTPStreamStats.PLICount
				st.Sent.FIRs += s.OutboundRTPStreamStats.FIRCount
				st.Sent.Lost += s.RemoteInboundRTPStreamStats.PacketsLost
				st.Sent.LossRate = max(st.Sent.LossRate, s.RemoteInboundRTPStreamStats.FractionLost)
				if s.RemoteInboundRTPStreamStats.RoundTripTimeMeasurements > 0 {
					rtt = max(rtt, s.RemoteInboundRTPStreamStats.RoundTripTime)
				}
			}
		}
	}
	st.RTT = rtt
	if st.RTT == 0 {
		st.RTT = time.Duration(iceRTT * float64(time.Second))
	}

	st.Received.Packets, st.Received.Lost = cur.rcvdPkts, cur.rcvdLost
	var sentFPS, rcvdFPS float64
	if r.SentFrames != nil {
		n, w, h := r.SentFrames.Frames()
		cur.sentFrames, st.Sent.Width, st.Sent.Height = n, w, h
	}
	if r.ReceivedFrames != nil {
		n, w, h := r.ReceivedFrames.Frames()
		cur.rFrame, st.Received.Width, st.Received.Height = n, w, h
	}
	if p := r.prev; !p.at.IsZero() {
		if dt := now.Sub(p.at).Seconds(); dt > 0 {
			st.Sent.Bitrate = rate(cur.sentBytes, p.sentBytes, dt/8)
			st.Received.Bitrate = rate(cur.rcvd, p.rcvd, dt/8)
			sentFPS = float64(sub(cur.sentFrames, p.sentFrames)) / dt
			rcvdFPS = float64(sub(cur.rFrame, p.rFrame)) / dt
			got := sub(cur.rcvdPkts, p.rcvdPkts)
			lost := max(cur.rcvdLost-p.rcvdLost, 0)
			if total := float64(got) + float64(lost); total > 0 {
				st.Received.LossRate = float64(lost) / total
			}
		}
	}
	st.Sent.FPS, st.Received.FPS = sentFPS, rcvdFPS
	r.prev = cur
	return st
}

// rate returns (cur-prev)/per, 0 when a counter went backwards.
func rate(cur, prev uint64, per float64) int {
	return int(float64(sub(cur, prev)) / per)
}

func sub(cur, prev uint64) uint64 {
	if cur < prev {
		return 0
	}
	return cur - prev
}
