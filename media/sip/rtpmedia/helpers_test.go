package rtpmedia

import (
	"context"
	"image"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/mediatest"
)

var loopback = net.IPv4(127, 0, 0, 1)

// listen opens a stream on loopback that closes with the test.
func listen(t *testing.T, kind Kind, opts Options) *Stream {
	t.Helper()
	s, err := Listen(loopback, kind, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// remoteOf is what offer/answer would give a stream that talks to s.
func remoteOf(s *Stream, c Codec) Remote {
	return Remote{RTP: s.RTPAddr(), RTCP: s.RTCPAddr(), Codec: c}
}

// start starts s towards r with h (none if not given), failing the test
// on an error.
func start(t *testing.T, s *Stream, r Remote, h ...Handlers) {
	t.Helper()
	var hs Handlers
	if len(h) > 0 {
		hs = h[0]
	}
	if err := s.Start(context.Background(), r, hs); err != nil {
		t.Fatal(err)
	}
}

// patternFrames makes n copies of the capture pattern's frames.
func patternFrames(t testing.TB, w, h, n int) []*image.YCbCr {
	return mediatest.PatternFrames(t, w, h, n)
}

// psnrY is the PSNR of b's luma against a's, in dB.
func psnrY(a, b *image.YCbCr) float64 { return mediatest.PSNRY(a, b) }

// tone is n samples of a sine of freq Hz at 48 kHz, starting at sample off.
func tone(freq float64, off, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(off+i)/48000))
	}
	return out
}

// toneShare is the share of pcm's power at freq Hz (Goertzel), 0..1.
func toneShare(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/48000)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s0 := x + k*s1 - s2
		s2, s1 = s1, s0
		total += x * x
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	if total == 0 {
		return 0
	}
	return 2 * p / (float64(len(pcm)) * total)
}

// relay forwards UDP between a near side and a far side and can drop or
// inspect what passes; one relay carries one muxed RTP/RTCP flow.
type relay struct {
	front, back *net.UDPConn // front faces the near stream, back the far one
	far         *net.UDPAddr

	mu      sync.Mutex
	near    *net.UDPAddr
	drop    func(toFar bool, b []byte) bool
	inspect func(toFar bool, b []byte)
}

func newRelay(t *testing.T, far *net.UDPAddr) *relay {
	t.Helper()
	f, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{front: f, back: b, far: far}
	go r.pump(f, true)
	go r.pump(b, false)
	t.Cleanup(func() { f.Close(); b.Close() })
	return r
}

func (r *relay) set(drop func(bool, []byte) bool, inspect func(bool, []byte)) {
	r.mu.Lock()
	r.drop, r.inspect = drop, inspect
	r.mu.Unlock()
}

func (r *relay) pump(c *net.UDPConn, toFar bool) {
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		r.mu.Lock()
		if toFar {
			r.near = from
		}
		near, drop, inspect := r.near, r.drop, r.inspect
		r.mu.Unlock()
		if inspect != nil {
			inspect(toFar, b)
		}
		if drop != nil && drop(toFar, b) {
			continue
		}
		if toFar {
			r.back.WriteToUDP(b, r.far)
		} else if near != nil {
			r.front.WriteToUDP(b, near)
		}
	}
}

// eventually polls cond until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool { return mediatest.Eventually(d, cond) }
