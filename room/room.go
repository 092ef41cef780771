package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Update is what a watcher receives: the first is the whole state with
// Initial set; each later one is the state after a change, with any events.
type Update struct {
	State   State
	Events  []Event
	Initial bool
	// Resync is set when the watcher fell behind and updates were dropped;
	// State is still the latest whole state.
	Resync bool
}

// Options configure a Room. Nil fields take defaults.
type Options struct {
	Devices  Devices
	Store    Store        // nil keeps nothing across restarts
	Logger   *slog.Logger // nil discards
	Settings *Settings    // initial settings when the store has none; nil means DefaultSettings
	Hardware []Device     // hardware load report at start
	// PollInterval is how often device states are read back and failed
	// indicator writes retried (default 1s).
	PollInterval time.Duration
	// Port is the room's inbox when the parts that report to the room
	// were made before it; nil makes one.
	Port *Port
}

// Room runs the state machine on one goroutine.
type Room struct {
	dev   Devices
	store Store
	log   *slog.Logger
	poll  time.Duration

	port  *Port
	reqs  chan request // port.reqs
	ready chan struct{}
	done  chan struct{} // port.done
	init  State

	mu       sync.Mutex
	state    State
	watchers map[*watcher]struct{}

	// owned by the Run goroutine
	ledShown map[Toggle]bool
	lastJoin Meeting // the last meeting joined, passcode included, for Rejoin
	ledBad   map[Toggle]error
	saved    Persisted
	ctx      context.Context
}

type request struct {
	in    Input
	reply chan error // nil for reports
}

// New makes a room; nothing touches a device until Run.
func New(o Options) *Room {
	port := o.Port
	if port == nil {
		port = NewPort()
	}
	r := &Room{
		port:     port,
		dev:      o.Devices,
		store:    o.Store,
		log:      o.Logger,
		poll:     o.PollInterval,
		reqs:     port.reqs,
		ready:    make(chan struct{}),
		done:     port.done,
		watchers: map[*watcher]struct{}{},
		ledShown: map[Toggle]bool{},
		ledBad:   map[Toggle]error{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.poll <= 0 {
		r.poll = time.Second
	}
	d := &r.dev
	for _, t := range []*Toggle{&d.Mic, &d.Camera, &d.Display} {
		if *t == nil {
			*t = &memToggle{}
		}
	}
	for _, l := range []*Level{&d.Speaker, &d.Presets} {
		if *l == nil {
			*l = &memLevel{}
		}
	}
	st := DefaultSettings()
	if o.Settings != nil {
		st = *o.Settings
	}
	r.init = State{Settings: st, Hardware: append([]Device(nil), o.Hardware...), SIP: SIPRegistration{Status: SIPOff}}
	r.state = r.init
	return r
}

// Ready is closed once the room has read its devices and shows the truth.
func (r *Room) Ready() <-chan struct{} { return r.ready }

// Snapshot returns the current state.
func (r *Room) Snapshot() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.clone()
}

// Do carries out a command and returns when the devices have answered.
// The error wraps one of the Err* sentinels.
func (r *Room) Do(ctx context.Context, c Command) error {
	return r.send(ctx, c)
}

func (r *Room) send(ctx context.Context, in Input) error {
	return r.port.send(ctx, in)
}

// Alive returns nil once the room's goroutine has answered a probe: the
// service watchdog is fed only while the room really works.
func (r *Room) Alive(ctx context.Context) error {
	return r.send(ctx, nil)
}

// Report hands the room a report from a device or the call engine. It may
// be called from any goroutine, including library callbacks; it never
// changes state itself.
func (r *Room) Report(rep Report) { r.port.Report(rep) }

// Run owns the state until ctx ends. Cancellation is not an error.
func (r *Room) Run(ctx context.Context) error {
	defer close(r.done)
	r.ctx = ctx
	r.start()
	close(r.ready)
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.stop()
			return nil
		case req := <-r.reqs:
			if req.in == nil { // Alive's probe
				req.reply <- nil
				continue
			}
			err := r.process(req.in)
			if req.reply != nil {
				req.reply <- err
			} else if err != nil {
				r.log.Warn("room: report not applied", "report", fmt.Sprintf("%T", req.in), "err", err)
			}
		case <-t.C:
			r.readBack()
			r.syncIndicators()
		}
	}
}

