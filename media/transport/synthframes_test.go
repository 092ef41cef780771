package transport

// The network tests' synthetic video: an encoder whose frames carry their
// number and length, and a sink that checks each frame arrives whole.

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// synthEncoder stands in for a video encoder: frames of bitrate/fps bytes.
// Byte 0 is a VP8 frame tag (bit 0 clear on key frames), then the frame's
// number and length, then the number's low byte as filler.
type synthEncoder struct {
	mu      sync.Mutex
	bitrate int
	key     bool
	seq     uint32

	forced atomic.Int64 // ForceKeyFrame calls
	sent   sync.Map     // seq → time.Time the frame was written
	frames atomic.Int64
}

func newSynthEncoder(bps int) *synthEncoder { return &synthEncoder{bitrate: bps, key: true} }

func (e *synthEncoder) SetBitRate(bps int) {
	e.mu.Lock()
	e.bitrate = bps
	e.mu.Unlock()
}

func (e *synthEncoder) ForceKeyFrame() {
	e.forced.Add(1)
	e.mu.Lock()
	e.key = true
	e.mu.Unlock()
}

func (e *synthEncoder) next() (frame []byte, seq uint32) {
	e.mu.Lock()
	size := max(e.bitrate/8/testFPS, 16)
	key := e.key
	e.key = false
	e.seq++
	seq = e.seq
	e.mu.Unlock()

	frame = make([]byte, size)
	frame[0] = 1
	if key {
		frame[0] = 0
	}
	binary.BigEndian.PutUint32(frame[1:], seq)
	binary.BigEndian.PutUint32(frame[5:], uint32(size))
	for i := 9; i < size; i++ {
		frame[i] = byte(seq)
	}
	return frame, seq
}

func (e *synthEncoder) run(ctx context.Context, track *webrtc.TrackLocalStaticSample) {
	tick := time.NewTicker(time.Second / testFPS)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		frame, seq := e.next()
		e.sent.Store(seq, time.Now())
		e.frames.Add(1)
		if err := track.WriteSample(media.Sample{Data: frame, Duration: time.Second / testFPS}); err != nil {
			return
		}
	}
}

// Frames implements FrameCounter.
func (e *synthEncoder) Frames() (uint64, int, int) { return uint64(e.frames.Load()), 0, 0 }

// sentBetween counts frames written in [from, to).
func (e *synthEncoder) sentBetween(from, to time.Time) (n int) {
	e.sent.Range(func(_, v any) bool {
		if at := v.(time.Time); !at.Before(from) && at.Before(to) {
			n++
		}
		return true
	})
	return n
}

// frameSink reassembles frames at the receiver and checks each one whole.
type frameSink struct {
	mu     sync.Mutex
	whole  map[uint32]time.Time // seq → arrival of a complete, intact frame
	broken int
	keys   int
	ssrc   webrtc.SSRC
	got    chan struct{} // closed at the first whole frame
	once   sync.Once
}

func newFrameSink() *frameSink {
	return &frameSink{whole: map[uint32]time.Time{}, got: make(chan struct{})}
}

func (s *frameSink) read(track *webrtc.TrackRemote) {
	s.mu.Lock()
	s.ssrc = track.SSRC()
	s.mu.Unlock()
	sb := samplebuilder.New(1000, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(time.Second))
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			s.frame(smp.Data)
		}
	}
}

func (s *frameSink) frame(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) < 9 || int(binary.BigEndian.Uint32(b[5:])) != len(b) {
		s.broken++
		return
	}
	seq := binary.BigEndian.Uint32(b[1:])
	for _, c := range b[9:] {
		if c != byte(seq) {
			s.broken++
			return
		}
	}
	if b[0]&1 == 0 {
		s.keys++
	}
	s.whole[seq] = time.Now()
	s.once.Do(func() { close(s.got) })
}

// wholeSince counts intact frames that arrived at or after from.
func (s *frameSink) wholeSince(from time.Time) (n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.whole {
		if !at.Before(from) {
			n++
		}
	}
	return n
}

// wholeOf counts how many of the frames the encoder wrote in [from, to)
// arrived intact.
func (s *frameSink) wholeOf(e *synthEncoder, from, to time.Time) (n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.sent.Range(func(k, v any) bool {
		at := v.(time.Time)
		if _, ok := s.whole[k.(uint32)]; ok && !at.Before(from) && at.Before(to) {
			n++
		}
		return true
	})
	return n
}

func (s *frameSink) counts() (keys, broken int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys, s.broken
}
