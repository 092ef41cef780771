package call

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/room"
)

// nalSink is a RawSink that keeps the video frames it is given and, when
// limit is positive, asks for NAL units of at most limit bytes.
type nalSink struct {
	limit  int
	mu     sync.Mutex
	frames [][]byte
}

func (s *nalSink) WriteVideo(frame []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, bytes.Clone(frame))
	return nil
}

func (s *nalSink) WriteAudio([]int16) error { return nil }

func (s *nalSink) MaxNALSize() int { return s.limit }

var _ provider.NALSizeLimited = (*nalSink)(nil)

// got waits for n frames and returns them.
func (s *nalSink) got(t *testing.T, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		fs := slices.Clone(s.frames)
		s.mu.Unlock()
		if len(fs) >= n {
			return fs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink got %d frames, want %d", len(fs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// largestNAL is the largest NAL unit of H.264 access units.
func largestNAL(frames [][]byte) int {
	largest := 0
	for _, f := range frames {
		largest = max(largest, codec.H264LargestNAL(f))
	}
	return largest
}

// A RawSink with a NAL size limit (a SIP call in H.264
// packetization-mode 0) gets frames from a key frame on, every NAL unit
// within its limit; once it leaves, the next sink's key frame is whole
// again.
func TestRawMediaNALSizeLimit(t *testing.T) {
	const limit = 500
	g := newFakeRig(t)
	w := g.room.Watch(context.Background())
	g.join(t, room.Meeting{ID: "sip"})
	j := g.nextJoin(t)
	limited, whole := &nalSink{limit: limit}, &nalSink{}
	var raw provider.RawMedia
	var mime string
	var cctx context.Context
	var leave context.CancelFunc
	j.run(t, func(ctx context.Context, s Session) {
		raw = s.(provider.RawMedia)
		var err error
		if mime, err = raw.VideoCodec(ctx); err != nil {
			t.Fatal(err)
		}
		cctx = ctx
		sctx, cancel := context.WithCancel(ctx)
		leave = cancel
		if _, err := raw.SendRaw(sctx, limited); err != nil {
			t.Fatal(err)
		}
		s.Connected()
	})
	waitState(t, w, room.InCall)
	if mime != codec.MimeH264 {
		t.Fatalf("the room's video is %s; the test needs H.264", mime)
	}
	fs := limited.got(t, 3)
	if types := codec.H264NALTypes(fs[0]); !slices.Contains(types, 5) {
		t.Errorf("the limited sink's first frame has NAL units %v; want a key frame (IDR, 5)", types)
	}
	if n := largestNAL(fs); n > limit {
		t.Errorf("the limited sink got a NAL unit of %d B; want ≤ %d", n, limit)
	}

	leave()
	if _, err := raw.SendRaw(cctx, whole); err != nil {
		t.Fatal(err)
	}
	// The first frames may still be the limited encoder's; the key frame
	// SendRaw asks for comes after the limit is lifted.
	deadline := time.Now().Add(5 * time.Second)
	for largestNAL(whole.got(t, 1)) <= limit {
		if time.Now().After(deadline) {
			t.Fatalf("after the limited sink left, the largest NAL unit is %d B; want the whole key frame's, > %d", largestNAL(whole.got(t, 1)), limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("largest NAL unit: %d B with the limit, %d B without", largestNAL(fs), largestNAL(whole.got(t, 1)))
}