// start brings devices to the persisted state and reads back what they really are.
func (r *Room) start() {
	p := Persisted{Settings: r.init.Settings}
	var rs Restored
	if r.store != nil {
		l := r.store.Load(&p)
		p, rs = restore(r.init.Settings, p, l)
		switch rs.From {
		case RestorePrevious, RestoreDamaged:
			r.log.Error("room: saved state unreadable; microphones muted and camera private until someone in the room opens them", "restored", rs.From.String(), "detail", rs.Detail)
		case RestoreRepaired:
			r.log.Warn("room: saved state repaired", "detail", rs.Detail)
		}
	}
	r.saved = p
	if rs.From != RestoreSaved && rs.From != RestoreNone {
		// Write what the room really starts from at once, so the file on
		// disk is whole again even if nothing changes before the next start.
		r.saved = Persisted{}
	}
	r.setState(State{Settings: p.Settings, Hardware: r.init.Hardware, Restored: rs, SIP: r.init.SIP}, nil, true)
	// Muted-before-restart stays muted; the LED shows what the mic reports.
	r.runEffects([]Effect{
		ApplyMicMute{Mute: p.MicMute},
		ApplyPrivacy{On: p.CameraPrivacy},
		ApplyVolume{Level: p.Settings.DefaultVolume},
	})
	r.readBack()
	r.syncIndicators()
	r.persist()
}

func (r *Room) stop() {
	s := r.Snapshot()
	if s.Call.Active() && r.dev.Calls != nil {
		r.dev.Calls.End(s.CallSeq)
	}
	r.mu.Lock()
	for w := range r.watchers {
		w.close()
	}
	r.watchers = nil
	r.mu.Unlock()
}

// process handles one input from outside, then brings the indicators and
// the saved state in line.
func (r *Room) process(in Input) error {
	err := r.apply(in)
	r.syncIndicators()
	r.persist()
	return err
}

// apply runs one input through Next, carries out its effects and publishes.
func (r *Room) apply(in Input) error {
	if c, ok := in.(Command); ok {
		if _, ok := c.Do.(Rejoin); ok {
			if r.lastJoin.IsZero() {
				return ErrNoEarlierJoin
			}
			c.Do = Join{Meeting: r.lastJoin}
			in = c
		}
	}
	if ic, ok := in.(IncomingCallReported); ok && ic.At.IsZero() {
		ic.At = time.Now().UTC().Truncate(time.Second)
		in = ic
	}
	cur := r.Snapshot()
	next, out, err := Next(cur, in)
	if err != nil {
		if errors.Is(err, errIncomingWhileBusy) {
			r.log.Info(err.Error())
			return nil
		}
		if c, ok := in.(Command); ok {
			r.log.Info("room: command refused", "from", c.From.String(), "action", ActionString(c.Do), "err", err)
			r.publish(cur, []Event{{Name: "CommandRefused", Fields: []string{"By", c.From.String(), "Reason", err.Error()}}})
		}
		return err
	}
	r.setState(next, out.Events, false)
	if c, ok := in.(Command); ok {
		r.log.Info("room: command", "from", c.From.String(), "action", ActionString(c.Do))
	}
	return r.runEffects(out.Effects)
}

// runEffects carries out effects; device answers go back through Next.
func (r *Room) runEffects(effects []Effect) error {
	var errs []error
	for len(effects) > 0 {
		e := effects[0]
		effects = effects[1:]
		rep, err := r.effect(e)
		if err != nil {
			errs = append(errs, err)
		}
		if rep == nil {
			continue
		}
		cur := r.Snapshot()
		next, out, nerr := Next(cur, rep)
		if nerr != nil {
			errs = append(errs, nerr)
			continue
		}
		r.setState(next, out.Events, false)
		effects = append(effects, out.Effects...)
	}
	return errors.Join(errs...)
}

