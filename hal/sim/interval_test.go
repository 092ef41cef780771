package sim_test

import (
	"testing"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
)

// A sensor's interval in the board description reaches the poller
// through hal.Polled; a sensor without one has none.
func TestSensorIntervalFromDescription(t *testing.T) {
	desc, _ := hal.Profile("sim")
	desc.Sensors[0].Interval = hal.Duration(2 * time.Second)
	b, err := sim.New(desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	env := b.Hardware().Sensors[hal.RoleEnvSensor]
	p, ok := env.(hal.Polled)
	if !ok || p.PollInterval() != 2*time.Second {
		t.Fatalf("environment sensor %T does not say its 2s interval", env)
	}
	if err := b.SetSensor(hal.RoleEnvSensor, hal.Temperature, 23); err != nil {
		t.Fatal(err)
	}
	if rs, err := env.Read(); err != nil || rs[0].Value != 23 {
		t.Errorf("read through the interval wrapper: %v %v", rs, err)
	}
	if _, ok := b.Hardware().Sensors[hal.RolePresence].(hal.Polled); ok {
		t.Error("the presence sensor has no interval, yet says one")
	}
}
