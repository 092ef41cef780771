package buttons

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/room"
)

// countingSensor counts its reads.
type countingSensor struct{ reads atomic.Int32 }

func (s *countingSensor) Quantities() []hal.Quantity { return []hal.Quantity{hal.Humidity} }
func (s *countingSensor) Read() ([]hal.Reading, error) {
	s.reads.Add(1)
	return []hal.Reading{{Quantity: hal.Humidity, Value: 40}}, nil
}

type reportLog struct {
	mu  sync.Mutex
	env int
}

func (r *reportLog) Do(context.Context, room.Command) error { return nil }
func (r *reportLog) Report(rep room.Report) {
	if _, ok := rep.(room.EnvReported); ok {
		r.mu.Lock()
		r.env++
		r.mu.Unlock()
	}
}

// A sensor with an interval of its own (the board description's
// interval key) is read at it; the others at Options.SensorInterval.
func TestSensorIntervalIsUsed(t *testing.T) {
	fast, slow := &countingSensor{}, &countingSensor{}
	b := &hal.Board{Sensors: map[string]hal.Sensor{
		"environment": hal.WithInterval(fast, 10*time.Millisecond),
		"co2":         slow,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Run(ctx, &reportLog{}, b, Options{SensorInterval: time.Hour}) }()
	eventually(t, "five reads of the 10ms sensor", func() bool { return fast.reads.Load() >= 5 })
	cancel()
	<-done
	if n := slow.reads.Load(); n != 1 {
		t.Errorf("the sensor without an interval was read %d times in a fraction of its hour, want once (at start)", n)
	}
}