// effect does one effect and returns the device's answer as a report.
func (r *Room) effect(e Effect) (Report, error) {
	d := r.dev
	wrap := func(what string, err error) error {
		if err == nil {
			return nil
		}
		r.log.Error("room: device error", "device", what, "err", err)
		return fmt.Errorf("%w: %s: %w", ErrDevice, what, err)
	}
	switch e := e.(type) {
	case ApplyMicMute:
		err := d.Mic.Set(e.Mute)
		got, rerr := d.Mic.Get()
		if rerr != nil {
			// Unreadable: keep the last known state and say so.
			return MicReported{Muted: r.Snapshot().MicMute, Err: rerr}, wrap("microphone", errors.Join(err, rerr))
		}
		return MicReported{Muted: got, Err: err}, wrap("microphone", err)
	case ApplyPrivacy:
		err := d.Camera.Set(e.On)
		got, rerr := d.Camera.Get()
		if rerr != nil {
			got = r.Snapshot().CameraPrivacy
		}
		return PrivacyReported{On: got, Err: err}, wrap("camera", errors.Join(err, rerr))
	case ApplyVolume:
		err := d.Speaker.SetLevel(e.Level)
		got, rerr := d.Speaker.Level()
		if rerr != nil {
			got = r.Snapshot().Volume
		}
		return VolumeReported{Level: got, Err: err}, wrap("speaker", errors.Join(err, rerr))
	case ApplyCameraPreset:
		err := d.Presets.SetLevel(e.ID)
		got, rerr := d.Presets.Level()
		if rerr != nil {
			got = r.Snapshot().CameraPreset
		}
		return PresetReported{ID: got, Err: err}, wrap("camera presets", errors.Join(err, rerr))
	case ApplyDisplayPower:
		err := d.Display.Set(e.On)
		got, rerr := d.Display.Get()
		if rerr != nil {
			got = r.Snapshot().DisplayPower
		}
		return DisplayReported{On: got, Err: err}, wrap("display", errors.Join(err, rerr))
	case StartCall:
		if d.Calls == nil {
			return CallReported{Seq: e.Seq, State: Failed, Reason: ErrNoEngine.Error()}, nil
		}
		// The closing effects ran first; a device that did not close
		// fails the join rather than sending what it should not.
		if s := r.Snapshot(); (e.Muted && !s.MicMute) || (e.Private && !s.CameraPrivacy) {
			r.log.Error("room: join refused: the microphones or camera could not be closed first", "muted", s.MicMute, "private", s.CameraPrivacy)
			return CallReported{Seq: e.Seq, State: Failed, Reason: "the microphones or camera could not be closed before joining; nothing was sent"}, nil
		}
		d.Calls.Start(r.ctx, e.Seq, e.Meeting)
	case EndCall:
		if d.Calls == nil {
			return CallReported{Seq: e.Seq, State: Idle}, nil
		}
		d.Calls.End(e.Seq)
	case StartEnrollment:
		if d.Fleet == nil {
			return ProvisioningReported{Provisioning: Provisioning{State: Unenrolled, Detail: "no fleet server is configured"}}, fmt.Errorf("%w: no fleet server is configured", ErrNoFleet)
		}
		d.Fleet.Enroll(e.Code)
	case PollFleet:
		if d.Fleet == nil {
			return nil, fmt.Errorf("%w: no fleet server is configured", ErrNoFleet)
		}
		d.Fleet.Nudge()
	case SaveSettings:
		// persist() runs after every batch of effects.
	case DeclineCall:
		cc, ok := d.Calls.(CallControl)
		if !ok {
			r.log.Warn("room: the call engine cannot decline calls; the call rings out", "id", e.ID)
			return nil, nil
		}
		cc.Decline(e.ID)
	case SendTones:
		cc, ok := d.Calls.(CallControl)
		if !ok {
			return nil, ErrNoTones
		}
		if err := cc.SendDTMF(e.Seq, e.Digits); err != nil {
			return nil, fmt.Errorf("room: sending tones: %w", err)
		}
	default:
		return nil, fmt.Errorf("room: unknown effect %T", e)
	}
	return nil, nil
}

// readBack polls devices that can change behind roomd's back.
func (r *Room) readBack() {
	s := r.Snapshot()
	if m, err := r.dev.Mic.Get(); err == nil && m != s.MicMute {
		r.log.Warn("room: microphone mute changed outside roomd", "muted", m)
		r.apply(MicReported{Muted: m})
	}
	if on, err := r.dev.Display.Get(); err == nil && on != s.DisplayPower {
		r.apply(DisplayReported{On: on})
	}
}

// syncIndicators makes the LEDs show the state, retrying failed writes.
func (r *Room) syncIndicators() {
	s := r.Snapshot()
	r.show(r.dev.MuteLED, "mute_led", s.MicMute)
	r.show(r.dev.CallLED, "call_led", s.Call == InCall || s.Call == Reconnecting)
}

func (r *Room) show(led Toggle, name string, want bool) {
	if led == nil {
		return
	}
	if shown, ok := r.ledShown[led]; ok && shown == want && r.ledBad[led] == nil {
		return
	}
	if err := led.Set(want); err != nil {
		first := r.ledBad[led] == nil
		r.ledBad[led] = err
		delete(r.ledShown, led)
		if first {
			r.log.Error("room: indicator write failed; retrying", "led", name, "err", err)
			r.apply(DeviceHealth{Name: name, Err: err})
		}
		return
	}
	r.ledShown[led] = want
	if r.ledBad[led] != nil {
		delete(r.ledBad, led)
		r.log.Info("room: indicator works again", "led", name)
		r.apply(DeviceHealth{Name: name})
	}
}

func (r *Room) persist() {
	if r.store == nil {
		return
	}
	s := r.Snapshot()
	p := Persisted{Settings: s.Settings, MicMute: s.MicMute, CameraPrivacy: s.CameraPrivacy}
	if p == r.saved {
		return
	}
	if err := r.store.Save(p); err != nil {
		r.log.Error("room: saving state failed; will try again on the next change", "err", err)
		return
	}
	r.saved = p
}

func (r *Room) setState(s State, events []Event, force bool) {
	if s.Call == Joining && !s.Meeting.IsZero() {
		r.lastJoin = s.Meeting
		// A call answered cannot be answered again: a retry calls back.
		r.lastJoin.Incoming = ""
	}
	r.mu.Lock()
	changed := !s.Equal(r.state)
	r.state = s
	r.mu.Unlock()
	if changed || len(events) > 0 || force {
		r.publish(s, events)
	}
}

func (r *Room) publish(s State, events []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for w := range r.watchers {
		w.push(Update{State: s.clone(), Events: events})
	}
}
