package transport

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// wire records what the pacer lets out, in order, with the time.
type wire struct {
	mu   sync.Mutex
	seqs []uint16
	at   []time.Time
}

func (w *wire) writer() interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.seqs = append(w.seqs, h.SequenceNumber)
		w.at = append(w.at, time.Now())
		return h.MarshalSize() + len(payload), nil
	})
}

func (w *wire) snapshot() ([]uint16, []time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uint16(nil), w.seqs...), append([]time.Time(nil), w.at...)
}

func (w *wire) sent() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seqs)
}

// send writes n packets of size bytes of payload and returns how many had
// left by the time their own Write returned (the rest were queued).
func send(t *testing.T, p *burstPacer, w *wire, first uint16, n, size int) int {
	t.Helper()
	payload := make([]byte, size)
	inline := 0
	for i := range n {
		before := w.sent()
		if _, err := p.Write(&rtp.Header{Version: 2, SSRC: 1, SequenceNumber: first + uint16(i)}, payload, nil); err != nil {
			t.Fatal(err)
		}
		// Once one packet is queued every later one queues behind it,
		// so a packet written by the timer is never counted here.
		if w.sent() > before && inline == i {
			inline++
		}
	}
	return inline
}

// A frame that fits the burst leaves at once from the writer's goroutine;
// one larger than the burst leaves its head at once and the rest at the
// pacing rate, in order, with no packet lost or duplicated.
func TestBurstPacerSendsFramesAtOnceAndPacesOversizedOnes(t *testing.T) {
	const bitrate = 1_000_000 // pacing 2.5 Mbit/s = 312,500 B/s; burst 6,250 B
	p := newBurstPacer(bitrate)
	defer p.Close()
	var w wire
	p.AddStream(1, w.writer())

	// An average 30 fps frame at 1 Mbit/s: 4,166 B in 4 packets.
	if n := send(t, p, &w, 0, 4, 1030); n != 4 {
		t.Fatalf("an average frame: %d of 4 packets left at once", n)
	}

	// Let the budget refill, then a key frame of 40 packets (~42 kB).
	time.Sleep(paceBurst + 5*time.Millisecond)
	start := time.Now()
	immediate := send(t, p, &w, 4, 40, 1030)
	deadline := time.Now().Add(2 * time.Second)
	for w.sent() < 44 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	seqs, at := w.snapshot()
	if len(seqs) != 44 {
		t.Fatalf("%d of 44 packets left", len(seqs))
	}
	for i, s := range seqs {
		if s != uint16(i) {
			t.Fatalf("order on the wire %v", seqs)
		}
	}
	// The burst (6,250 B) lets 6–7 packets of 1,042 B out at once.
	if immediate < 5 || immediate > 8 {
		t.Fatalf("%d packets of the key frame left at once; the burst allows about 6", immediate)
	}
	// The rest (~34 packets, ~35 kB) cannot leave faster than 312,500 B/s.
	took := at[len(at)-1].Sub(start)
	rest := float64((40 - immediate) * 1042)
	if min := time.Duration((rest - 1042) / 312_500 * float64(time.Second)); took < min {
		t.Fatalf("the key frame left in %v; pacing allows no less than %v", took, min)
	}
	if took > time.Second {
		t.Fatalf("the key frame took %v to leave", took)
	}
}

func TestBurstPacerFollowsTheTarget(t *testing.T) {
	p := newBurstPacer(100_000) // 31,250 B/s: 10 packets of 1 kB wait ~0.3 s
	defer p.Close()
	var w wire
	p.AddStream(1, w.writer())
	send(t, p, &w, 0, 30, 1000)
	p.SetTargetBitrate(10_000_000) // the estimate rose: the queue drains at once
	deadline := time.Now().Add(300 * time.Millisecond)
	for w.sent() < 30 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if n := w.sent(); n != 30 {
		t.Fatalf("%d of 30 packets out 300 ms after the target rose 100×", n)
	}
}

func TestBurstPacerRefusesUnknownStreamsAndStopsOnClose(t *testing.T) {
	p := newBurstPacer(100_000)
	var w wire
	p.AddStream(1, w.writer())
	if _, err := p.Write(&rtp.Header{SSRC: 2}, []byte{1}, nil); !errors.Is(err, gcc.ErrUnknownStream) {
		t.Fatalf("unknown SSRC: %v", err)
	}
	send(t, p, &w, 0, 20, 1000)
	out := w.sent()
	if out == 20 {
		t.Fatal("nothing was queued; the test needs a backlog")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := w.sent(); n != out {
		t.Fatalf("%d packets left after Close (%d before)", n, out)
	}
	if _, err := p.Write(&rtp.Header{SSRC: 1}, []byte{1}, nil); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// The pacer keeps the caller's payload: a buffer reused after Write returns
// must not change a queued packet.
func TestBurstPacerCopiesQueuedPayloads(t *testing.T) {
	p := newBurstPacer(100_000)
	defer p.Close()
	got := make(chan byte, 64)
	p.AddStream(1, interceptor.RTPWriterFunc(func(_ *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		got <- payload[0]
		return len(payload), nil
	}))
	buf := make([]byte, 1000)
	for i := range 20 {
		buf[0] = byte(i)
		if _, err := p.Write(&rtp.Header{SSRC: 1, SequenceNumber: uint16(i)}, buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		select {
		case b := <-got:
			if b != byte(i) {
				t.Fatalf("packet %d carried payload of packet %d", i, b)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("packet %d never left", i)
		}
	}
}
