package buttons

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/room"
)

// input is a hal.Input driven by the test.
type input struct {
	mu     sync.Mutex
	active bool
	subs   []chan hal.Edge
}

func (in *input) Active() (bool, error) { in.mu.Lock(); defer in.mu.Unlock(); return in.active, nil }
func (in *input) Watch(ctx context.Context) <-chan hal.Edge {
	c := make(chan hal.Edge, 8)
	in.mu.Lock()
	in.subs = append(in.subs, c)
	in.mu.Unlock()
	go func() { <-ctx.Done(); in.mu.Lock(); close(c); in.subs = nil; in.mu.Unlock() }()
	return c
}
func (in *input) set(on bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.active = on
	for _, c := range in.subs {
		c <- hal.Edge{Pressed: on, At: time.Now()}
	}
}
func (in *input) watched() bool { in.mu.Lock(); defer in.mu.Unlock(); return len(in.subs) > 0 }

type sensor struct {
	mu  sync.Mutex
	rs  []hal.Reading
	err error
}

func (s *sensor) Quantities() []hal.Quantity { return []hal.Quantity{hal.Temperature, hal.Occupancy} }
func (s *sensor) Read() ([]hal.Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rs, s.err
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestButtonsDriveTheRoom(t *testing.T) {
	mute, up, sw := &input{}, &input{}, &input{active: true}
	env := &sensor{rs: []hal.Reading{{Quantity: hal.Temperature, Value: 21.5}, {Quantity: hal.Occupancy, Value: 1}}}
	board := &hal.Board{
		Buttons:  map[string]hal.Button{hal.RoleMuteButton: mute, hal.RoleVolumeUp: up, "unknown": &input{}},
		Switches: map[string]hal.Switch{hal.RoleMicSwitch: sw},
		Sensors:  map[string]hal.Sensor{hal.RoleEnvSensor: env},
	}
	r := room.New(room.Options{Hardware: []room.Device{{Name: hal.RoleEnvSensor, State: "loaded"}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	<-r.Ready()
	done := make(chan error)
	go func() {
		done <- Run(ctx, r, board, Options{RepeatDelay: 30 * time.Millisecond, RepeatInterval: 10 * time.Millisecond, SensorInterval: 10 * time.Millisecond})
	}()
	eventually(t, "inputs watched", func() bool { return mute.watched() && up.watched() && sw.watched() })

	// The mute switch was on at start: the room is muted and a button cannot unmute.
	eventually(t, "muted by the switch at start", func() bool { s := r.Snapshot(); return s.MicMute && s.MicSwitch })
	mute.set(true)
	mute.set(false)
	time.Sleep(20 * time.Millisecond)
	if !r.Snapshot().MicMute {
		t.Fatal("the mute button unmuted against the hardware switch")
	}
	sw.set(false)
	eventually(t, "unmuted when the switch is released", func() bool { return !r.Snapshot().MicMute })
	mute.set(true)
	mute.set(false)
	eventually(t, "muted by the button", func() bool { return r.Snapshot().MicMute })

	// Holding volume up repeats; releasing stops.
	v0 := r.Snapshot().Volume
	up.set(true)
	eventually(t, "volume to repeat while held", func() bool { return r.Snapshot().Volume >= v0+3*5 })
	up.set(false)
	time.Sleep(30 * time.Millisecond)
	v1 := r.Snapshot().Volume
	time.Sleep(60 * time.Millisecond)
	if v2 := r.Snapshot().Volume; v2 != v1 {
		t.Fatalf("volume kept moving after release: %d → %d", v1, v2)
	}

	eventually(t, "sensor readings", func() bool {
		e := r.Snapshot().Env
		return e.HaveTemperature && e.Temperature == 21.5 && e.Occupied
	})
	env.mu.Lock()
	env.err = errors.New("i2c: nack")
	env.mu.Unlock()
	eventually(t, "sensor failure in hardware status", func() bool { return r.Snapshot().Hardware[0].State == "failed" })
	env.mu.Lock()
	env.err = nil
	env.mu.Unlock()
	eventually(t, "sensor healthy again", func() bool { return r.Snapshot().Hardware[0].State == "loaded" })

	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
