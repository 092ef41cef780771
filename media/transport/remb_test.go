package transport

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

type constSource int

func (f constSource) TargetBitrate() int { return int(f) }

// The server's REMB holds the estimate under it, and only then.
func TestServerCap(t *testing.T) {
	c := NewServerCap(constSource(2_000_000))
	defer c.Close()
	if got := c.TargetBitrate(); got != 2_000_000 {
		t.Fatalf("no cap: %d", got)
	}
	c.SetCap(128_000)
	select {
	case <-c.Changed():
	default:
		t.Fatal("a new cap did not signal a change")
	}
	if got := c.TargetBitrate(); got != 128_000 {
		t.Fatalf("capped at 128 kbit/s: %d", got)
	}
	c.SetCap(3_000_000)
	if got := c.TargetBitrate(); got != 2_000_000 {
		t.Fatalf("cap above the estimate: %d", got)
	}
	c.SetCap(0)
	if got, cp := c.TargetBitrate(), c.Cap(); got != 2_000_000 || cp != 0 {
		t.Fatalf("cap removed: %d (cap %d)", got, cp)
	}
}

// The estimator's changes reach whoever watches the capped budget.
func TestServerCapForwardsChanges(t *testing.T) {
	src := &signalling{changed: make(chan struct{}, 1)}
	c := NewServerCap(src)
	defer c.Close()
	src.changed <- struct{}{}
	select {
	case <-c.Changed():
	case <-time.After(2 * time.Second):
		t.Fatal("the source's change was not forwarded")
	}
}

type signalling struct{ changed chan struct{} }

func (s *signalling) TargetBitrate() int       { return 1_000_000 }
func (s *signalling) Changed() <-chan struct{} { return s.changed }

// A REMB read on the sender reaches OnREMB in bit/s.
func TestSenderFeedbackREMB(t *testing.T) {
	remb, err := (&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 128_000, SSRCs: []uint32{42}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sent := false
	got := make(chan int, 1)
	fb := &SenderFeedback{
		Sender: readerFunc(func(b []byte) (int, interceptor.Attributes, error) {
			if sent {
				return 0, nil, io.EOF
			}
			sent = true
			return copy(b, remb), nil, nil
		}),
		OnREMB: func(bps int) { got <- bps },
	}
	if err := fb.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case bps := <-got:
		if bps < 127_000 || bps > 129_000 { // REMB keeps 18 bits of mantissa
			t.Fatalf("REMB read as %d bit/s", bps)
		}
	default:
		t.Fatal("no REMB reported")
	}
}
