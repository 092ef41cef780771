package rtpmedia

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// feedbackState throttles key-frame requests and numbers FIRs.
type feedbackState struct {
	mu      sync.Mutex
	lastReq time.Time
	firSeq  uint8
	// lastFIR is the sequence number of the latest FIR honoured, so a
	// repeated FIR asks once (RFC 5104 §4.3.1.2).
	lastFIR    uint8
	haveFIR    bool
	lastTarget int
}

// keyFrameEvery is the least time between two key-frame requests sent.
const keyFrameEvery = 500 * time.Millisecond

// rtcpLoop sends reports every RTCPInterval and watches for the media
// stopping, until ctx ends.
func (s *Stream) rtcpLoop(ctx context.Context) {
	tick := min(s.opts.RTCPInterval, s.opts.Timeout/4)
	t := time.NewTicker(tick)
	defer t.Stop()
	next := time.Now()
	for {
		select {
		case <-ctx.Done():
			// BYE, then the sockets close and the readers end.
			s.writeRTCP([]rtcp.Packet{&rtcp.Goodbye{Sources: []uint32{s.ssrc}}, s.sdes()})
			s.closeSockets()
			return
		case <-t.C:
		}
		now := time.Now()
		if s.rx.timedOut(now, s.opts.Timeout) {
			s.log.Warn("rtpmedia: no media from the far end", "for", s.opts.Timeout)
			if s.h.OnMediaStopped != nil {
				s.h.OnMediaStopped()
			}
		}
		if now.Before(next) {
			continue
		}
		next = now.Add(s.opts.RTCPInterval)
		if err := s.writeRTCP(s.report(now)); err != nil && ctx.Err() == nil {
			s.log.Debug("rtpmedia: rtcp send failed", "err", err)
		}
	}
}

func (s *Stream) sdes() *rtcp.SourceDescription {
	return &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: s.ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: s.opts.CNAME}},
	}}}
}

// report is the compound packet sent each interval: a sender report if
// the stream sent since the last one, else a receiver report, then SDES.
func (s *Stream) report(now time.Time) []rtcp.Packet {
	var blocks []rtcp.ReceptionReport
	if b, ok := s.rx.block(now); ok {
		blocks = append(blocks, b)
	}
	var first rtcp.Packet = &rtcp.ReceiverReport{SSRC: s.ssrc, Reports: blocks}
	s.sendMu.Lock()
	clock := s.send.clock
	s.sendMu.Unlock()
	if sr, ok := s.st.senderInfo(now, clock); ok {
		sr.SSRC, sr.Reports = s.ssrc, blocks
		first = &sr
	}
	return []rtcp.Packet{first, s.sdes()}
}

// ntpTime is t as a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}

// block is the reception report about the far end's stream, and moves the
// interval on.
func (r *reception) block(now time.Time) (rtcp.ReceptionReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.have {
		return rtcp.ReceptionReport{}, false
	}
	ext := r.cycles + uint32(r.maxSeq)
	expected := ext - r.baseSeq + 1
	lost := int64(expected) - int64(r.received)
	expInt := expected - r.expectedPrior
	recInt := r.received - r.receivedPrior
	r.expectedPrior, r.receivedPrior = expected, r.received
	var fraction uint8
	if lostInt := int64(expInt) - int64(recInt); expInt > 0 && lostInt > 0 {
		fraction = uint8(min(lostInt<<8/int64(expInt), 255))
	}
	b := rtcp.ReceptionReport{
		SSRC:               r.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(max(min(lost, 0x7fffff), 0)),
		LastSequenceNumber: ext,
		Jitter:             uint32(r.jitter),
		LastSenderReport:   r.lastSR,
	}
	if r.lastSR != 0 {
		b.Delay = uint32(now.Sub(r.lastSRAt).Seconds() * 65536)
	}
	return b, true
}

// readRTCP reads the RTCP socket until it closes.
func (s *Stream) readRTCP(ctx context.Context) {
	buf := make([]byte, 65536)
	for {
		n, from, err := s.rtcp.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || isClosed(err) {
				return
			}
			continue
		}
		b := append([]byte(nil), buf[:n]...)
		if s.ice != nil && isSTUN(b) {
			s.answerSTUN(s.rtcp, &s.rtcpDst, b, from, false)
			continue
		}
		if s.dtlsRTCP != nil && isDTLS(b) {
			s.dtlsRTCP.deliver(b)
			continue
		}
		s.handleRTCP(b, from)
	}
}

