package schedule

import (
	"slices"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a time on the test day, Tuesday 4 March 2025, in Berlin.
func at(hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", "2025-03-04 "+hhmm, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

func meeting(id, title, from, to string) Occurrence {
	return Occurrence{ID: id, UID: id + "@example.com", Title: title, Start: at(from), End: at(to), Joinable: true,
		Link: Link{Provider: ProviderJanus, URI: "janus+wss://sfu.example.com/janus?room=" + id, Passcode: "pin-" + id, Joinable: true}}
}

var (
	mA       = meeting("a", "Standup", "09:00", "10:00")
	mB       = meeting("b", "Planning", "10:00", "11:00")
	mLate    = meeting("late", "Evening", "19:00", "20:00")
	mTeams   = Occurrence{ID: "teams", Title: "Teams call", Start: at("09:00"), End: at("10:00"), Link: Link{Provider: ProviderTeams, URI: "https://teams.microsoft.com/l/x", Why: "roomd cannot join Microsoft Teams meetings"}, Why: "roomd cannot join Microsoft Teams meetings"}
	mAllDay  = Occurrence{ID: "holiday", Title: "Holiday", Start: at("00:00"), End: at("00:00").AddDate(0, 0, 1), AllDay: true, Link: mA.Link, Why: whyAllDay}
	mGone    = Occurrence{ID: "gone", Title: "Cancelled", Start: at("09:00"), End: at("10:00"), Cancelled: true, Link: mA.Link, Why: whyCancelled}
	mPrivate = func() Occurrence { o := meeting("p", "Secret board", "09:00", "10:00"); o.Private = true; return o }()
	day      = []Occurrence{mA, mB, mLate}

	auto    = Config{Mode: ModeAuto, ShowTitles: true}
	touch   = Config{Mode: ModeOneTouch, ShowTitles: true}
	trusted = Memory{ClockTrusted: true}
)

// in is the room in call with m, started by by.
func in(m Occurrence, by room.SourceKind, c room.CallState) room.State {
	return room.State{Call: c, CallBy: by, Meeting: shown(m, auto, true)}
}

func joined(ids ...string) Memory {
	m := Memory{ClockTrusted: true, Joined: map[string]bool{}}
	for _, id := range ids {
		m.Joined[id] = true
	}
	return m
}

func extended(st room.State, end string) room.State { st.Meeting.End = at(end); return st }

func TestPlanActions(t *testing.T) {
	idle := room.State{}
	tests := []struct {
		name     string
		now      string
		meetings []Occurrence
		st       room.State
		cfg      Config
		mem      Memory
		join     string // meeting ID joined, "" for none
		replace  bool
		leave    bool
		passOver []string
		wake     string
	}{
		{name: "nothing before the lead", now: "08:58", meetings: day, cfg: auto, mem: trusted, wake: "08:59"},
		{name: "join at start minus lead", now: "08:59", meetings: day, cfg: auto, mem: trusted, join: "a"},
		{name: "join a meeting already running", now: "09:40", meetings: day, cfg: auto, mem: trusted, join: "a"},
		{name: "no join once over", now: "10:00", meetings: []Occurrence{mA}, cfg: auto, mem: trusted},
		{name: "no auto-join with an untrusted clock", now: "08:59", meetings: day, cfg: auto, mem: Memory{}},
		{name: "one-touch never joins", now: "09:00", meetings: day, cfg: touch, mem: trusted},
		{name: "manual never joins", now: "09:00", meetings: day, cfg: Config{Mode: ModeManual}, mem: trusted},
		{name: "each meeting is joined once", now: "09:10", meetings: day, st: room.State{Call: room.Failed}, cfg: auto, mem: joined("a"), wake: "09:55"},
		{name: "a failed call does not block the next", now: "09:59", meetings: day, st: room.State{Call: room.Failed, CallBy: room.FromSchedule}, cfg: auto, mem: joined("a"), join: "b"},
		{name: "never joins all-day, cancelled or foreign", now: "09:00", meetings: []Occurrence{mAllDay, mGone, mTeams}, cfg: auto, mem: trusted},
		{name: "in its own call: nothing to do", now: "09:30", meetings: day, st: in(mA, room.FromSchedule, room.InCall), cfg: auto, mem: joined("a"), wake: "09:55"},
		{name: "back-to-back waits for the end", now: "09:59", meetings: day, st: in(mA, room.FromSchedule, room.InCall), cfg: auto, mem: joined("a"), wake: "10:00"},
		{name: "back-to-back hands over at the end", now: "10:00", meetings: day, st: in(mA, room.FromSchedule, room.InCall), cfg: auto, mem: joined("a"), join: "b", replace: true},
		{name: "extension delays the handover", now: "10:00", meetings: day, st: extended(in(mA, room.FromSchedule, room.InCall), "10:30"), cfg: auto, mem: joined("a"), wake: "10:30"},
		{name: "handover at the extended end", now: "10:30", meetings: day, st: extended(in(mA, room.FromSchedule, room.InCall), "10:30"), cfg: auto, mem: joined("a"), join: "b", replace: true},
		{name: "no leave within the grace", now: "10:01", meetings: []Occurrence{mA}, st: in(mA, room.FromSchedule, room.InCall), cfg: auto, mem: joined("a"), wake: "10:02"},
		{name: "leave at end plus grace", now: "10:02", meetings: []Occurrence{mA}, st: in(mA, room.FromSchedule, room.InCall), cfg: auto, mem: joined("a"), leave: true},
		{name: "leave a call still joining", now: "10:02", meetings: []Occurrence{mA}, st: in(mA, room.FromSchedule, room.Joining), cfg: auto, mem: joined("a"), leave: true},
		{name: "no second leave while leaving", now: "10:05", meetings: []Occurrence{mA}, st: in(mA, room.FromSchedule, room.Leaving), cfg: auto, mem: joined("a")},
		{name: "extension delays the leave", now: "10:02", meetings: []Occurrence{mA}, st: extended(in(mA, room.FromSchedule, room.InCall), "10:15"), cfg: auto, mem: joined("a"), wake: "10:17"},
		{name: "leave at the extended end plus grace", now: "10:17", meetings: []Occurrence{mA}, st: extended(in(mA, room.FromSchedule, room.InCall), "10:15"), cfg: auto, mem: joined("a"), leave: true},
		{name: "a later calendar end is honoured", now: "10:02",
			meetings: []Occurrence{func() Occurrence { o := mA; o.End = at("10:30"); return o }()},
			st:       in(mA, room.FromSchedule, room.InCall), cfg: auto, mem: joined("a"), wake: "10:30"},
		{name: "an ad-hoc call is never left", now: "10:30", meetings: []Occurrence{mA}, st: in(mA, room.FromPanel, room.InCall), cfg: auto, mem: trusted},
		{name: "a scheduled-looking call it did not join is never left", now: "10:30", meetings: []Occurrence{mA}, st: in(mA, room.FromSchedule, room.InCall), cfg: auto, mem: trusted},
		{name: "an ad-hoc call passes the due meeting over", now: "08:59", meetings: day,
			st:  room.State{Call: room.InCall, CallBy: room.FromPanel, Meeting: room.Meeting{ID: "adhoc", URI: "janus+wss://x/?room=1"}},
			cfg: auto, mem: trusted, passOver: []string{"a"}},
		{name: "a meeting joined from its offer is passed over", now: "09:00", meetings: day, st: in(mA, room.FromPanel, room.InCall), cfg: auto, mem: trusted, passOver: []string{"a"}},
		{name: "passed over stays passed over", now: "09:20", meetings: day, st: idle, cfg: auto,
			mem: Memory{ClockTrusted: true, PassedOver: map[string]bool{"a": true}}, wake: "09:55"},
		{name: "no join while the room hangs up", now: "09:00", meetings: day, st: room.State{Call: room.Leaving, CallBy: room.FromPanel}, cfg: auto, mem: trusted},
		{name: "no replace of an ad-hoc call at a back-to-back", now: "10:00", meetings: day, st: in(mA, room.FromPanel, room.InCall), cfg: auto, mem: trusted, passOver: []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Plan(at(tt.now), tt.meetings, tt.st, tt.cfg, tt.mem)
			if d.Join.ID != tt.join || d.Replace != tt.replace || d.Leave != tt.leave || !slices.Equal(d.PassOver, tt.passOver) {
				t.Errorf("Plan = join %q replace %v leave %v passOver %v (%s); want join %q replace %v leave %v passOver %v",
					d.Join.ID, d.Replace, d.Leave, d.PassOver, d.Why, tt.join, tt.replace, tt.leave, tt.passOver)
			}
			if tt.join != "" {
				var m Occurrence
				for _, o := range tt.meetings {
					if o.ID == tt.join {
						m = o
					}
				}
				if d.Join.URI != m.Link.URI || d.Join.Passcode != m.Link.Passcode || !d.Join.Start.Equal(m.Start) || !d.Join.End.Equal(m.End) {
					t.Errorf("joined %+v, want the calendar's meeting %+v with its passcode", d.Join, m)
				}
			}
			if tt.wake != "" && !d.Wake.Equal(at(tt.wake)) {
				t.Errorf("Wake = %v, want %s", d.Wake.In(berlin).Format("15:04"), tt.wake)
			}
		})
	}
}

func TestPlanReport(t *testing.T) {
	all := []Occurrence{mAllDay, mA, mTeams, mGone, mPrivate, mB, mLate}
	tests := []struct {
		name  string
		now   string
		st    room.State
		cfg   Config
		next  []string
		offer string
	}{
		{name: "before the offer", now: "08:54", cfg: touch, next: []string{"holiday", "a", "teams", "p", "b", "late"}},
		{name: "offer from start minus offer_before", now: "08:55", cfg: touch, next: []string{"holiday", "a", "teams", "p", "b", "late"}, offer: "a"},
		{name: "the offer stays while not joined", now: "09:50", cfg: touch, next: []string{"holiday", "a", "teams", "p", "b", "late"}, offer: "a"},
		{name: "of two at once, the one the room is not in", now: "09:50", st: in(mA, room.FromPanel, room.InCall), cfg: touch, next: []string{"holiday", "a", "teams", "p", "b", "late"}, offer: "p"},
		{name: "the next meeting's offer wins", now: "09:55", cfg: touch, next: []string{"holiday", "a", "teams", "p", "b", "late"}, offer: "b"},
		{name: "no offer for the meeting the room is in", now: "10:10", st: in(mB, room.FromPanel, room.InCall), cfg: touch, next: []string{"holiday", "b", "late"}},
		{name: "offer expires at the end", now: "11:00", cfg: touch, next: []string{"holiday", "late"}},
		{name: "manual offers nothing", now: "09:10", cfg: Config{Mode: ModeManual}, next: []string{"holiday", "a", "teams", "p", "b", "late"}},
		{name: "horizon", now: "09:10", cfg: Config{Mode: ModeOneTouch, Horizon: Duration(2 * time.Hour)}, next: []string{"holiday", "a", "teams", "p", "b"}, offer: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Plan(at(tt.now), all, tt.st, tt.cfg, trusted)
			var next []string
			for _, m := range d.Report.Next {
				next = append(next, m.ID)
				if m.Passcode != "" {
					t.Errorf("next meeting %s carries its passcode", m.ID)
				}
			}
			if !slices.Equal(next, tt.next) {
				t.Errorf("Next = %v, want %v", next, tt.next)
			}
			if d.Report.Offer.ID != tt.offer {
				t.Errorf("Offer = %q, want %q", d.Report.Offer.ID, tt.offer)
			}
			if tt.offer != "" && d.Report.Offer.Passcode != "pin-"+tt.offer {
				t.Errorf("the offer lacks its passcode, so one-touch could not join: %+v", d.Report.Offer)
			}
		})
	}
}

