package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// KeyFrameRequester is what an encoder offers to start a new key frame.
type KeyFrameRequester interface {
	ForceKeyFrame()
}

// KeyFrameFunc adapts a function to a KeyFrameRequester.
type KeyFrameFunc func()

// ForceKeyFrame calls f().
func (f KeyFrameFunc) ForceKeyFrame() { f() }

// RTCPReader reads the raw RTCP that arrives for one sender, after pion's
// interceptors have seen it; *webrtc.RTPSender is one. A reader that also has
// SetReadDeadline(time.Time) error lets Run return promptly when its context
// ends.
type RTCPReader interface {
	Read(b []byte) (n int, a interceptor.Attributes, err error)
}

// DefaultKeyFrameInterval is the least time between two key frames forced
// by the far end.
const DefaultKeyFrameInterval = 500 * time.Millisecond

// SenderFeedback reads RTCP for one RTPSender. Reading is not optional: the
// interceptors see RTCP only as it is read, so without it the NACK responder
// never retransmits and GCC never hears back. Picture Loss Indications and
// Full Intra Requests become key frames, at most one per MinInterval; a
// request inside the interval is served once at its end, so the last
// receiver to ask still gets a key frame.
type SenderFeedback struct {
	// Sender is the RTP sender to read, usually a *webrtc.RTPSender.
	Sender RTCPReader
	// KeyFrame is called for PLI and FIR; nil ignores them (audio).
	KeyFrame KeyFrameRequester
	// OnREMB, if set, receives the bitrate of every REMB (Receiver
	// Estimated Maximum Bitrate) the far end sends, in bit/s: an SFU's
	// limit for this publisher (see ServerCap).
	OnREMB func(bps int)
	// MinInterval defaults to DefaultKeyFrameInterval.
	MinInterval time.Duration
	// Logger defaults to discard.
	Logger *slog.Logger

	requests atomic.Int64
	forced   atomic.Int64

	mu      sync.Mutex
	limit   keyFrameLimit
	timer   *time.Timer
	stopped bool
}

// Requests returns how many PLI and FIR packets have arrived.
func (s *SenderFeedback) Requests() int { return int(s.requests.Load()) }

// KeyFrames returns how many key frames have been forced.
func (s *SenderFeedback) KeyFrames() int { return int(s.forced.Load()) }

// Run reads RTCP until the sender stops (the PeerConnection closes or the
// track is removed) or ctx ends; neither is an error. Cancellation can only
// interrupt a blocked read once media flows and the sender has a read
// deadline; closing the PeerConnection always ends Run. Run a
// SenderFeedback once at a time.
func (s *SenderFeedback) Run(ctx context.Context) error {
	if s.Sender == nil {
		return fmt.Errorf("transport: SenderFeedback needs a Sender")
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.mu.Lock()
	s.limit.min = s.MinInterval
	if s.limit.min <= 0 {
		s.limit.min = DefaultKeyFrameInterval
	}
	s.stopped = false
	s.mu.Unlock()
	defer s.stop()

	if d, ok := s.Sender.(interface{ SetReadDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { _ = d.SetReadDeadline(time.Now()) })
		defer stop()
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := s.Sender.Read(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return nil
			}
			return fmt.Errorf("transport: read RTCP: %w", err)
		}
		// The interceptors have had the packet; one we cannot parse
		// only means it holds no key-frame request we understand.
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			log.Debug("unparsable RTCP", "err", err)
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication:
				log.Debug("picture loss indication", "ssrc", p.MediaSSRC)
				s.request()
			case *rtcp.FullIntraRequest:
				log.Debug("full intra request", "ssrc", p.MediaSSRC)
				s.request()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if s.OnREMB != nil {
					s.OnREMB(int(min(p.Bitrate, float32(1<<31-1))))
				}
			}
		}
	}
}

// request handles one PLI or FIR.
func (s *SenderFeedback) request() {
	s.requests.Add(1)
	if s.KeyFrame == nil {
		return
	}
	s.mu.Lock()
	fire, wait := s.limit.request(time.Now())
	if wait > 0 && !s.stopped {
		s.timer = time.AfterFunc(wait, s.deferred)
	}
	s.mu.Unlock()
	if fire {
		s.force()
	}
}

// deferred serves a request that arrived inside the interval.
func (s *SenderFeedback) deferred() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.limit.deferred(time.Now())
	s.timer = nil
	s.mu.Unlock()
	s.force()
}

func (s *SenderFeedback) force() {
	s.forced.Add(1)
	s.KeyFrame.ForceKeyFrame()
}

func (s *SenderFeedback) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.limit.pending = false
}

// keyFrameLimit allows one key frame per min and remembers one request made
// inside the interval.
type keyFrameLimit struct {
	min     time.Duration
	last    time.Time
	pending bool
}

// request returns fire when a key frame is due now, or wait > 0 when one
// should be forced after wait; both are zero when a deferred key frame is
// already planned.
func (l *keyFrameLimit) request(now time.Time) (fire bool, wait time.Duration) {
	if l.last.IsZero() || now.Sub(l.last) >= l.min {
		l.last = now
		return true, 0
	}
	if l.pending {
		return false, 0
	}
	l.pending = true
	return false, l.min - now.Sub(l.last)
}

// deferred records that the planned key frame was forced at now.
func (l *keyFrameLimit) deferred(now time.Time) {
	l.pending = false
	l.last = now
}