func (s *Stream) handleRTCP(b []byte, from *net.UDPAddr) {
	if s.encrypted {
		s.recvMu.Lock()
		if s.srtcpIn == nil {
			s.recvMu.Unlock()
			return
		}
		dec, err := s.srtcpIn.DecryptRTCP(nil, b, nil)
		s.recvMu.Unlock()
		if err != nil {
			s.st.decryptFailed()
			return
		}
		b = dec
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		s.st.badPacket()
		return
	}
	latch(&s.rtcpDst, from)
	s.st.rtcpGot()
	now := time.Now()
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			s.rx.mu.Lock()
			s.rx.lastSR, s.rx.lastSRAt = uint32(p.NTPTime>>16), now
			s.rx.mu.Unlock()
			s.onReports(p.Reports, now)
		case *rtcp.ReceiverReport:
			s.onReports(p.Reports, now)
		case *rtcp.PictureLossIndication:
			if p.MediaSSRC == s.ssrc || p.MediaSSRC == 0 {
				s.st.pliIn()
				s.keyFrameAsked()
			}
		case *rtcp.FullIntraRequest:
			s.onFIR(p)
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			s.setTarget(s.rate.CapREMB(int(p.Bitrate)))
		case *rtcp.RawPacket:
			s.onRaw(*p)
		}
	}
}

func (s *Stream) onReports(rs []rtcp.ReceptionReport, now time.Time) {
	for _, r := range rs {
		if r.SSRC != s.ssrc {
			continue
		}
		var rtt time.Duration
		if r.LastSenderReport != 0 {
			mid := uint32(ntpTime(now) >> 16)
			if d := mid - r.LastSenderReport - r.Delay; d < 1<<31 {
				rtt = time.Duration(float64(d) / 65536 * float64(time.Second))
			}
		}
		loss := float64(r.FractionLost) / 256
		s.st.remoteReport(loss, int64(r.TotalLost), rtt)
		if s.kind == Video {
			s.setTarget(s.rate.OnLoss(loss))
		}
	}
}

// setTarget hands a new send target to the encoder when it moved.
func (s *Stream) setTarget(bps int) {
	if s.kind != Video {
		return
	}
	s.fb.mu.Lock()
	changed := bps != s.fb.lastTarget
	s.fb.lastTarget = bps
	s.fb.mu.Unlock()
	if changed && s.h.OnBitrate != nil {
		s.h.OnBitrate(bps)
	}
}

func (s *Stream) onFIR(p *rtcp.FullIntraRequest) {
	for _, e := range p.FIR {
		if e.SSRC != s.ssrc {
			continue
		}
		s.fb.mu.Lock()
		repeat := s.fb.haveFIR && s.fb.lastFIR == e.SequenceNumber
		s.fb.haveFIR, s.fb.lastFIR = true, e.SequenceNumber
		s.fb.mu.Unlock()
		s.st.firIn()
		if !repeat {
			s.keyFrameAsked()
		}
	}
}

// onRaw handles what pion/rtcp does not parse: TMMBR, answered with TMMBN.
func (s *Stream) onRaw(b []byte) {
	var t TMMB
	if t.Unmarshal(b) != nil || t.Notification {
		return
	}
	for _, e := range t.Entries {
		if e.SSRC != s.ssrc {
			continue
		}
		s.setTarget(s.rate.CapTMMBR(int(e.Bitrate)))
		n := &TMMB{Notification: true, SenderSSRC: s.ssrc, Entries: []TMMBEntry{{SSRC: t.SenderSSRC, Bitrate: e.Bitrate, Overhead: e.Overhead}}}
		s.writeRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: s.ssrc}, n})
	}
}

func (s *Stream) keyFrameAsked() {
	if s.h.OnKeyFrameRequest != nil {
		s.h.OnKeyFrameRequest()
	}
}

// RequestKeyFrame asks the far end for a key frame: a PLI, or a FIR, as
// it negotiated, else OnNeedKeyFrame (SIP INFO). Requests closer than
// 500 ms to the last are dropped.
func (s *Stream) RequestKeyFrame() {
	if !s.started.Load() {
		return
	}
	s.fb.mu.Lock()
	now := time.Now()
	if now.Sub(s.fb.lastReq) < keyFrameEvery {
		s.fb.mu.Unlock()
		return
	}
	s.fb.lastReq = now
	s.fb.firSeq++
	seq := s.fb.firSeq
	s.fb.mu.Unlock()
	s.rx.mu.Lock()
	media := s.rx.ssrc
	s.rx.mu.Unlock()
	fb := s.remote.Feedback
	switch {
	case fb.PLI:
		s.st.pliOut()
		s.writeRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: s.ssrc}, &rtcp.PictureLossIndication{SenderSSRC: s.ssrc, MediaSSRC: media}})
	case fb.FIR:
		s.st.firOut()
		s.writeRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: s.ssrc}, &rtcp.FullIntraRequest{SenderSSRC: s.ssrc, MediaSSRC: media, FIR: []rtcp.FIREntry{{SSRC: media, SequenceNumber: seq}}}})
	case s.h.OnNeedKeyFrame != nil:
		s.h.OnNeedKeyFrame()
	}
}
