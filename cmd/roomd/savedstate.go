package main

import (
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// reportSavedState adds to a health report that the room's saved state was
// damaged or repaired at start, so the fleet hears of it too.
func reportSavedState(s room.State, h *provisioning.HealthReport) {
	switch s.Restored.From {
	case room.RestoreNone, room.RestoreSaved:
		return
	}
	h.LastErrors = append(h.LastErrors, "room: saved state "+s.Restored.From.String()+": "+s.Restored.Detail)
}
