// Package apply carries what a fleet bundle sets beyond the room's settings
// into the running parts of roomd, without a restart: the console and panel
// PINs, the schedule's time zone, dial rules and calendar, the call engine's
// media caps, the room policy's display sleep and camera privacy
// default, the display's brightness (hal.Backlight), the room directory
// (the panel's "Call a room" list) and the remote xAPI's users (SSH and
// the panel's /ws). What this room's hardware cannot apply is listed by
// [Applier.Unapplied] for the health report.
//
// A zero field returns its part to the configuration file's value, so the
// provisioning client's rollback (applying the previous bundle, or an empty
// one) undoes a bundle that failed half-way. The room's own settings reach
// the room through provisioning/roomport.
package apply

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/roomd/roomd/control/remoteusers"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/room/policy"
	"github.com/roomd/roomd/schedule"
)

// Targets are the parts of the running room a bundle reconfigures. Nil
// fields are parts this room does not have.
type Targets struct {
	PINs     *policy.PINs
	Schedule *schedule.Runner // time zone, dial rules and calendar
	Caps     CapsSetter       // the call engine
	Policy   *policy.Policy   // display sleep and camera privacy default
	Room     Reporter         // the room directory
	Users    UsersSetter      // the remote xAPI's users
	// Backlight is the display's brightness; nil on a board without one.
	Backlight hal.Backlight
	// Camera moves to presets; nil when the camera cannot.
	Camera hal.CameraPresets
}

// UsersSetter is the remote xAPI's user store; *remoteusers.Store.
type UsersSetter interface {
	SetFleet([]remoteusers.User) error
}

var _ UsersSetter = (*remoteusers.Store)(nil)

// Reporter is the room as the fleet's directory reaches it; *room.Room.
type Reporter interface{ Report(room.Report) }

var _ Reporter = (*room.Room)(nil)

// CapsSetter is the call engine as the fleet sees it; *call.Engine.
type CapsSetter interface{ SetCaps(call.Caps) error }

var _ CapsSetter = (*call.Engine)(nil)

// Applier applies bundles to its targets.
type Applier struct {
	to  Targets
	log *slog.Logger
	hw  hardwareNotes
}

// New returns an applier for to; log says what a bundle sets that this
// room cannot take.
func New(to Targets, log *slog.Logger) *Applier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Applier{to: to, log: log}
}

// Apply applies c; it is the provisioning client's Apply. It stops at the
// first part that refuses, leaving the rollback to the client.
func (a *Applier) Apply(_ context.Context, c provisioning.Config) error {
	if a.to.PINs != nil {
		if err := a.to.PINs.Apply(policy.PINHashes{Serial: c.PINs.SerialHash, Panel: c.PINs.PanelHash}); err != nil {
			return err
		}
	}
	if a.to.Schedule != nil {
		if err := a.to.Schedule.SetZone(c.Room.TimeZone); err != nil {
			return err
		}
		// nil: back to the configuration file's dial rules.
		if err := a.to.Schedule.SetDialRules(c.Meeting.DialRules); err != nil {
			return fmt.Errorf("roomd: meeting.dial_rules: %w", err)
		}
	} else {
		if c.Room.TimeZone != "" {
			a.log.Warn("roomd: the fleet's time zone has nothing to apply to: this room has no schedule", "zone", c.Room.TimeZone)
		}
		if c.Meeting.DialRules != nil {
			a.log.Warn("roomd: the fleet's dial rules have nothing to apply to: this room has no schedule")
		}
	}
	if a.to.Caps != nil {
		m := c.Media
		if err := a.to.Caps.SetCaps(call.Caps{MaxWidth: m.MaxWidth, MaxHeight: m.MaxHeight, MaxFPS: float64(m.MaxFPS), MaxBitrate: m.MaxBitrateKbps * 1000}); err != nil {
			return fmt.Errorf("roomd: media caps: %w", err)
		}
	}
	if a.to.Policy != nil {
		a.to.Policy.Set(policy.Settings{DisplaySleep: time.Duration(c.Display.SleepAfterMinutes) * time.Minute, PrivacyDefault: c.Camera.PrivacyDefault})
	}
	if a.to.Room != nil {
		a.to.Room.Report(room.DirectoryReported{Entries: directory(c.Directory)})
	} else if len(c.Directory) > 0 {
		a.log.Warn("roomd: the fleet's room directory has nothing to apply to: this roomd has no room", "rooms", len(c.Directory))
	}
	if a.to.Users != nil {
		users, err := sshUsers(c.SSH)
		if err == nil {
			err = a.to.Users.SetFleet(users)
		}
		if err != nil {
			return fmt.Errorf("roomd: ssh.users: %w", err)
		}
	} else if c.SSH != nil && len(c.SSH.Users) > 0 {
		a.log.Warn("roomd: the fleet's ssh users have nothing to apply to: this roomd serves no remote xAPI", "users", len(c.SSH.Users))
	}
	a.applyHardware(c)
	return nil
}

// Calendar gives the schedule the fleet's calendar: a feed it fetches, an
// inline calendar, or none (the configuration file's feed only). It is the
// provisioning client's Calendar; runner is nil in a room without a
// schedule.
func Calendar(runner *schedule.Runner, c provisioning.CalendarConfig) error {
	if runner == nil {
		if c.FeedURL == "" && c.ICS == "" {
			return nil
		}
		return fmt.Errorf("provisioning: the room has no schedule to take the calendar")
	}
	if c.FeedURL != "" {
		return runner.SetFleetFeed(c.FeedURL)
	}
	return runner.SetFleetCalendar([]byte(c.ICS))
}

// sshUsers is the bundle's ssh.users as the user store holds them; nil
// for none.
func sshUsers(c *provisioning.SSHConfig) ([]remoteusers.User, error) {
	if c == nil || len(c.Users) == 0 {
		return nil, nil
	}
	out := make([]remoteusers.User, len(c.Users))
	for i, u := range c.Users {
		var err error
		if out[i], err = remoteusers.NewUser(u.Name, u.PasswordHash, u.AuthorizedKeys); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// directory is the bundle's room directory as the room holds it; nil for
// none.
func directory(d []provisioning.DirectoryEntry) []room.DirectoryEntry {
	if len(d) == 0 {
		return nil
	}
	out := make([]room.DirectoryEntry, len(d))
	for i, e := range d {
		out[i] = room.DirectoryEntry{Name: e.Name, URI: e.URI}
	}
	return out
}
