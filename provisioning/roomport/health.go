package roomport

import (
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/room/policy"
)

// Health builds the health reports the provisioning client sends, from the
// room's state.
type Health struct {
	// Room is the room whose state is reported; *room.Room has Snapshot.
	Room interface{ Snapshot() room.State }
	// Calls summarises the calls since the last report; nil reports none.
	Calls *policy.CallQuality
	// Software is roomd's version.
	Software string
	// Started is when roomd started, for the uptime.
	Started time.Time
	// Unapplied lists what the bundle in force sets that this room does
	// not apply (*apply.Applier has it); nil reports nothing.
	Unapplied interface{ Unapplied() []string }
}

// Report is the health report at now: the software and its uptime, the
// state of each device, the calls since the last report, and, as last
// errors, a damaged or repaired saved state and every damaged file kept
// aside. It takes the call summary: the next report starts a new one.
func (h Health) Report(now time.Time) provisioning.HealthReport {
	s := h.Room.Snapshot()
	r := provisioning.HealthReport{Software: h.Software, Schemas: provisioning.Schemas(),
		UptimeSeconds: int64(now.Sub(h.Started).Seconds()), Hardware: map[string]string{}, Environment: environment(s.Env)}
	if h.Calls != nil {
		r.CallQuality = CallQuality(h.Calls.Take(now))
	}
	for _, d := range s.Hardware {
		v := d.State
		if d.Reason != "" {
			v += ": " + d.Reason
		}
		r.Hardware[d.Name] = v
	}
	switch s.Restored.From {
	case room.RestoreNone, room.RestoreSaved:
	default:
		r.LastErrors = append(r.LastErrors, "room: saved state "+s.Restored.From.String()+": "+s.Restored.Detail)
	}
	if h.Unapplied != nil {
		r.LastErrors = append(r.LastErrors, h.Unapplied.Unapplied()...)
	}
	for _, f := range s.DamagedFiles {
		r.LastErrors = append(r.LastErrors, "roomd: damaged file kept aside since "+f.Since.UTC().Format(time.RFC3339)+": "+f.Name+" (look at it, then delete it)")
	}
	return r
}

// CallQuality is the policy's call summary as a health report carries it.
func CallQuality(s *policy.CallSummary) *provisioning.CallQuality {
	if s == nil {
		return nil
	}
	q := &provisioning.CallQuality{Calls: s.Calls, Minutes: s.Minutes, AvgRTTMillis: s.AvgRTTMillis, AvgLossPct: s.AvgLossPct, Reconnects: s.Reconnects}
	for name, p := range s.Protocols {
		if q.Protocols == nil {
			q.Protocols = map[string]provisioning.ProtocolQuality{}
		}
		q.Protocols[name] = provisioning.ProtocolQuality{Calls: p.Calls, Failures: p.Failures, AvgRTTMillis: p.AvgRTTMillis, AvgLossPct: p.AvgLossPct}
	}
	return q
}
