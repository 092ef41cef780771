package transport

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

func TestKeyFrameLimit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const interval = 500 * time.Millisecond
	type step struct {
		at       time.Duration
		deferred bool // a deferred key frame fires instead of a request
		fire     bool
		wait     time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"first request fires", []step{{at: 0, fire: true}}},
		{"requests an interval apart both fire", []step{{at: 0, fire: true}, {at: interval, fire: true}}},
		{"a request inside the interval is deferred to its end", []step{
			{at: 0, fire: true}, {at: 100 * time.Millisecond, wait: 400 * time.Millisecond},
		}},
		{"further requests join the deferred one", []step{
			{at: 0, fire: true}, {at: 100 * time.Millisecond, wait: 400 * time.Millisecond},
			{at: 200 * time.Millisecond}, {at: 499 * time.Millisecond},
		}},
		{"the deferred key frame starts a new interval", []step{
			{at: 0, fire: true}, {at: 100 * time.Millisecond, wait: 400 * time.Millisecond},
			{at: 500 * time.Millisecond, deferred: true},
			{at: 600 * time.Millisecond, wait: 400 * time.Millisecond},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := keyFrameLimit{min: interval}
			for i, st := range tc.steps {
				if st.deferred {
					l.deferred(t0.Add(st.at))
					continue
				}
				fire, wait := l.request(t0.Add(st.at))
				if fire != st.fire || wait != st.wait {
					t.Errorf("step %d at %v: fire %v wait %v, want %v %v", i, st.at, fire, wait, st.fire, st.wait)
				}
			}
		})
	}
}

// fakeSender is an RTCPReader fed through a channel; closing it ends the
// stream with io.EOF. It has SetReadDeadline like *webrtc.RTPSender.
type fakeSender struct {
	in       chan []byte
	deadline chan struct{}
}

func newFakeSender() *fakeSender {
	return &fakeSender{in: make(chan []byte), deadline: make(chan struct{})}
}

func (f *fakeSender) Read(b []byte) (int, interceptor.Attributes, error) {
	select {
	case p, ok := <-f.in:
		if !ok {
			return 0, nil, io.EOF
		}
		return copy(b, p), nil, nil
	case <-f.deadline:
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (f *fakeSender) SetReadDeadline(time.Time) error {
	close(f.deadline)
	return nil
}

func (f *fakeSender) send(t *testing.T, pkts ...rtcp.Packet) {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	f.in <- b
}

func TestSenderFeedbackForcesKeyFrames(t *testing.T) {
	snd := newFakeSender()
	var forced atomic.Int64
	fb := &SenderFeedback{
		Sender:      snd,
		KeyFrame:    KeyFrameFunc(func() { forced.Add(1) }),
		MinInterval: 100 * time.Millisecond,
	}
	done := make(chan error)
	go func() { done <- fb.Run(context.Background()) }()

	snd.send(t, &rtcp.PictureLossIndication{MediaSSRC: 1})
	waitUntil(t, "PLI forces a key frame", func() bool { return forced.Load() == 1 })

	// Other RTCP and garbage are read and ignored.
	snd.send(t, &rtcp.ReceiverReport{SSRC: 2})
	snd.in <- []byte{0x80, 0xc9, 0xff}
	// A FIR and a PLI at once, right after the first key frame: one
	// deferred key frame at the end of the interval.
	snd.send(t, &rtcp.FullIntraRequest{MediaSSRC: 1, FIR: []rtcp.FIREntry{{SSRC: 1}}},
		&rtcp.PictureLossIndication{MediaSSRC: 1})
	waitUntil(t, "deferred key frame", func() bool { return forced.Load() == 2 })
	time.Sleep(150 * time.Millisecond)
	if n := forced.Load(); n != 2 || fb.Requests() != 3 || fb.KeyFrames() != 2 {
		t.Errorf("forced %d key frames for %d requests (KeyFrames %d), want 2 for 3", n, fb.Requests(), fb.KeyFrames())
	}

	close(snd.in)
	if err := <-done; err != nil {
		t.Errorf("Run after the sender closed: %v", err)
	}
}

func TestSenderFeedbackStopsOnCancel(t *testing.T) {
	snd := newFakeSender()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&SenderFeedback{Sender: snd}).Run(ctx) }()
	snd.send(t, &rtcp.PictureLossIndication{MediaSSRC: 1}) // no KeyFrame: ignored
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestSenderFeedbackReportsReadErrors(t *testing.T) {
	boom := errors.New("boom")
	fb := &SenderFeedback{Sender: readerFunc(func([]byte) (int, interceptor.Attributes, error) { return 0, nil, boom })}
	if err := fb.Run(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Run = %v, want it to wrap %v", err, boom)
	}
	if err := (&SenderFeedback{}).Run(context.Background()); err == nil {
		t.Error("Run without a Sender succeeded")
	}
}

type readerFunc func([]byte) (int, interceptor.Attributes, error)

func (f readerFunc) Read(b []byte) (int, interceptor.Attributes, error) { return f(b) }
