package periphhal

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/roomd/roomd/hal"
)

const testDebounce = 20 * time.Millisecond

// newButton is an active-low button with a pull-up, as on the reference
// wiring: released reads high, pressed pulls the line low.
func newButton(t *testing.T) (*gpioInput, *gpiotest.Pin) {
	t.Helper()
	pin := &gpiotest.Pin{N: "GPIO5", Num: 5, EdgesChan: make(chan gpio.Level, 32)}
	in, err := newInput(pin, inputConfig{activeLow: true, pull: gpio.PullUp, debounce: testDebounce}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	in.poll = 10 * time.Millisecond // notice a stop quickly; gpiotest ignores Halt
	t.Cleanup(func() { _ = in.Close() })
	return in, pin
}

// nextEdge waits for one edge.
func nextEdge(t *testing.T, ch <-chan hal.Edge) hal.Edge {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed while waiting for an edge")
		}
		return e
	case <-time.After(2 * time.Second):
		t.Fatal("no edge within 2s")
	}
	panic("unreachable")
}

// noEdge fails if an edge arrives within several debounce periods.
func noEdge(t *testing.T, ch <-chan hal.Edge) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("unexpected extra edge %+v", e)
		}
	case <-time.After(5 * testDebounce):
	}
}

// waitClosed fails unless ch closes within 2s; buffered edges are drained.
func waitClosed(t *testing.T, ch <-chan hal.Edge) {
	t.Helper()
	timeout := time.After(2 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed within 2s")
		}
	}
}

func bounce(pin *gpiotest.Pin, levels ...gpio.Level) {
	for _, l := range levels {
		pin.EdgesChan <- l
	}
}

func TestInputBounceYieldsOneEdge(t *testing.T) {
	in, pin := newButton(t)
	ch := in.Watch(t.Context())
	before := time.Now()
	bounce(pin, gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low)
	e := nextEdge(t, ch)
	if !e.Pressed {
		t.Fatalf("edge %+v, want pressed: the line settled low on an active-low button", e)
	}
	if e.At.Before(before) || e.At.After(time.Now()) {
		t.Fatalf("edge time %v is outside the test's window", e.At)
	}
	noEdge(t, ch)
	if a, err := in.Active(); err != nil || !a {
		t.Fatalf("Active = %t, %v; want pressed", a, err)
	}
}

func TestInputCleanPressAndReleaseYieldTwoEdges(t *testing.T) {
	in, pin := newButton(t)
	ch := in.Watch(t.Context())
	bounce(pin, gpio.Low)
	if e := nextEdge(t, ch); !e.Pressed {
		t.Fatalf("first edge %+v, want pressed", e)
	}
	bounce(pin, gpio.High)
	if e := nextEdge(t, ch); e.Pressed {
		t.Fatalf("second edge %+v, want released", e)
	}
	noEdge(t, ch)
}

func TestInputGlitchYieldsNoEdge(t *testing.T) {
	in, pin := newButton(t)
	ch := in.Watch(t.Context())
	bounce(pin, gpio.Low, gpio.High, gpio.Low, gpio.High) // settles where it started
	noEdge(t, ch)
	if a, err := in.Active(); err != nil || a {
		t.Fatalf("Active = %t, %v; want released", a, err)
	}
}

func TestInputActiveHigh(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO16", EdgesChan: make(chan gpio.Level, 8)}
	in, err := newInput(pin, inputConfig{pull: gpio.PullDown, debounce: testDebounce}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if a, err := in.Active(); err != nil || a {
		t.Fatalf("pulled-down line: Active = %t, %v; want inactive", a, err)
	}
	ch := in.Watch(t.Context())
	bounce(pin, gpio.High)
	if e := nextEdge(t, ch); !e.Pressed {
		t.Fatalf("edge %+v, want active on a high line", e)
	}
}

func TestInputActiveReadsTheLineWhenNobodyWatches(t *testing.T) {
	in, pin := newButton(t)
	_ = pin.Out(gpio.Low)
	if a, err := in.Active(); err != nil || !a {
		t.Fatalf("Active = %t, %v; want pressed with the line low", a, err)
	}
}

func TestWatchClosesOnCancelWithoutLeak(t *testing.T) {
	in, pin := newButton(t)
	check := checkGoroutines(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch := in.Watch(ctx)
	bounce(pin, gpio.Low)
	nextEdge(t, ch)
	cancel()
	waitClosed(t, ch)
	check()
}

func TestWatchRestartsAfterAllWatchersLeft(t *testing.T) {
	in, pin := newButton(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch := in.Watch(ctx)
	cancel()
	waitClosed(t, ch)
	ch = in.Watch(t.Context())
	bounce(pin, gpio.Low)
	if e := nextEdge(t, ch); !e.Pressed {
		t.Fatalf("edge %+v, want pressed", e)
	}
}

func TestWatchersShareOneGoroutine(t *testing.T) {
	in, pin := newButton(t)
	check := checkGoroutines(t)
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(t.Context())
	a, b := in.Watch(ctx), in.Watch(ctx)
	if n := runtime.NumGoroutine(); n != base+1 {
		t.Fatalf("%d goroutines for two watchers of one input, want %d", n-base, 1)
	}
	bounce(pin, gpio.Low)
	if !nextEdge(t, a).Pressed || !nextEdge(t, b).Pressed {
		t.Fatal("both watchers should see the press")
	}
	cancel()
	check()
}

func TestWatchAfterCancelOrCloseIsClosed(t *testing.T) {
	in, _ := newButton(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	waitClosed(t, in.Watch(ctx))
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, in.Watch(t.Context()))
}

func TestInputCloseEndsWatchesAndReader(t *testing.T) {
	check := checkGoroutines(t)
	in, pin := newButton(t)
	ch := in.Watch(t.Context())
	bounce(pin, gpio.Low)
	nextEdge(t, ch)
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch)
	if err := in.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := in.Active(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Active after Close = %v, want ErrClosed", err)
	}
	check()
}

func TestInputNeedsEdgeDetection(t *testing.T) {
	// gpiotest refuses edges without EdgesChan, as a line without interrupt
	// support would; the error must say what was being done.
	_, err := newInput(&gpiotest.Pin{N: "GPIO6"}, inputConfig{}, discardLogger())
	if err == nil {
		t.Fatal("newInput succeeded on a line without edge detection")
	}
	if want := "periphhal: configuring GPIO6 as an input with edge detection: "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("error %q, want it to start with %q", err, want)
	}
}

func TestPresenceSensorReadsOccupancy(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO16", EdgesChan: make(chan gpio.Level, 8)}
	in, err := newInput(pin, inputConfig{pull: gpio.PullDown}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	p := &presenceSensor{in}
	defer p.Close()
	if q := p.Quantities(); len(q) != 1 || q[0] != hal.Occupancy {
		t.Fatalf("Quantities = %v, want [occupancy]", q)
	}
	for _, tc := range []struct {
		level gpio.Level
		want  float64
	}{{gpio.Low, 0}, {gpio.High, 1}, {gpio.Low, 0}} {
		_ = pin.Out(tc.level)
		r, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != 1 || r[0].Quantity != hal.Occupancy || r[0].Value != tc.want || r[0].At.IsZero() {
			t.Fatalf("line %s: Read = %+v, want occupancy %v", tc.level, r, tc.want)
		}
	}
}
