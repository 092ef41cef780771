package transport

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// Pacing parameters.
const (
	// paceFactor is how much faster than the congestion controller's
	// target the pacer may send, as libwebrtc's pace multiplier (2.5): the
	// encoder overshoots on key frames and the queue must drain.
	paceFactor = 2.5
	// paceBurst is how much sending time the pacer lets leave at once. At
	// paceFactor × target it holds 50 ms of the target bitrate, more than
	// an average frame at 30 fps (33 ms), so ordinary frames leave the
	// moment they are packetized and only oversized ones (key frames,
	// sudden motion) are spread out.
	paceBurst = 20 * time.Millisecond
	// paceQueueMax bounds the packets waiting; past it new packets are
	// refused (the encoder's rate control, told by GCC, is what slows).
	paceQueueMax = 4096
)

// errPacerFull reports a packet refused because the queue is full.
var errPacerFull = errors.New("transport: pacer queue full")

// burstPacer is a gcc.Pacer that wakes only when it has something to do.
//
// pion's LeakyBucketPacer ticks every 5 ms for the life of the call and
// sends only from that goroutine: 200 wake-ups a second whether or not a
// packet waits, and every packet handed from the encoder's goroutine to the
// pacer's. On a small board each wake-up is a context switch. burstPacer
// keeps a token bucket instead: a packet that fits the budget (and has no
// one queued ahead of it) is written at once by the goroutine that
// produced it; the others wait in a FIFO that a one-shot timer, armed only
// while the queue is non-empty, drains at the pacing rate.
type burstPacer struct {
	mu      sync.Mutex
	sendMu  sync.Mutex // held across each write, taken under mu: keeps FIFO order on the wire
	writers map[uint32]interceptor.RTPWriter
	rate    float64 // bytes per second
	budget  float64 // bytes that may leave now; at most rate × paceBurst
	last    time.Time
	queue   []pacedPacket
	timer   *time.Timer
	armed   bool
	closed  bool
	now     func() time.Time
}

type pacedPacket struct {
	header rtp.Header
	// payload is the pacer's own copy: the caller may reuse its buffer
	// once Write returns.
	payload []byte
	attr    interceptor.Attributes
	writer  interceptor.RTPWriter
}

var _ gcc.Pacer = (*burstPacer)(nil)

func newBurstPacer(initialBitrate int) *burstPacer {
	p := &burstPacer{writers: map[uint32]interceptor.RTPWriter{}, now: time.Now}
	p.rate = paceFactor * float64(initialBitrate) / 8
	p.budget = p.rate * paceBurst.Seconds()
	p.last = p.now()
	p.timer = time.AfterFunc(time.Hour, p.drain)
	p.timer.Stop()
	return p
}

// AddStream routes packets with ssrc to writer.
func (p *burstPacer) AddStream(ssrc uint32, writer interceptor.RTPWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writers[ssrc] = writer
}

// SetTargetBitrate sets the pacing rate to paceFactor × bps.
func (p *burstPacer) SetTargetBitrate(bps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refill()
	p.rate = paceFactor * float64(bps) / 8
}

// refill adds the budget earned since the last call. Callers hold mu.
func (p *burstPacer) refill() {
	now := p.now()
	p.budget = min(p.budget+now.Sub(p.last).Seconds()*p.rate, p.rate*paceBurst.Seconds())
	p.last = now
}

// Write sends the packet now if the budget allows and nothing waits ahead
// of it, and queues it otherwise.
func (p *burstPacer) Write(header *rtp.Header, payload []byte, attr interceptor.Attributes) (int, error) {
	size := header.MarshalSize() + len(payload)
	p.mu.Lock()
	w, ok := p.writers[header.SSRC]
	switch {
	case p.closed:
		p.mu.Unlock()
		return 0, errors.New("transport: pacer closed")
	case !ok:
		p.mu.Unlock()
		return 0, fmt.Errorf("transport: pacer: %w: %d", gcc.ErrUnknownStream, header.SSRC)
	}
	p.refill()
	if len(p.queue) == 0 && p.budget > 0 {
		p.budget -= float64(size)
		p.sendMu.Lock()
		p.mu.Unlock()
		defer p.sendMu.Unlock()
		return w.Write(header, payload, attr)
	}
	if len(p.queue) >= paceQueueMax {
		p.mu.Unlock()
		return 0, errPacerFull
	}
	p.queue = append(p.queue, pacedPacket{header: header.Clone(), payload: append([]byte(nil), payload...), attr: attr, writer: w})
	p.arm()
	p.mu.Unlock()
	return size, nil
}

// arm sets the timer for when the budget will have turned positive.
// Callers hold mu.
func (p *burstPacer) arm() {
	if p.armed || p.closed || len(p.queue) == 0 {
		return
	}
	wait := time.Millisecond
	if p.budget <= 0 && p.rate > 0 {
		wait = max(wait, time.Duration((-p.budget+1)/p.rate*float64(time.Second)))
	}
	p.armed = true
	p.timer.Reset(wait)
}

// drain sends what the budget allows from the head of the queue, then
// re-arms the timer if packets still wait.
func (p *burstPacer) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = false
	for len(p.queue) > 0 && !p.closed {
		p.refill()
		if p.budget <= 0 {
			break
		}
		pk := p.queue[0]
		p.queue[0] = pacedPacket{}
		p.queue = p.queue[1:]
		p.budget -= float64(pk.header.MarshalSize() + len(pk.payload))
		p.sendMu.Lock()
		p.mu.Unlock()
		_, _ = pk.writer.Write(&pk.header, pk.payload, pk.attr)
		p.sendMu.Unlock()
		p.mu.Lock()
	}
	if len(p.queue) == 0 {
		p.queue = nil // let the backing array go after a burst
	}
	p.arm()
}

// Close drops what is queued and stops the timer.
func (p *burstPacer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.queue = nil
	p.timer.Stop()
	return nil
}
