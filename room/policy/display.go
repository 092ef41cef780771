package policy

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/roomd/roomd/room"
)

// Room is the room as the display and camera policy sees it; *room.Room.
type Room interface {
	Do(ctx context.Context, c room.Command) error
	Watcher
}

// Watcher is a room's stream of updates: a snapshot first, then changes.
type Watcher interface {
	Watch(ctx context.Context) <-chan room.Update
}

var _ Room = (*room.Room)(nil)

// Settings are the fleet bundle's display and camera values. The zero value
// is the configuration file's: no sleep, no privacy default.
type Settings struct {
	DisplaySleep   time.Duration // display off after this long unused; 0: never
	PrivacyDefault bool          // camera privacy on at start-up and after each call
}

// Policy carries out [Settings]: the display goes off after DisplaySleep
// without a call, a join offer, anyone present or anyone touching the room,
// and comes back on with any of them; with PrivacyDefault, camera privacy
// goes on at start-up and after each call. It drives the room with
// commands from [room.FromFleet].
type Policy struct {
	room  Room
	clock clockwork.Clock
	log   *slog.Logger

	mu      sync.Mutex
	set     Settings
	known   bool // Set has been called: the settings in force are known
	changed chan struct{}
}

// New makes a policy for rm. A nil clock is the real one; a nil log
// discards. Nothing happens until [Policy.Set] says what is in force.
func New(rm Room, clock clockwork.Clock, log *slog.Logger) *Policy {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Policy{room: rm, clock: clock, log: log, changed: make(chan struct{}, 1)}
}

// Set makes s the settings in force; it never blocks.
func (p *Policy) Set(s Settings) {
	p.mu.Lock()
	p.set, p.known = s, true
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Settings returns the settings in force and whether Set was called.
func (p *Policy) Settings() (s Settings, known bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.set, p.known
}

// Busy says whether the room is in use, so the display must stay on.
func Busy(s room.State) bool {
	return s.Call.Active() || !s.JoinOffer.IsZero() || (s.Env.HaveOccupancy && s.Env.Occupied)
}

// Touched says whether someone did something in the room between two states.
func Touched(prev, s room.State) bool {
	return prev.MicMute != s.MicMute || prev.Volume != s.Volume || prev.CameraPrivacy != s.CameraPrivacy ||
		prev.CameraPreset != s.CameraPreset || (!prev.DisplayPower && s.DisplayPower) || prev.Call != s.Call
}

// Run follows the room until ctx ends. Cancellation is not an error.
func (p *Policy) Run(ctx context.Context) error {
	from := room.Source{Kind: room.FromFleet, ID: "policy"}
	do := func(a room.Action, what string) {
		if err := p.room.Do(ctx, room.Command{From: from, Do: a}); err != nil && ctx.Err() == nil {
			p.log.Warn("roomd: "+what+" failed", "err", err)
		}
	}
	updates := p.room.Watch(ctx)
	timer := p.clock.NewTimer(time.Hour)
	defer timer.Stop()
	var (
		st         room.State
		have       bool
		lastActive = p.clock.Now()
		asleep     bool // the display is off because of this policy
		startedUp  bool // the start-up privacy default is done
	)
	for {
		set, known := p.Settings()
		if have && known && !startedUp {
			startedUp = true
			if set.PrivacyDefault && !st.CameraPrivacy && !st.Call.Active() {
				p.log.Info("roomd: camera privacy on at start-up (fleet privacy default)")
				do(room.SetCameraPrivacy{On: true}, "camera privacy default")
			}
		}
		wait := time.Hour
		if have && set.DisplaySleep > 0 && st.DisplayPower && !Busy(st) {
			if due := lastActive.Add(set.DisplaySleep); p.clock.Now().Before(due) {
				wait = due.Sub(p.clock.Now())
			} else {
				p.log.Info("roomd: display off after idle", "idle", p.clock.Since(lastActive).Round(time.Second))
				asleep = true
				do(room.SetDisplayPower{On: false}, "display sleep")
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-updates:
			if !ok {
				return nil
			}
			prev := st
			st = u.State
			if !have {
				have = true
				continue
			}
			if Busy(st) || Touched(prev, st) {
				lastActive = p.clock.Now()
				if asleep && !st.DisplayPower {
					p.log.Info("roomd: display on: the room is in use")
					do(room.SetDisplayPower{On: true}, "display wake")
				}
				asleep = false
			}
			if prev.Call.Active() && !st.Call.Active() && set.PrivacyDefault && !st.CameraPrivacy {
				p.log.Info("roomd: camera privacy on after the call (fleet privacy default)")
				do(room.SetCameraPrivacy{On: true}, "camera privacy default")
			}
		case <-p.changed:
		case <-timer.Chan():
		}
	}
}
