package periphhal

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomd/roomd/hal"
)

// defaultDebounce is used when a description leaves debounce at 0.
const defaultDebounce = 30 * time.Millisecond

// haltPoll bounds each wait for an edge so the reader notices it should stop
// even when Halt cannot interrupt the wait: gpioioctl loses a Halt that lands
// between two waits, and gpiotest ignores Halt.
const haltPoll = 250 * time.Millisecond

// edgeBuffer is how many edges a slow watcher may fall behind before edges
// are dropped rather than stalling the reader.
const edgeBuffer = 16

type inputConfig struct {
	activeLow bool
	pull      gpio.Pull
	debounce  time.Duration // 0 means defaultDebounce
}

// gpioInput is a debounced button, switch or presence line.
//
// Why not gpioutil.Debounce: its Halt does not reach the real pin, so a
// reader blocked in WaitForEdge could not be stopped, and it does not say
// which level an edge settled on.
type gpioInput struct {
	pin       gpio.PinIn
	activeLow bool
	debounce  time.Duration
	poll      time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	active   bool          // debounced level; kept current while reading
	reading  bool          // the reader goroutine runs
	done     chan struct{} // closed when the latest reader has returned
	closed   bool
}

type watcher struct {
	ch   chan hal.Edge
	stop func() bool // unregisters the context.AfterFunc
}

var _ hal.Input = (*gpioInput)(nil)

// newInput configures pin as an input watched for both edges.
func newInput(pin gpio.PinIn, cfg inputConfig, log *slog.Logger) (*gpioInput, error) {
	if cfg.debounce <= 0 {
		cfg.debounce = defaultDebounce
	}
	if err := pin.In(cfg.pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("periphhal: configuring %s as an input with edge detection: %w", pin.Name(), err)
	}
	return &gpioInput{
		pin:       pin,
		activeLow: cfg.activeLow,
		debounce:  cfg.debounce,
		poll:      haltPoll,
		now:       time.Now,
		log:       log,
		watchers:  map[*watcher]struct{}{},
	}, nil
}

// Active reports the debounced level while someone watches the input, and
// reads the line directly otherwise.
func (in *gpioInput) Active() (bool, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return false, ErrClosed
	}
	if in.reading {
		return in.active, nil
	}
	return in.readActive(), nil
}

// Watch delivers debounced edges until ctx ends or the board closes; then the
// channel closes. The first watcher starts the input's reader goroutine and
// the last one to leave stops it.
func (in *gpioInput) Watch(ctx context.Context) <-chan hal.Edge {
	ch := make(chan hal.Edge, edgeBuffer)
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || ctx.Err() != nil {
		close(ch)
		return ch
	}
	w := &watcher{ch: ch}
	in.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() { in.unwatch(w) })
	if !in.reading {
		in.reading = true
		in.active = in.readActive()
		in.done = make(chan struct{})
		go in.read(in.done)
	}
	return ch
}

func (in *gpioInput) unwatch(w *watcher) {
	in.mu.Lock()
	if _, ok := in.watchers[w]; ok {
		delete(in.watchers, w)
		close(w.ch)
	}
	wake := !in.closed && len(in.watchers) == 0 && in.reading
	in.mu.Unlock()
	if wake {
		_ = in.pin.Halt() // let the reader see nobody watches
	}
}

// Close ends every watch, waits for the reader and releases the line.
func (in *gpioInput) Close() error {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil
	}
	in.closed = true
	for w := range in.watchers {
		w.stop()
		delete(in.watchers, w)
		close(w.ch)
	}
	done := in.done
	in.mu.Unlock()
	if done != nil {
		_ = in.pin.Halt()
		<-done
	}
	if p, ok := in.pin.(gpio.PinIO); ok {
		return release(p)
	}
	return nil
}

// read is the input's one goroutine: it waits for an edge, lets the bounce
// settle, then reports the settled level if it changed.
func (in *gpioInput) read(done chan struct{}) {
	defer close(done)
	for in.keepReading() {
		start := time.Now()
		if !in.pin.WaitForEdge(in.poll) {
			if time.Since(start) < in.poll/8 {
				// The driver returned at once (halted, or the line lost its
				// edge configuration); don't spin.
				if !in.keepReading() {
					return
				}
				time.Sleep(in.poll / 8)
			}
			continue
		}
		at := in.now()
		for in.pin.WaitForEdge(in.debounce) {
			if !in.keepReading() {
				return
			}
		}
		in.publish(in.readActive(), at)
	}
}

// keepReading reports whether the reader should go on. When it says no, the
// reader must return at once: a new Watch may start the next reader.
func (in *gpioInput) keepReading() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || len(in.watchers) == 0 {
		in.reading = false
		return false
	}
	return true
}

// publish reports a settled level to every watcher if it differs from the
// last one; a burst that settles where it started is a glitch, not an edge.
func (in *gpioInput) publish(active bool, at time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if active == in.active {
		return
	}
	in.active = active
	e := hal.Edge{Pressed: active, At: at}
	for w := range in.watchers {
		select {
		case w.ch <- e:
		default:
			in.log.Warn("periphhal: dropped an input edge; a watcher is not keeping up", "line", in.pin.Name(), "pressed", active)
		}
	}
}

func (in *gpioInput) readActive() bool {
	return (in.pin.Read() == gpio.High) != in.activeLow
}
