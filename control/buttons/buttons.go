// Package buttons makes the device's own hardware a control surface: push
// buttons and the mic-array's mute switch become room commands from someone
// in the room, and environment sensors become room reports.
//
// Volume buttons repeat while held, like a TV remote's.
package buttons

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/room"
)

// Room is what the bridge needs of the room.
type Room interface {
	Do(ctx context.Context, c room.Command) error
	Report(r room.Report)
}

// Options tune the bridge; zero values take defaults.
type Options struct {
	Logger         *slog.Logger
	RepeatDelay    time.Duration // hold this long before volume repeats (default 500ms)
	RepeatInterval time.Duration // then repeat this often (default 150ms)
	SensorInterval time.Duration // how often sensors without an interval of their own are read (default 10s)
}

// Run forwards the board's inputs to the room until ctx ends.
func Run(ctx context.Context, r Room, b *hal.Board, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RepeatDelay <= 0 {
		o.RepeatDelay = 500 * time.Millisecond
	}
	if o.RepeatInterval <= 0 {
		o.RepeatInterval = 150 * time.Millisecond
	}
	if o.SensorInterval <= 0 {
		o.SensorInterval = 10 * time.Second
	}
	var wg sync.WaitGroup
	for role, btn := range b.Buttons {
		act, repeat := action(role)
		if act == nil {
			o.Logger.Info("buttons: no action for button; ignoring it", "role", role)
			continue
		}
		wg.Go(func() { watchButton(ctx, r, role, btn, act, repeat, o) })
	}
	if sw, ok := b.Switches[hal.RoleMicSwitch]; ok {
		wg.Go(func() { watchSwitch(ctx, r, sw, o.Logger) })
	}
	// Each sensor is read at the interval its board description gives
	// (hal.Polled), the others at o.SensorInterval.
	for every, sensors := range byInterval(b.Sensors, o.SensorInterval) {
		wg.Go(func() { pollSensors(ctx, r, sensors, every, o) })
	}
	wg.Wait()
	return nil
}

// action maps a button role to the command it sends and whether it repeats.
func action(role string) (room.Action, bool) {
	switch role {
	case hal.RoleMuteButton:
		return room.ToggleMicMute{}, false
	case hal.RoleVolumeUp:
		return room.StepVolume{Steps: 1}, true
	case hal.RoleVolumeDown:
		return room.StepVolume{Steps: -1}, true
	case hal.RoleLeaveButton:
		return room.Leave{}, false
	}
	return nil, false
}

func watchButton(ctx context.Context, r Room, role string, btn hal.Button, act room.Action, repeat bool, o Options) {
	src := room.Source{Kind: room.FromButton, ID: role}
	edges := btn.Watch(ctx)
	do := func() {
		if err := r.Do(ctx, room.Command{From: src, Do: act}); err != nil && ctx.Err() == nil {
			o.Logger.Info("buttons: command refused", "role", role, "err", err)
		}
	}
	var tick <-chan time.Time
	var timer *time.Timer
	stop := func() {
		if timer != nil {
			timer.Stop()
			timer, tick = nil, nil
		}
	}
	defer stop()
	for {
		select {
		case e, ok := <-edges:
			if !ok {
				return
			}
			stop()
			if !e.Pressed {
				continue
			}
			do()
			if repeat {
				timer = time.NewTimer(o.RepeatDelay)
				tick = timer.C
			}
		case <-tick:
			do()
			timer.Reset(o.RepeatInterval)
		}
	}
}

func watchSwitch(ctx context.Context, r Room, sw hal.Switch, log *slog.Logger) {
	// The switch's position at start counts: a slider left on mute keeps the
	// room muted after a reboot.
	if on, err := sw.Active(); err != nil {
		log.Error("buttons: reading the mic switch", "err", err)
	} else {
		r.Report(room.MicSwitchChanged{Engaged: on})
	}
	for e := range sw.Watch(ctx) {
		r.Report(room.MicSwitchChanged{Engaged: e.Pressed})
	}
}

// byInterval groups sensors by how often they are read.
func byInterval(sensors map[string]hal.Sensor, def time.Duration) map[time.Duration]map[string]hal.Sensor {
	out := map[time.Duration]map[string]hal.Sensor{}
	for name, s := range sensors {
		every := def
		if p, ok := s.(hal.Polled); ok && p.PollInterval() > 0 {
			every = p.PollInterval()
		}
		if out[every] == nil {
			out[every] = map[string]hal.Sensor{}
		}
		out[every][name] = s
	}
	return out
}

func pollSensors(ctx context.Context, r Room, sensors map[string]hal.Sensor, every time.Duration, o Options) {
	failing := map[string]bool{}
	read := func() {
		var env room.Environment
		for name, s := range sensors {
			rs, err := s.Read()
			if err != nil {
				if !failing[name] {
					o.Logger.Warn("buttons: sensor read failed", "sensor", name, "err", err)
					r.Report(room.DeviceHealth{Name: name, Err: err})
				}
				failing[name] = true
				continue
			}
			if failing[name] {
				failing[name] = false
				r.Report(room.DeviceHealth{Name: name})
			}
			for _, v := range rs {
				switch v.Quantity {
				case hal.Temperature:
					env.Temperature, env.HaveTemperature = v.Value, true
				case hal.Humidity:
					env.Humidity, env.HaveHumidity = v.Value, true
				case hal.Occupancy:
					env.Occupied, env.HaveOccupancy = v.Value >= 0.5, true
				}
			}
		}
		if env.HaveTemperature || env.HaveHumidity || env.HaveOccupancy {
			r.Report(room.EnvReported{Env: env})
		}
	}
	read()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			read()
		}
	}
}
