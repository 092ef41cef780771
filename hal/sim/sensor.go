package sim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/roomd/roomd/hal"
)

// quantities is what each sensor model measures, with the value it starts at.
var quantities = map[string][]struct {
	q       hal.Quantity
	initial float64
}{
	"bme280": {{hal.Temperature, 21}, {hal.Humidity, 45}},
	"bmp280": {{hal.Temperature, 21}},
	"pir":    {{hal.Occupancy, 0}},
}

// sensor is a simulated environment or presence sensor.
type sensor struct {
	role   string
	model  string
	faults *faults
	now    func() time.Time

	qs     []hal.Quantity
	mu     sync.Mutex
	values map[hal.Quantity]float64
}

var _ hal.Sensor = (*sensor)(nil)

func newSensor(d hal.SensorDesc, f *faults, now func() time.Time) *sensor {
	s := &sensor{role: d.Role, model: d.Model, faults: f, now: now, values: map[hal.Quantity]float64{}}
	for _, q := range quantities[d.Model] {
		s.qs = append(s.qs, q.q)
		s.values[q.q] = q.initial
	}
	return s
}

// Quantities lists what the sensor measures.
func (s *sensor) Quantities() []hal.Quantity { return slices.Clone(s.qs) }

// Read returns the current values, or the injected fault.
func (s *sensor) Read() ([]hal.Reading, error) {
	if err := s.faults.check(s.role); err != nil {
		return nil, err
	}
	at := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := make([]hal.Reading, 0, len(s.qs))
	for _, q := range s.qs {
		r = append(r, hal.Reading{Quantity: q, Value: s.values[q], At: at})
	}
	return r, nil
}

func (s *sensor) set(q hal.Quantity, v float64) error {
	if !slices.Contains(s.qs, q) {
		return fmt.Errorf("sim: sensor %q (%s) does not measure %q; it measures %v", s.role, s.model, q, s.qs)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("sim: sensor %q: %s must be a finite number", s.role, q)
	}
	switch q {
	case hal.Temperature:
		// The range a BME280 can measure.
		if v < -40 || v > 85 {
			return fmt.Errorf("sim: sensor %q: temperature %g °C is outside -40..85", s.role, v)
		}
	case hal.Humidity:
		if v < 0 || v > 100 {
			return fmt.Errorf("sim: sensor %q: humidity %g %% is outside 0..100", s.role, v)
		}
	case hal.Occupancy:
		if v != 0 && v != 1 {
			return fmt.Errorf("sim: sensor %q: occupancy is 0 (empty) or 1 (someone there), not %g", s.role, v)
		}
	}
	s.mu.Lock()
	s.values[q] = v
	s.mu.Unlock()
	return nil
}

func (s *sensor) snapshot() map[hal.Quantity]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.values)
}
