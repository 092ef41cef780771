package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roomd/roomd/hal"
)

// Options configure a simulated board; a nil *Options means defaults.
type Options struct {
	// Logger receives the board's events; nil discards them.
	Logger *slog.Logger
	// RunDir is where each serial role's person side is symlinked, as
	// RunDir/<role> (roomd uses /run/roomd/sim). "" makes no symlinks.
	RunDir string
	// Now stamps edges and readings; nil means time.Now.
	Now func() time.Time
}

// Board is a simulated board: the hal.Board that code under test uses, plus
// the controls a test or a person uses to play the room.
type Board struct {
	log    *slog.Logger
	now    func() time.Time
	hw     *hal.Board
	faults *faults
	life   *life

	// Fixed after New.
	leds, relays      map[string]*Toggle
	buttons, switches map[string]*input
	sensors           map[string]*sensor
	backlight         *backlight // nil when described as "none"
	camera            *camera    // nil when camera_control is "none"
	cables            map[string]*cable
	kinds             map[string]string // loaded role -> kind
	skipped           map[string]string // skipped or failed role -> kind

	mu      sync.Mutex // guards toggles
	toggles map[string]*Toggle

	closeOnce sync.Once
	closeErr  error
}

// New loads every device the description names. Disabled devices are
// Skipped; a serial line whose pseudo-terminals cannot be made is Failed and
// the rest of the board still works. Only an invalid description is an
// error, as it would be on real hardware.
func New(desc hal.Description, opts *Options) (*Board, error) {
	if err := desc.Validate(); err != nil {
		return nil, fmt.Errorf("sim: bad board description: %w", err)
	}
	if opts == nil {
		opts = &Options{}
	}
	b := &Board{
		log:      opts.Logger,
		now:      opts.Now,
		faults:   &faults{},
		life:     newLife(),
		leds:     map[string]*Toggle{},
		relays:   map[string]*Toggle{},
		buttons:  map[string]*input{},
		switches: map[string]*input{},
		sensors:  map[string]*sensor{},
		cables:   map[string]*cable{},
		kinds:    map[string]string{},
		skipped:  map[string]string{},
		toggles:  map[string]*Toggle{},
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	hw := &hal.Board{
		Name:     desc.Name,
		LEDs:     map[string]hal.LED{},
		Relays:   map[string]hal.Relay{},
		Buttons:  map[string]hal.Button{},
		Switches: map[string]hal.Switch{},
		Sensors:  map[string]hal.Sensor{},
		Serial:   map[string]hal.SerialLine{},
		Close:    b.Close,
	}
	b.hw = hw
	report := func(role, kind string, err error, disabled bool) bool {
		st := hal.DeviceStatus{Name: role, Kind: kind, State: hal.Loaded}
		switch {
		case disabled:
			st.State, st.Reason = hal.Skipped, "disabled in the board description"
		case err != nil:
			st.State, st.Reason = hal.Failed, err.Error()
			b.log.Warn("sim: device failed to load", "role", role, "kind", kind, "err", err)
		}
		hw.Report = append(hw.Report, st)
		if st.State != hal.Loaded {
			b.skipped[role] = kind
			return false
		}
		b.kinds[role] = kind
		return true
	}

	for _, d := range desc.LEDs {
		if report(d.Role, "led", nil, d.Disabled) {
			t := &Toggle{role: d.Role, faults: b.faults}
			b.leds[d.Role], hw.LEDs[d.Role] = t, t
		}
	}
	for _, d := range desc.Relays {
		if report(d.Role, "relay", nil, d.Disabled) {
			t := &Toggle{role: d.Role, faults: b.faults}
			b.relays[d.Role], hw.Relays[d.Role] = t, t
		}
	}
	for _, d := range desc.Buttons {
		if report(d.Role, "button", nil, d.Disabled) {
			in := b.newInput(d.Role)
			b.buttons[d.Role], hw.Buttons[d.Role] = in, in
		}
	}
	for _, d := range desc.Switches {
		if report(d.Role, "switch", nil, d.Disabled) {
			in := b.newInput(d.Role)
			b.switches[d.Role], hw.Switches[d.Role] = in, in
		}
	}
	for _, d := range desc.Sensors {
		if report(d.Role, "sensor", nil, d.Disabled) {
			s := newSensor(d, b.faults, b.now)
			b.sensors[d.Role], hw.Sensors[d.Role] = s, hal.WithInterval(s, time.Duration(d.Interval))
		}
	}
	for _, d := range desc.Serial {
		var c *cable
		var err error
		if !d.Disabled {
			c, err = openCable(d, opts.RunDir, b.log, b.faults)
		}
		if report(d.Role, "serial", err, d.Disabled) {
			b.cables[d.Role], hw.Serial[d.Role] = c, c.device
			b.log.Info("sim: serial line ready", "role", d.Role, "person_side", c.personPath, "link", c.link)
		}
	}
	// Every simulated display has a backlight, unless described as "none".
	if report(hal.RoleBacklight, "backlight", nil, desc.Backlight == "none") {
		b.backlight = &backlight{faults: b.faults, percent: 100}
		hw.Backlight = b.backlight
	}
	// And a camera that moves to presets, unless described as "none".
	if report(hal.RoleCamera, "camera", nil, desc.CameraControl == "none") {
		b.camera = &camera{faults: b.faults, presets: map[int]int{}}
		hw.Camera = b.camera
	}
	loaded, skipped, failed := hw.Report.Counts()
	b.log.Info("sim: board loaded", "board", desc.Name, "loaded", loaded, "skipped", skipped, "failed", failed)
	return b, nil
}

func (b *Board) newInput(role string) *input {
	return &input{role: role, faults: b.faults, now: b.now, log: b.log, life: b.life, watchers: map[*watcher]struct{}{}}
}

// Hardware is the loaded board to hand to the code under test.
func (b *Board) Hardware() *hal.Board { return b.hw }

// Close stops every watcher, tears down the serial lines (closing their
// device sides) and removes the symlinks. It is idempotent, and is also
// hal.Board.Close.
func (b *Board) Close() error {
	b.closeOnce.Do(func() {
		b.life.close()
		var errs []error
		for _, c := range b.cables {
			errs = append(errs, c.close())
		}
		b.closeErr = errors.Join(errs...)
		b.log.Info("sim: board closed")
	})
	return b.closeErr
}

// Press presses a button and holds it until Release.
func (b *Board) Press(role string) error { return b.push(role, true) }

// Release lets go of a button.
func (b *Board) Release(role string) error { return b.push(role, false) }

// Click presses and releases a button at once: watchers see a Pressed edge
// then a Released one.
func (b *Board) Click(role string) error {
	if err := b.Press(role); err != nil {
		return err
	}
	return b.Release(role)
}

// Hold presses a button for d, then releases it, also when ctx ends first
// so the button is never left pressed.
func (b *Board) Hold(ctx context.Context, role string, d time.Duration) error {
	if err := b.Press(role); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-t.C:
	case <-ctx.Done():
		err = ctx.Err()
	case <-b.life.done:
		err = ErrClosed
	}
	return errors.Join(err, b.Release(role))
}

