package rtpmedia

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/roomd/roomd/media/codec"
)

// receiver reorders and decodes what the far end sends; only the RTP read
// goroutine uses it.
type receiver struct {
	sb   *samplebuilder.SampleBuilder
	vdec codec.VideoDecoder
	adec *audioDecoder
}

func newReceiver(kind Kind, c Codec) (*receiver, error) {
	if kind == Audio {
		dec, err := newAudioDecoder(c)
		if err != nil {
			return nil, err
		}
		// A few packets of reordering, no more: audio waits for nobody.
		return &receiver{adec: dec, sb: samplebuilder.New(8, wholePacket{}, c.clockRate())}, nil
	}
	var dp rtp.Depacketizer
	mime := codec.MimeH264
	switch {
	case c.is(CodecH264):
		dp = &codecs.H264Packet{} // single NAL units, STAP-A and FU-A alike
	case c.is(CodecVP8):
		dp, mime = &codecs.VP8Packet{}, codec.MimeVP8
	default:
		return nil, errors.Join(ErrUnsupportedCodec, errors.New("rtpmedia: cannot decode video "+c.Name))
	}
	dec, err := codec.NewVideoDecoder(mime)
	if err != nil {
		return nil, err
	}
	// A key frame at 720p is a few hundred packets.
	return &receiver{vdec: dec, sb: samplebuilder.New(512, dp, c.clockRate())}, nil
}

func (r *receiver) close() {
	if r.vdec != nil {
		r.vdec.Close()
	}
	if r.adec != nil {
		r.adec.close()
	}
}

// wholePacket depacketizes audio: each packet is one frame.
type wholePacket struct{}

func (wholePacket) Unmarshal(p []byte) ([]byte, error) { return p, nil }
func (wholePacket) IsPartitionHead([]byte) bool        { return true }
func (wholePacket) IsPartitionTail(bool, []byte) bool  { return true }

// readRTP reads the RTP socket (and RTCP with rtcp-mux) until it closes.
func (s *Stream) readRTP(ctx context.Context, rcv *receiver) {
	defer rcv.close()
	buf := make([]byte, 65536)
	for {
		n, from, err := s.rtp.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		b := append([]byte(nil), buf[:n]...) // the reorder buffer keeps packets
		if s.ice != nil && isSTUN(b) {
			s.answerSTUN(s.rtp, &s.rtpDst, b, from, s.rtcp == nil)
			continue
		}
		if s.dtls != nil && isDTLS(b) {
			s.dtls.deliver(b)
			continue
		}
		if s.rtcp == nil && isRTCP(b) {
			s.handleRTCP(b, from)
			continue
		}
		s.handleRTP(b, from, rcv)
	}
}

func (s *Stream) handleRTP(b []byte, from *net.UDPAddr, rcv *receiver) {
	if s.encrypted {
		var h rtp.Header
		s.recvMu.Lock()
		if s.srtpIn == nil {
			s.recvMu.Unlock()
			return // DTLS has not keyed the stream yet
		}
		dec, err := s.srtpIn.DecryptRTP(nil, b, &h)
		s.recvMu.Unlock()
		if err != nil {
			if s.st.decryptFailed() == 1 {
				s.log.Warn("rtpmedia: SRTP packet does not authenticate; check the negotiated keys", "from", from, "err", err)
			}
			return
		}
		b = dec
	}
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil || p.Version != 2 {
		s.st.badPacket()
		return
	}
	latch(&s.rtpDst, from)
	now := time.Now()
	codec := s.rxCodec.Load()
	if s.rx.update(&p, now, codec.clockRate(), len(b)) && s.h.OnMediaResumed != nil {
		s.h.OnMediaResumed()
	}
	if s.remote.receivesDTMF(p.PayloadType) {
		s.telephoneEvent(&p)
		return
	}
	if !codec.receives(p.PayloadType) {
		return // comfort noise is not played
	}
	rcv.sb.Push(&p)
	for smp := rcv.sb.Pop(); smp != nil; smp = rcv.sb.Pop() {
		s.decode(rcv, smp.Data)
	}
}

func (s *Stream) decode(rcv *receiver, data []byte) {
	if rcv.adec != nil {
		pcm, err := rcv.adec.decode(data)
		if err == nil && s.h.OnAudio != nil {
			s.h.OnAudio(pcm)
		}
		return
	}
	img, err := rcv.vdec.Decode(data)
	if err != nil {
		if errors.Is(err, codec.ErrNeedKeyFrame) {
			s.RequestKeyFrame()
		}
		return
	}
	if img == nil {
		return
	}
	s.st.frameDecoded(img.Rect.Dx(), img.Rect.Dy())
	if s.h.OnVideo != nil {
		s.h.OnVideo(img)
	}
}

// reception keeps RFC 3550's receiver figures for the far end's stream
// (appendix A.1 and A.8) and when its last packet came.
type reception struct {
	mu       sync.Mutex
	have     bool
	ssrc     uint32
	baseSeq  uint32
	maxSeq   uint16
	cycles   uint32
	received uint32
	bytes    uint64
	// figures at the last report, for the fraction lost
	expectedPrior, receivedPrior uint32
	transit                      int64
	jitter                       float64
	lastSR                       uint32 // middle 32 bits of the last SR's NTP time
	lastSRAt                     time.Time
	lastPacket                   time.Time
	stopped                      bool
}

func (r *reception) start(now time.Time) {
	r.mu.Lock()
	r.lastPacket = now
	r.mu.Unlock()
}

// update counts p, which arrived at now; it says whether the media was
// stopped and resumes with p.
func (r *reception) update(p *rtp.Packet, now time.Time, clock uint32, size int) (resumed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastPacket = now
	resumed, r.stopped = r.stopped, false
	if !r.have || p.SSRC != r.ssrc {
		// A new source (or the first): its figures start afresh.
		r.have, r.ssrc, r.baseSeq, r.maxSeq, r.cycles = true, p.SSRC, uint32(p.SequenceNumber), p.SequenceNumber, 0
		r.received, r.expectedPrior, r.receivedPrior, r.jitter = 0, 0, 0, 0
	} else if d := p.SequenceNumber - r.maxSeq; d != 0 && d < 0x8000 {
		if p.SequenceNumber < r.maxSeq {
			r.cycles += 1 << 16
		}
		r.maxSeq = p.SequenceNumber
	}
	r.received++
	r.bytes += uint64(size)
	arrival := int64(float64(now.UnixNano()) * float64(clock) / 1e9)
	transit := arrival - int64(p.Timestamp)
	if r.received > 1 {
		d := transit - r.transit
		if d < 0 {
			d = -d
		}
		r.jitter += (float64(d) - r.jitter) / 16
	}
	r.transit = transit
	return resumed
}

// timedOut says, once, that no packet came for timeout.
func (r *reception) timedOut(now time.Time, timeout time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || now.Sub(r.lastPacket) < timeout {
		return false
	}
	r.stopped = true
	return true
}
