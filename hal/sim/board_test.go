package sim_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
	"github.com/roomd/roomd/room"
)

// The board's devices and wrapped toggles plug straight into the room.
var (
	_ room.Toggle = (*sim.Toggle)(nil)
	_ hal.Output  = (*sim.Toggle)(nil)
)

// newBoard makes the "sim" profile board and closes it when the test ends.
func newBoard(t *testing.T) *sim.Board {
	t.Helper()
	desc, err := hal.Profile("sim")
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.New(desc, &sim.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// nextEdge waits for one edge.
func nextEdge(t *testing.T, ch <-chan hal.Edge) hal.Edge {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no edge within 5s")
	}
	panic("unreachable")
}

func wantClick(t *testing.T, ch <-chan hal.Edge) {
	t.Helper()
	if e := nextEdge(t, ch); !e.Pressed || e.At.IsZero() {
		t.Fatalf("first edge = %+v, want a timestamped press", e)
	}
	if e := nextEdge(t, ch); e.Pressed {
		t.Fatalf("second edge = %+v, want a release", e)
	}
}

func TestHardwareLoadsEveryRole(t *testing.T) {
	desc, _ := hal.Profile("sim")
	desc.Buttons[3].Disabled = true // leave
	b, err := sim.New(desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	hw := b.Hardware()
	loaded, skipped, failed := hw.Report.Counts()
	if loaded != 12 || skipped != 1 || failed != 0 {
		t.Errorf("report counts = %d loaded, %d skipped, %d failed; want 12 (the backlight and camera too), 1, 0\n%+v", loaded, skipped, failed, hw.Report)
	}
	if len(hw.LEDs) != 2 || len(hw.Relays) != 1 || len(hw.Buttons) != 3 || len(hw.Switches) != 1 || len(hw.Sensors) != 2 || len(hw.Serial) != 1 {
		t.Errorf("hardware = %+v", hw)
	}
	if _, ok := hw.Buttons[hal.RoleLeaveButton]; ok {
		t.Error("disabled button is in Hardware().Buttons")
	}
	err = b.Click(hal.RoleLeaveButton)
	if !errors.Is(err, sim.ErrUnknownRole) || !strings.Contains(err.Error(), "did not load") {
		t.Errorf("Click(disabled) = %v, want ErrUnknownRole saying it did not load", err)
	}
}

func TestNewRejectsBadDescription(t *testing.T) {
	_, err := sim.New(hal.Description{Name: "x", LEDs: []hal.OutputDesc{{Role: "a"}}}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "sim: ") {
		t.Fatalf("New(LED without line) = %v, want a sim: error", err)
	}
}

func TestClickDeliversPressThenRelease(t *testing.T) {
	b := newBoard(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mute := b.Hardware().Buttons[hal.RoleMuteButton]
	w1, w2 := mute.Watch(ctx), mute.Watch(ctx)

	if err := b.Click(hal.RoleMuteButton); err != nil {
		t.Fatal(err)
	}
	wantClick(t, w1)
	wantClick(t, w2)

	// A second click while nobody reads is queued, not lost.
	b.Click(hal.RoleMuteButton)
	wantClick(t, w1)
	wantClick(t, w2)

	cancel()
	for _, w := range []<-chan hal.Edge{w1, w2} {
		select {
		case _, ok := <-w:
			if ok {
				t.Error("edge after cancel")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("watch channel not closed after ctx ended")
		}
	}
}

func TestPressHoldsUntilRelease(t *testing.T) {
	b := newBoard(t)
	mute := b.Hardware().Buttons[hal.RoleMuteButton]
	w := mute.Watch(t.Context())
	b.Press(hal.RoleMuteButton)
	b.Press(hal.RoleMuteButton) // already down: no edge
	if on, err := mute.Active(); !on || err != nil {
		t.Fatalf("Active while pressed = %v, %v", on, err)
	}
	if e := nextEdge(t, w); !e.Pressed {
		t.Fatal("want press")
	}
	b.Release(hal.RoleMuteButton)
	if e := nextEdge(t, w); e.Pressed {
		t.Fatal("want release")
	}
	if err := b.Hold(t.Context(), hal.RoleMuteButton, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	a, r := nextEdge(t, w), nextEdge(t, w)
	if held := r.At.Sub(a.At); !a.Pressed || r.Pressed || held < 20*time.Millisecond {
		t.Errorf("Hold gave %+v then %+v (held %v)", a, r, held)
	}
	if err := b.Press(hal.RoleMuteLED); !errors.Is(err, sim.ErrUnknownRole) || !strings.Contains(err.Error(), "is a led") {
		t.Errorf("Press(led) = %v", err)
	}
}

func TestSwitch(t *testing.T) {
	b := newBoard(t)
	sw := b.Hardware().Switches[hal.RoleMicSwitch]
	w := sw.Watch(t.Context())
	if err := b.SetSwitch(hal.RoleMicSwitch, true); err != nil {
		t.Fatal(err)
	}
	if e := nextEdge(t, w); !e.Pressed {
		t.Fatal("want the switch to turn on")
	}
	if on, _ := sw.Active(); !on {
		t.Error("switch not active")
	}
	if err := b.SetSwitch(hal.RoleMuteButton, true); !errors.Is(err, sim.ErrUnknownRole) {
		t.Errorf("SetSwitch(button) = %v", err)
	}
}

func TestOutputRoundTrip(t *testing.T) {
	b := newBoard(t)
	hw := b.Hardware()
	for _, o := range []struct {
		role string
		out  hal.Output
	}{{hal.RoleMuteLED, hw.LEDs[hal.RoleMuteLED]}, {hal.RoleDisplayPower, hw.Relays[hal.RoleDisplayPower]}} {
		for _, on := range []bool{true, false, true} {
			if err := o.out.Set(on); err != nil {
				t.Fatal(err)
			}
			if got, err := o.out.Get(); got != on || err != nil {
				t.Errorf("%s Get = %v, %v; want %v", o.role, got, err, on)
			}
			if got, err := b.Output(o.role); got != on || err != nil {
				t.Errorf("Output(%s) = %v, %v; want %v", o.role, got, err, on)
			}
		}
	}
	if _, err := b.Output("nope"); !errors.Is(err, sim.ErrUnknownRole) {
		t.Errorf("Output(nope) = %v", err)
	}
}

func TestFailAndHeal(t *testing.T) {
	b := newBoard(t)
	hw := b.Hardware()
	led := hw.LEDs[hal.RoleCallLED]
	stuck := errors.New("gpio: line busy")

	b.Fail(hal.RoleCallLED, stuck)
	err := led.Set(true)
	if !errors.Is(err, stuck) || !errors.Is(err, sim.ErrInjected) || !strings.HasPrefix(err.Error(), "sim: call_led: ") {
		t.Fatalf("Set while failing = %v", err)
	}
	if _, err := led.Get(); !errors.Is(err, stuck) {
		t.Errorf("Get while failing = %v", err)
	}
	if on, _ := b.Output(hal.RoleCallLED); on {
		t.Error("a failed Set changed the level")
	}
	b.Heal(hal.RoleCallLED)
	if err := led.Set(true); err != nil {
		t.Fatalf("Set after Heal = %v", err)
	}

	b.Fail(hal.RoleEnvSensor, nil)
	if _, err := hw.Sensors[hal.RoleEnvSensor].Read(); !errors.Is(err, sim.ErrInjected) {
		t.Errorf("Read while failing = %v", err)
	}
	b.Fail(hal.RoleMuteButton, nil)
	if _, err := hw.Buttons[hal.RoleMuteButton].Active(); !errors.Is(err, sim.ErrInjected) {
		t.Errorf("Active while failing = %v", err)
	}
	b.Heal(hal.RoleEnvSensor)
	if _, err := hw.Sensors[hal.RoleEnvSensor].Read(); err != nil {
		t.Errorf("Read after Heal = %v", err)
	}
}

// gate stands in for media.Gate.
type gate struct{ closed bool }

func (g *gate) Set(c bool) error   { g.closed = c; return nil }
func (g *gate) Get() (bool, error) { return g.closed, nil }

func TestWrap(t *testing.T) {
	b := newBoard(t)
	g := &gate{}
	mic := b.Wrap("microphone", g)
	if mic.Name() != "microphone" {
		t.Errorf("Name = %q", mic.Name())
	}
	if err := mic.Set(true); err != nil || !g.closed {
		t.Fatalf("Set passed through: err %v, gate closed %v", err, g.closed)
	}
	b.Fail("microphone", nil)
	if err := mic.Set(false); !errors.Is(err, sim.ErrInjected) || !g.closed {
		t.Fatalf("Set while failing = %v (gate closed %v)", err, g.closed)
	}
	st := b.State()
	if on, ok := st.Toggles["microphone"]; !on || !ok {
		t.Errorf("state toggles = %v", st.Toggles)
	}
	if _, ok := st.Faults["microphone"]; !ok {
		t.Errorf("state faults = %v", st.Faults)
	}
	b.Heal("microphone")
	if err := mic.Set(false); err != nil || g.closed {
		t.Fatalf("Set after Heal = %v", err)
	}

	cam := b.Wrap("camera", nil) // holds its own state
	cam.Set(true)
	if on, err := b.Output("camera"); !on || err != nil {
		t.Errorf("Output(camera) = %v, %v", on, err)
	}
	var zero sim.Toggle // usable as is
	zero.Set(true)
	if on, err := zero.Get(); !on || err != nil {
		t.Errorf("zero Toggle Get = %v, %v", on, err)
	}
}

func TestSensors(t *testing.T) {
	b := newBoard(t)
	env := b.Hardware().Sensors[hal.RoleEnvSensor]
	if err := b.SetSensor(hal.RoleEnvSensor, hal.Temperature, 23.25); err != nil {
		t.Fatal(err)
	}
	if err := b.SetSensor(hal.RoleEnvSensor, hal.Humidity, 61); err != nil {
		t.Fatal(err)
	}
	rs, err := env.Read()
	if err != nil {
		t.Fatal(err)
	}
	got := map[hal.Quantity]float64{}
	for _, r := range rs {
		got[r.Quantity] = r.Value
	}
	if got[hal.Temperature] != 23.25 || got[hal.Humidity] != 61 || len(got) != 2 {
		t.Errorf("Read = %+v", rs)
	}

	pir := b.Hardware().Sensors[hal.RolePresence]
	if q := pir.Quantities(); len(q) != 1 || q[0] != hal.Occupancy {
		t.Fatalf("presence measures %v", q)
	}
	b.SetSensor(hal.RolePresence, hal.Occupancy, 1)
	if rs, _ := pir.Read(); rs[0].Value != 1 {
		t.Errorf("presence Read = %+v", rs)
	}

	for _, bad := range []struct {
		role string
		q    hal.Quantity
		v    float64
	}{
		{hal.RolePresence, hal.Occupancy, 0.5},
		{hal.RolePresence, hal.Temperature, 20},
		{hal.RoleEnvSensor, hal.Humidity, 101},
		{hal.RoleEnvSensor, hal.Temperature, 1000},
	} {
		if err := b.SetSensor(bad.role, bad.q, bad.v); err == nil || !strings.HasPrefix(err.Error(), "sim: ") {
			t.Errorf("SetSensor(%s, %s, %g) = %v, want a sim: error", bad.role, bad.q, bad.v, err)
		}
	}
	if err := b.SetSensor("nope", hal.Temperature, 20); !errors.Is(err, sim.ErrUnknownRole) {
		t.Errorf("SetSensor(nope) = %v", err)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	desc, _ := hal.Profile("sim")
	b, err := sim.New(desc, &sim.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// Watchers whose ctx never ends, and one nobody reads.
	w := b.Hardware().Buttons[hal.RoleMuteButton].Watch(context.Background())
	b.Hardware().Switches[hal.RoleMicSwitch].Watch(context.Background())
	b.SetSwitch(hal.RoleMicSwitch, true)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, ok := <-w; ok {
		t.Error("watch channel still open after Close")
	}
	if err := b.Click(hal.RoleMuteButton); !errors.Is(err, sim.ErrClosed) {
		t.Errorf("Click after Close = %v", err)
	}
	if _, ok := <-b.Hardware().Buttons[hal.RoleMuteButton].Watch(context.Background()); ok {
		t.Error("Watch after Close delivered")
	}
	checkNoLeaks(t, before)
}

// checkNoLeaks waits for the goroutine count to fall back to before and
// names any goroutine of this package still running.
func checkNoLeaks(t *testing.T, before int) {
	t.Helper()
	// A goroutine past its last wg.Done may still be on its way out, while
	// others the test did not start have ended: wait for both counts.
	ours := func() (left []string) {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "roomd/hal/sim.") {
				left = append(left, g)
			}
		}
		return left
	}
	deadline := time.Now().Add(5 * time.Second)
	for (runtime.NumGoroutine() > before || len(ours()) > 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, g := range ours() {
		t.Errorf("goroutine left running after Close:\n%s", g)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}
