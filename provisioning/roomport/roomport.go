// Package roomport carries the provisioning client's results into package
// room: a bundle's room settings become a room.EditSettings command from the
// fleet, and the client's fleet state becomes a room.ProvisioningReported.
// The other way, [Health] builds the client's health reports from the
// room's state, and [Requests] queues the room's enrollment codes and poll
// requests for a client made after the room.
//
// It lives apart from package provisioning so that imports go one way:
// provisioning holds the fleet protocol and the bundle format, which fleetd
// shares with the device, and must not link the room; the device client in
// provisioning talks to the room only through [provisioning.Room], in plain
// values, and roomd wraps its room with [New]. This needed one small
// package instead of moving the client (and its tests) out of provisioning.
package roomport

import (
	"context"
	"strconv"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// Room is what the port needs of the room: *room.Room satisfies it.
type Room interface {
	Do(ctx context.Context, c room.Command) error
	Report(rep room.Report)
}

var _ Room = (*room.Room)(nil)

// Port adapts a [Room] to [provisioning.Room].
type Port struct{ room Room }

var _ provisioning.Room = Port{}

// New returns the port to rm.
func New(rm Room) Port { return Port{room: rm} }

// ApplySettings sends the room an edit of its settings from the fleet,
// named after bundle version v.
func (p Port) ApplySettings(ctx context.Context, v int64, c *provisioning.Config) error {
	return p.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromFleet, ID: "v" + strconv.FormatInt(v, 10)},
		Do: room.EditSettings{What: "fleet configuration", Edit: func(s room.Settings) (room.Settings, error) { return Settings(c, s), nil }}})
}

// ReportStatus reports the client's fleet state to the room.
func (p Port) ReportStatus(s provisioning.Status) {
	p.room.Report(room.ProvisioningReported{Provisioning: Provisioning(s)})
}

// Settings returns s with the room settings of c laid over it.
func Settings(c *provisioning.Config, s room.Settings) room.Settings {
	if c.Room.Name != "" {
		s.Name = c.Room.Name
	}
	if c.Room.DefaultVolume != nil {
		s.DefaultVolume = *c.Room.DefaultVolume
	}
	if c.Room.VolumeStep != 0 {
		s.VolumeStep = c.Room.VolumeStep
	}
	if c.Room.MuteOnJoin != nil {
		s.MuteOnJoin = *c.Room.MuteOnJoin
	}
	if c.Camera.Presets != nil {
		s.Presets = *c.Camera.Presets
	}
	switch c.Security.Unmute {
	case "in-room":
		s.Unmute = room.UnmuteInRoom
	case "anyone":
		s.Unmute = room.UnmuteAnyone
	}
	return s
}

// Provisioning returns s as the room's state holds it. An unknown phase
// reads as Failed, so the room never shows a device as managed by mistake.
func Provisioning(s provisioning.Status) room.Provisioning {
	p := room.Provisioning{ConfigVersion: s.ConfigVersion, Stale: s.Stale, Detail: s.Detail, Since: s.Since}
	switch s.State {
	case provisioning.Unenrolled:
		p.State = room.Unenrolled
	case provisioning.Pending:
		p.State = room.Pending
	case provisioning.Enrolled:
		p.State = room.Enrolled
	case provisioning.Revoked:
		p.State = room.Revoked
	default:
		p.State = room.ProvisioningFailed
	}
	return p
}