func (b *Board) push(role string, pressed bool) error {
	in, err := b.input(role, "button", b.buttons)
	if err != nil {
		return err
	}
	if in.set(pressed) {
		b.log.Debug("sim: button", "role", role, "pressed", pressed)
	}
	return nil
}

// SetSwitch moves a latching switch; on is its active position (for the
// mic array's slider, muted).
func (b *Board) SetSwitch(role string, on bool) error {
	in, err := b.input(role, "switch", b.switches)
	if err != nil {
		return err
	}
	if in.set(on) {
		b.log.Debug("sim: switch", "role", role, "on", on)
	}
	return nil
}

func (b *Board) input(role, kind string, m map[string]*input) (*input, error) {
	if b.life.isClosed() {
		return nil, ErrClosed
	}
	in, ok := m[role]
	if !ok {
		return nil, b.unknown(role, kind)
	}
	return in, nil
}

// SetSensor sets what a sensor reads from now on. Values must be ones the
// hardware could report: temperature -40..85 °C, humidity 0..100 %, and
// occupancy 0 or 1 (the PIR "presence" sensor measures hal.Occupancy).
func (b *Board) SetSensor(role string, q hal.Quantity, v float64) error {
	s, ok := b.sensors[role]
	if !ok {
		return b.unknown(role, "sensor")
	}
	if err := s.set(q, v); err != nil {
		return err
	}
	b.log.Debug("sim: sensor", "role", role, "quantity", q, "value", v)
	return nil
}

