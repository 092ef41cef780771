package rtpmedia

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pion/rtcp"

	"github.com/roomd/roomd/media/transport"
)

// counters are the stream's running totals; Stats turns them into rates.
type counters struct {
	mu sync.Mutex
	// sending
	sentPackets, sentBytes uint64
	sentSince              bool // sent since the last sender report
	lastTS                 uint32
	lastTSAt               time.Time
	framesSent             uint64
	// the far end's reports about what was sent
	remoteLoss float64
	remoteLost int64
	rtt        time.Duration
	// receiving
	framesDecoded  uint64
	width, height  int
	decryptFails   uint64
	badPackets     uint64
	rtcpIn         uint64
	plisIn, firsIn uint32
	plisOut        uint32
	firsOut        uint32
	keyingErr      error

	prev struct {
		at                    time.Time
		sentBytes, recvBytes  uint64
		sentFrames, recvFrame uint64
		recvExpected, recvGot uint32
	}
}

func (c *counters) sent(n int, ts uint32) {
	c.mu.Lock()
	c.sentPackets++
	c.sentBytes += uint64(n)
	c.sentSince = true
	c.lastTS, c.lastTSAt = ts, time.Now()
	c.mu.Unlock()
}

func (c *counters) frameSent() {
	c.mu.Lock()
	c.framesSent++
	c.mu.Unlock()
}

func (c *counters) frameDecoded(w, h int) {
	c.mu.Lock()
	c.framesDecoded++
	c.width, c.height = w, h
	c.mu.Unlock()
}

// decryptFailed counts a packet that did not authenticate and returns the
// count so far.
func (c *counters) decryptFailed() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decryptFails++
	return c.decryptFails
}

func (c *counters) keyingFailed(err error) { c.mu.Lock(); c.keyingErr = err; c.mu.Unlock() }

func (c *counters) badPacket() { c.mu.Lock(); c.badPackets++; c.mu.Unlock() }
func (c *counters) rtcpGot()   { c.mu.Lock(); c.rtcpIn++; c.mu.Unlock() }
func (c *counters) pliIn()     { c.mu.Lock(); c.plisIn++; c.mu.Unlock() }
func (c *counters) firIn()     { c.mu.Lock(); c.firsIn++; c.mu.Unlock() }
func (c *counters) pliOut()    { c.mu.Lock(); c.plisOut++; c.mu.Unlock() }
func (c *counters) firOut()    { c.mu.Lock(); c.firsOut++; c.mu.Unlock() }

func (c *counters) remoteReport(loss float64, lost int64, rtt time.Duration) {
	c.mu.Lock()
	c.remoteLoss, c.remoteLost = loss, lost
	if rtt > 0 {
		c.rtt = rtt
	}
	c.mu.Unlock()
}

// senderInfo is the sender report's sender part if anything was sent since
// the last one.
func (c *counters) senderInfo(now time.Time, clock uint32) (rtcp.SenderReport, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sentSince {
		return rtcp.SenderReport{}, false
	}
	c.sentSince = false
	return rtcp.SenderReport{
		NTPTime:     ntpTime(now),
		RTPTime:     c.lastTS + uint32(now.Sub(c.lastTSAt).Seconds()*float64(clock)),
		PacketCount: uint32(c.sentPackets),
		OctetCount:  uint32(c.sentBytes),
	}, true
}

// Stats are a stream's figures: transport.Stats as media/call reports it,
// and what only a plain RTP stream has.
type Stats struct {
	transport.Stats
	// DecryptFailures counts packets that did not authenticate (wrong
	// SRTP keys, or an attacker).
	DecryptFailures uint64
	// Malformed counts packets that did not parse.
	Malformed uint64
	// RTCPReceived counts the far end's RTCP compound packets that
	// authenticated and parsed.
	RTCPReceived uint64
	// OversizeNALs counts H.264 NAL units sent whole in
	// packetization-mode 0 though larger than the MTU.
	OversizeNALs uint64
	// MediaStopped says no packet came for Options.Timeout.
	MediaStopped bool
	// KeyingError is why DTLS-SRTP keying failed, or nil.
	KeyingError error
}

// Stats returns the stream's figures; rates are over the time since the
// previous call (none on the first).
func (s *Stream) Stats() Stats {
	now := time.Now()
	s.rx.mu.Lock()
	recvBytes, recvGot := s.rx.bytes, s.rx.received
	recvExpected := uint32(0)
	if s.rx.have {
		recvExpected = s.rx.cycles + uint32(s.rx.maxSeq) - s.rx.baseSeq + 1
	}
	stopped := s.rx.stopped
	jitterLost := int64(recvExpected) - int64(recvGot)
	s.rx.mu.Unlock()
	s.sendMu.Lock()
	oversize := s.send.oversize
	s.sendMu.Unlock()

	c := &s.st
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Stats{DecryptFailures: c.decryptFails, Malformed: c.badPackets, OversizeNALs: oversize, MediaStopped: stopped, KeyingError: c.keyingErr, RTCPReceived: c.rtcpIn}
	st.At = now
	st.TargetBitrate = s.rate.Target()
	if s.kind != Video {
		st.TargetBitrate = 0
	}
	st.RTT = c.rtt
	st.Sent = transport.StreamStats{Packets: c.sentPackets, Lost: c.remoteLost, LossRate: c.remoteLoss, PLIs: c.plisIn, FIRs: c.firsIn}
	st.Received = transport.StreamStats{Packets: uint64(recvGot), Lost: max(jitterLost, 0), PLIs: c.plisOut, FIRs: c.firsOut, Width: c.width, Height: c.height}
	p := &c.prev
	if el := now.Sub(p.at).Seconds(); !p.at.IsZero() && el > 0 {
		st.Sent.Bitrate = int(float64(c.sentBytes-p.sentBytes) * 8 / el)
		st.Received.Bitrate = int(float64(recvBytes-p.recvBytes) * 8 / el)
		st.Sent.FPS = float64(c.framesSent-p.sentFrames) / el
		st.Received.FPS = float64(c.framesDecoded-p.recvFrame) / el
		if exp := recvExpected - p.recvExpected; exp > 0 && recvExpected >= p.recvExpected {
			st.Received.LossRate = max(0, float64(int64(exp)-int64(recvGot-p.recvGot))/float64(exp))
		}
	}
	p.at, p.sentBytes, p.recvBytes, p.sentFrames, p.recvFrame = now, c.sentBytes, recvBytes, c.framesSent, c.framesDecoded
	p.recvExpected, p.recvGot = recvExpected, recvGot
	return st
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// closeCodecs frees the encoder once the stream's goroutines ended.
func (s *Stream) closeCodecs() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.send.audio != nil {
		s.send.audio.close()
	}
}
