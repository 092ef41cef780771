package schedule

import (
	"slices"
	"time"

	"github.com/roomd/roomd/room"
)

// maxNext is how many upcoming meetings are reported.
const maxNext = 10

// Memory is what the Runner remembers between plans.
type Memory struct {
	// ClockTrusted says the clock may be believed; until it is, nothing
	// is joined or left automatically.
	ClockTrusted bool
	// StaleSince is when the feed started failing to refresh; zero while
	// it is fresh.
	StaleSince time.Time
	// Joined holds the meetings this runner has sent a Join for: each is
	// joined automatically at most once, and only those are ever left or
	// replaced automatically.
	Joined map[string]bool
	// PassedOver holds meetings not joined because an ad-hoc call had the
	// room when they were due; they are offered, never joined later.
	PassedOver map[string]bool
}

// Decision is what the room should do now.
type Decision struct {
	Join     room.Meeting // zero: join nothing
	Replace  bool         // the join replaces the runner's own scheduled call
	Leave    bool
	PassOver []string // meetings to remember as passed over
	Report   room.ScheduleReported
	// Wake is the next time at which planning could decide differently;
	// zero when nothing is coming.
	Wake time.Time
	Why  string // for the log
}

// Plan decides what the room should do at now, given the calendar's
// occurrences around now (any order), the room's state and what the
// runner remembers. It is pure.
//
// The rules:
//   - Only joinable occurrences are ever joined or offered; nothing that is
//     not on the calendar is joined.
//   - In auto mode, with a trusted clock, a meeting is joined once, at the
//     first plan in [Start-JoinLead, End) at which the room is free.
//   - A call the runner did not start (ad hoc, or joined from an offer) is
//     never interrupted; a meeting due during it is passed over.
//   - The runner's own call is left at its end plus LeaveGrace. Its end is
//     the later of the room's (ExtendMeeting moves it) and the calendar's.
//   - When the next meeting is due during the runner's own call, the call
//     is replaced by it at the call's end, never before.
func Plan(now time.Time, meetings []Occurrence, st room.State, cfg Config, mem Memory) Decision {
	cfg = cfg.WithDefaults()
	lead, offerBefore, grace, horizon := time.Duration(cfg.JoinLead), time.Duration(cfg.OfferBefore), time.Duration(cfg.LeaveGrace), time.Duration(cfg.Horizon)
	if !slices.IsSortedFunc(meetings, byStart) {
		meetings = slices.Clone(meetings)
		slices.SortStableFunc(meetings, byStart)
	}
	var d Decision
	wake := func(t time.Time) {
		if t.After(now) && (d.Wake.IsZero() || t.Before(d.Wake)) {
			d.Wake = t
		}
	}

	// What the room shows: the next meetings and the one-touch offer.
	d.Report.StaleSince = mem.StaleSince
	var offer *Occurrence
	for i := range meetings {
		o := &meetings[i]
		if o.Cancelled {
			continue
		}
		wake(o.End)
		wake(o.Start.Add(-horizon))
		if o.End.After(now) && o.Start.Before(now.Add(horizon)) && len(d.Report.Next) < maxNext {
			d.Report.Next = append(d.Report.Next, shown(*o, cfg, false))
		}
		if !o.Joinable || cfg.Mode == ModeManual {
			continue
		}
		wake(o.Start.Add(-offerBefore))
		inIt := st.Call.Active() && st.Meeting.ID == o.ID
		if !now.Before(o.Start.Add(-offerBefore)) && now.Before(o.End) && !inIt {
			if offer == nil || o.Start.After(offer.Start) {
				offer = o
			}
		}
	}
	if offer != nil {
		d.Report.Offer = shown(*offer, cfg, true)
	}

	if cfg.Mode != ModeAuto {
		return d
	}
	if !mem.ClockTrusted {
		d.Why = "clock not trusted yet"
		return d
	}

	active := st.Call.Active()
	ours := active && st.CallBy == room.FromSchedule && mem.Joined[st.Meeting.ID]
	end := st.Meeting.End // the runner's own call's end, honouring extensions
	if ours {
		for _, o := range meetings {
			if o.ID == st.Meeting.ID && o.End.After(end) {
				end = o.End
			}
		}
	}

	var due *Occurrence
	for i := range meetings {
		o := &meetings[i]
		if !o.Joinable || mem.Joined[o.ID] || mem.PassedOver[o.ID] {
			continue
		}
		joinAt := o.Start.Add(-lead)
		wake(joinAt)
		if !now.Before(joinAt) && now.Before(o.End) && due == nil {
			due = o
		}
	}
	if due != nil {
		switch {
		case active && st.Meeting.ID == due.ID && !ours:
			d.PassOver, d.Why = []string{due.ID}, "the room joined it already"
		case st.Call == room.Leaving:
			// The room is hanging up; the next plan sees it free.
		case !active:
			d.Join, d.Why = shown(*due, cfg, true), "meeting due"
		case ours && !now.Before(end):
			d.Join, d.Replace, d.Why = shown(*due, cfg, true), true, "back-to-back: the meeting before has ended"
		case ours:
			wake(end)
		default:
			d.PassOver, d.Why = []string{due.ID}, "an ad-hoc call has the room"
		}
	}
	if ours && d.Join.IsZero() && st.Call != room.Leaving && !end.IsZero() {
		leaveAt := end.Add(grace)
		wake(leaveAt)
		if !now.Before(leaveAt) {
			d.Leave, d.Why = true, "meeting over"
		}
	}
	return d
}

func byStart(a, b Occurrence) int { return a.Start.Compare(b.Start) }

// shown is an occurrence as the room shows it: the title by the privacy
// setting, the link only when joinable (else why not), the passcode only
// when it is to be joined (an offer or a join), never in the list of next
// meetings.
func shown(o Occurrence, cfg Config, secret bool) room.Meeting {
	m := room.Meeting{ID: o.ID, Title: title(o, cfg), Start: o.Start, End: o.End}
	if o.Joinable {
		m.URI = o.Link.URI
		if secret {
			m.Passcode = o.Link.Passcode
		}
	} else {
		m.Why = o.Why
	}
	return m
}

func title(o Occurrence, cfg Config) string {
	switch {
	case !cfg.ShowTitles || o.Private:
		return privateTitle
	case o.Title == "":
		return untitled
	}
	return o.Title
}