func TestPlanPrivacy(t *testing.T) {
	meetings := []Occurrence{mA, mPrivate, mTeams, func() Occurrence { o := mB; o.Title = ""; return o }()}
	for _, tt := range []struct {
		show bool
		want []string
	}{
		{false, []string{"Private meeting", "Private meeting", "Private meeting", "Private meeting"}},
		{true, []string{"Standup", "Private meeting", "Teams call", "Untitled meeting"}},
	} {
		cfg := Config{Mode: ModeAuto, ShowTitles: tt.show}
		d := Plan(at("08:59"), meetings, room.State{}, cfg, trusted)
		var titles []string
		for _, m := range d.Report.Next {
			titles = append(titles, m.Title)
			if m.ID == "teams" && m.URI != "" {
				t.Errorf("a meeting roomd cannot join is listed with a link %q", m.URI)
			}
		}
		if !slices.Equal(titles, tt.want) {
			t.Errorf("show_titles=%v: titles %q, want %q", tt.show, titles, tt.want)
		}
		if d.Join.Title != tt.want[0] {
			t.Errorf("show_titles=%v: joined with title %q, want %q", tt.show, d.Join.Title, tt.want[0])
		}
	}
}

func TestPlanStale(t *testing.T) {
	since := at("07:00")
	d := Plan(at("08:00"), day, room.State{}, auto, Memory{StaleSince: since})
	if !d.Report.StaleSince.Equal(since) {
		t.Fatalf("StaleSince = %v, want %v", d.Report.StaleSince, since)
	}
}

func TestPlanUnsorted(t *testing.T) {
	d := Plan(at("08:59"), []Occurrence{mLate, mB, mA}, room.State{}, auto, trusted)
	if d.Join.ID != "a" || len(d.Report.Next) != 3 || d.Report.Next[0].ID != "a" {
		t.Fatalf("unsorted input: join %q next %v", d.Join.ID, d.Report.Next)
	}
}