// Output reads the level an LED, relay or wrapped toggle is driven to,
// whatever faults are injected.
func (b *Board) Output(role string) (bool, error) {
	t := b.leds[role]
	if t == nil {
		t = b.relays[role]
	}
	if t == nil {
		b.mu.Lock()
		t = b.toggles[role]
		b.mu.Unlock()
	}
	if t == nil {
		return false, b.unknown(role, "output")
	}
	return t.level()
}

// SerialPath is the person side of a serial role, such as /dev/pts/7, or ""
// when the board has no such line.
func (b *Board) SerialPath(role string) string {
	if c, ok := b.cables[role]; ok {
		return c.personPath
	}
	return ""
}

// Fail makes role's device fail with err (ErrInjected when err is nil) until
// Heal; see the package documentation for what failing means for each kind.
// A role the board does not have yet is remembered, so a fault can be set up
// before Wrap.
func (b *Board) Fail(role string, err error) {
	b.faults.set(role, err)
	b.log.Info("sim: fault injected", "role", role, "err", b.faults.check(role))
}

// Heal ends an injected fault.
func (b *Board) Heal(role string) {
	b.faults.clear(role)
	b.log.Info("sim: fault healed", "role", role)
}

// Wrap returns a Toggle for role that passes Set and Get through to dev and
// fails on demand with Fail and Heal, like the board's own devices. With a
// nil dev the Toggle holds its own level. roomd wraps the media gates as
// "microphone" and "camera". Wrapping a role again replaces the earlier
// Toggle in State and Output; role should not name a board device.
func (b *Board) Wrap(role string, dev interface {
	Set(bool) error
	Get() (bool, error)
}) *Toggle {
	t := &Toggle{role: role, faults: b.faults, dev: dev}
	if kind, ok := b.kinds[role]; ok {
		b.log.Warn("sim: wrapped toggle shares a role with a board device; faults hit both", "role", role, "kind", kind)
	}
	b.mu.Lock()
	b.toggles[role] = t
	b.mu.Unlock()
	return t
}

// kindOf returns what role is: a loaded device's kind, "toggle", or "".
func (b *Board) kindOf(role string) string {
	if k, ok := b.kinds[role]; ok {
		return k
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.toggles[role]; ok {
		return "toggle"
	}
	return ""
}

// unknown explains why role is not a kind on this board.
func (b *Board) unknown(role, kind string) error {
	e := &roleError{}
	if k, ok := b.skipped[role]; ok {
		e.msg = fmt.Sprintf("sim: %s %q did not load (disabled or failed; see the report)", k, role)
		return e
	}
	if k := b.kindOf(role); k != "" {
		e.msg = fmt.Sprintf("sim: %q is a %s, not a %s", role, k, kind)
		return e
	}
	var have []string
	switch kind {
	case "button":
		have = slices.Sorted(maps.Keys(b.buttons))
	case "switch":
		have = slices.Sorted(maps.Keys(b.switches))
	case "sensor":
		have = slices.Sorted(maps.Keys(b.sensors))
	case "output":
		have = slices.Concat(slices.Sorted(maps.Keys(b.leds)), slices.Sorted(maps.Keys(b.relays)))
		b.mu.Lock()
		have = append(have, slices.Sorted(maps.Keys(b.toggles))...)
		b.mu.Unlock()
	default:
		have = slices.Sorted(maps.Keys(b.kinds))
	}
	list := strings.Join(have, ", ")
	if list == "" {
		list = "none"
	}
	e.msg = fmt.Sprintf("sim: board %q has no %s %q (it has: %s)", b.hw.Name, kind, role, list)
	return e
}

// roleError is an ErrUnknownRole with the reason.
type roleError struct{ msg string }

func (e *roleError) Error() string        { return e.msg }
func (e *roleError) Is(target error) bool { return target == ErrUnknownRole }
