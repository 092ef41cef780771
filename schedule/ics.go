package schedule

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/roomd/roomd/meetinglink/invite"
)

const (
	maxOccurrences = 5000      // occurrences returned per window
	maxTotalYields = 2_000_000 // rule instances looked at per window, all series
	maxLength      = 400 * 24 * time.Hour
	maxJoinable    = 24 * time.Hour    // longer events are shown, never joined
	parseBudget    = 2 * time.Second   // wall time for checking one feed's rules
	expandBudget   = 2 * time.Second   // wall time for one window's expansion
	maxTitle       = 200               // runes
	maxUID         = 1024              // bytes used to tell events apart
	privateTitle   = "Private meeting" // shown instead of titles kept private
	untitled       = "Untitled meeting"
)

// Reasons an occurrence cannot be joined, besides its link's.
const (
	whyCancelled = "cancelled"
	whyAllDay    = "all-day event"
	whyNoLength  = "the event has no duration"
	whyTooLong   = "longer than 24 hours"
)

// Occurrence is one meeting on the calendar: a single event or one
// instance of a recurring series.
type Occurrence struct {
	// ID names this occurrence across refreshes: it is made from the
	// event's UID and, for an instance of a series, the instance's
	// original start, so a moved instance keeps its ID.
	ID        string    `json:"id"`
	UID       string    `json:"uid"`
	Title     string    `json:"title"`
	Start     time.Time `json:"start"` // in the event's zone
	End       time.Time `json:"end"`
	AllDay    bool      `json:"all_day,omitempty"`
	Cancelled bool      `json:"cancelled,omitempty"`
	Private   bool      `json:"private,omitempty"` // CLASS:PRIVATE or CONFIDENTIAL: the title is never shown
	Link      Link      `json:"link"`
	Joinable  bool      `json:"joinable"`
	Why       string    `json:"why,omitempty"` // why it cannot be joined
}

// Calendar is a parsed iCalendar feed, ready to be expanded over any
// window. It is safe for concurrent use.
type Calendar struct {
	zone     *time.Location
	series   []*series
	problems []string
}

// when is a DATE or DATE-TIME value: a wall-clock reading (carried in a
// UTC time) and the zone it is read in.
type when struct {
	wall time.Time
	loc  *time.Location
	date bool
}

func (w when) instant() time.Time { return wallTime(w.wall, w.loc) }

// length is how long each instance of an event lasts: nominal days (wall
// clock) plus an exact duration, per RFC 5545 §3.8.5.3.
type length struct {
	days  int
	exact time.Duration
}

func (l length) end(start time.Time, loc *time.Location) time.Time {
	if l.days != 0 {
		start = wallTime(wall(start.In(loc)).AddDate(0, 0, l.days), loc)
	}
	return start.Add(l.exact)
}

func (l length) bound() time.Duration {
	return min(time.Duration(l.days)*24*time.Hour+l.exact+time.Hour, maxLength)
}

type event struct {
	uid       string // as in the feed, cut to maxUID
	seq       int
	title     string
	private   bool
	cancelled bool
	start     when
	length    length
	link      Link
	rid       *when // RECURRENCE-ID of an override
	rule      *rrule.ROption
	rdates    []when
	exT       map[int64]bool  // excluded instants (Unix seconds)
	exD       map[string]bool // excluded dates
}

type series struct {
	uid       string
	master    *event
	overrides map[string]*event // by recurrence key
	order     []string          // override keys in feed order
}

// ParseICS parses an iCalendar feed. Floating times and all-day dates are
// read in zone (nil means UTC). Events that cannot be read are left out
// and listed by Problems; the error is for feeds that are not iCalendar
// at all. Meeting links are found without dial rules; the Runner uses
// its configuration's.
func ParseICS(data []byte, zone *time.Location) (*Calendar, error) {
	return parseICS(data, zone, invite.DialRules{})
}

// parseICS is ParseICS with the organisation's dial rules.
func parseICS(data []byte, zone *time.Location, rules invite.DialRules) (*Calendar, error) {
	if zone == nil {
		zone = time.UTC
	}
	pr := &problems{}
	cleaned, err := clean(data, pr)
	if err != nil {
		return nil, err
	}
	cals, err := decodeAll(cleaned)
	if len(cals) == 0 {
		if err == nil {
			err = errors.New("no calendar")
		}
		return nil, fmt.Errorf("schedule: the feed is not readable iCalendar: %v", err)
	}
	if err != nil {
		pr.add("the feed is damaged after its first calendar: %v", err)
	}

	defs := map[string]*ical.Component{}
	for _, cal := range cals {
		for _, c := range cal.Children {
			if c.Name == ical.CompTimezone {
				if id := propValue(c, "TZID"); id != "" && defs[id] == nil {
					defs[id] = c
				}
			}
		}
	}
	p := &parser{zones: newZones(defs, zone, pr), room: zone, pr: pr, rules: rules,
		budget: &budget{deadline: time.Now().Add(parseBudget)}}
	byUID := map[string]*series{}
	c := &Calendar{zone: zone}
	for _, cal := range cals {
		for _, comp := range cal.Children {
			if comp.Name != ical.CompEvent {
				continue
			}
			e, err := p.event(comp)
			if err != nil {
				pr.add("%v", err)
				continue
			}
			s := byUID[e.uid]
			if s == nil {
				s = &series{uid: e.uid, overrides: map[string]*event{}}
				byUID[e.uid] = s
				c.series = append(c.series, s)
			}
			s.add(e)
		}
	}
	for _, s := range c.series {
		s.index()
	}
	c.problems = pr.done()
	return c, nil
}

// Problems lists what was wrong with the feed: events left out, rules not
// expanded, zones not known. It never includes titles or links.
func (c *Calendar) Problems() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.problems)
}

func decodeAll(b []byte) (cals []*ical.Calendar, err error) {
	defer func() {
		// go-ical panics on some input clean lets through unnoticed.
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder failed: %v", r)
		}
	}()
	dec := ical.NewDecoder(bytes.NewReader(b))
	for {
		cal, err := dec.Decode()
		if err == io.EOF {
			return cals, nil
		}
		if err != nil {
			return cals, err
		}
		cals = append(cals, cal)
	}
}

type parser struct {
	zones  *zones
	room   *time.Location
	pr     *problems
	budget *budget
	rules  invite.DialRules
}

func (p *parser) event(c *ical.Component) (*event, error) {
	e := &event{}
	e.uid = textValue(c, "UID")
	if len(e.uid) > maxUID {
		e.uid = e.uid[:maxUID]
	}
	ds := c.Props.Get("DTSTART")
	if e.uid == "" {
		sum := sha256.Sum256([]byte(propValue(c, "DTSTART") + "\x00" + textValue(c, "SUMMARY")))
		e.uid = "no-uid-" + hex.EncodeToString(sum[:8])
		p.pr.add("an event has no UID; it is known as %s", e.uid)
	}
	name := "event " + quote(e.uid)
	if ds == nil {
		return nil, fmt.Errorf("%s has no DTSTART; left out", name)
	}
	var err error
	if e.start, err = p.when(ds, ds.Value); err != nil {
		return nil, fmt.Errorf("%s: DTSTART %v; left out", name, err)
	}
	if rid := c.Props.Get("RECURRENCE-ID"); rid != nil {
		w, err := p.when(rid, rid.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: RECURRENCE-ID %v; left out", name, err)
		}
		e.rid = &w
	}
	e.length = p.length(c, e.start, name)
	e.title = cleanText(textValue(c, "SUMMARY"), maxTitle)
	switch strings.ToUpper(strings.TrimSpace(propValue(c, "CLASS"))) {
	case "PRIVATE", "CONFIDENTIAL":
		e.private = true
	}
	e.cancelled = strings.EqualFold(strings.TrimSpace(propValue(c, "STATUS")), "CANCELLED")
	if n, err := strconv.Atoi(strings.TrimSpace(propValue(c, "SEQUENCE"))); err == nil {
		e.seq = n
	}
	var fields []string
	for _, k := range []string{"URL", "CONFERENCE", "X-GOOGLE-CONFERENCE", "X-MICROSOFT-SKYPETEAMSMEETINGURL"} {
		for _, pv := range c.Props.Values(k) {
			fields = append(fields, pv.Value)
		}
	}
	e.link = FindDial(invite.Event{URLs: fields, Location: textValue(c, "LOCATION"),
		Description: textValue(c, "DESCRIPTION"), HTML: htmlValue(c, "X-ALT-DESC")}, p.rules)

	if e.rid != nil {
		return e, nil // an override is one instance; its rules would be ignored
	}
	if rr := c.Props.Get("RRULE"); rr != nil {
		if p.budget.expired() {
			p.pr.add("%s: %v; only its first instance is shown", name, errNoBudget)
		} else if o, err := parseRule(rr.Value, e.start.wall, e.start.loc, e.start.date); err != nil {
			p.pr.add("%s: %v; only its first instance is shown", name, err)
		} else {
			e.rule = &o
		}
	}
	n := 0
	for _, pv := range c.Props.Values("RDATE") {
		for _, v := range strings.Split(pv.Value, ",") {
			if n++; n > maxMultiple {
				break
			}
			v, _, _ = strings.Cut(v, "/") // a PERIOD's start
			w, err := p.when(&pv, v)
			if err != nil {
				p.pr.add("%s: RDATE %v; ignored", name, err)
				continue
			}
			// Instances share the series' zone and kind.
			w.wall = wall(w.instant().In(e.start.loc))
			w.loc, w.date = e.start.loc, e.start.date
			e.rdates = append(e.rdates, w)
		}
	}
	e.exT, e.exD = map[int64]bool{}, map[string]bool{}
	n = 0
	for _, pv := range c.Props.Values("EXDATE") {
		for _, v := range strings.Split(pv.Value, ",") {
			if n++; n > maxMultiple {
				break
			}
			w, err := p.when(&pv, v)
			if err != nil {
				p.pr.add("%s: EXDATE %v; ignored", name, err)
				continue
			}
			if w.date || e.start.date {
				e.exD[dateKey(w.wall)] = true
			} else {
				e.exT[w.instant().Unix()] = true
			}
		}
	}
	return e, nil
}

// when reads one DATE or DATE-TIME value of prop (a property may carry a
// list). Floating times and dates are read in the room's zone.
func (p *parser) when(prop *ical.Prop, v string) (when, error) {
	w, kind, err := parseWall(v)
	if err != nil {
		return when{}, err
	}
	if strings.EqualFold(prop.Params.Get("VALUE"), "DATE") && kind != kindDate {
		return when{}, fmt.Errorf("value %s is not a date", quote(v))
	}
	switch kind {
	case kindDate:
		return when{wall: w, loc: p.room, date: true}, nil
	case kindUTC:
		return when{wall: w, loc: time.UTC}, nil
	}
	if tz := prop.Params.Get("TZID"); tz != "" {
		return when{wall: w, loc: p.zones.location(tz)}, nil
	}
	return when{wall: w, loc: p.room}, nil
}

func (p *parser) length(c *ical.Component, start when, name string) length {
	if de := c.Props.Get("DTEND"); de != nil {
		end, err := p.when(de, de.Value)
		switch {
		case err != nil:
			p.pr.add("%s: DTEND %v; ignored", name, err)
		case start.date:
			days := int(dayNumber(end.wall) - dayNumber(start.wall))
			if days < 1 {
				p.pr.add("%s ends before it starts; shown as one day", name)
				days = 1
			}
			return length{days: min(days, int(maxLength/(24*time.Hour)))}
		default:
			d := end.instant().Sub(start.instant())
			if d < 0 {
				p.pr.add("%s ends before it starts", name)
				d = 0
			}
			return length{exact: min(d, maxLength)}
		}
	}
	if du := c.Props.Get("DURATION"); du != nil {
		l, err := parseDuration(du.Value)
		if err != nil {
			p.pr.add("%s: DURATION %v; ignored", name, err)
		} else {
			if start.date && l.days == 0 {
				l.days = 1
			}
			return l
		}
	}
	if start.date {
		return length{days: 1}
	}
	return length{}
}

// add files an event under its series; of two versions of the same event
// the higher SEQUENCE wins, and on a tie the later one.
func (s *series) add(e *event) {
	if e.rid == nil {
		if s.master == nil || e.seq >= s.master.seq {
			s.master = e
		}
		return
	}
	k := ridKey(*e.rid, false)
	if old := s.overrides[k]; old == nil || e.seq >= old.seq {
		if old == nil {
			s.order = append(s.order, k)
		}
		s.overrides[k] = e
	}
}

// index re-files overrides by the key instances are looked up with, which
// depends on whether the master is all-day.
func (s *series) index() {
	if s.master == nil || !s.master.start.date {
		return
	}
	ov := map[string]*event{}
	var order []string
	for _, k := range s.order {
		e := s.overrides[k]
		nk := ridKey(*e.rid, true)
		if old := ov[nk]; old == nil || e.seq >= old.seq {
			if old == nil {
				order = append(order, nk)
			}
			ov[nk] = e
		}
	}
	s.overrides, s.order = ov, order
}

func ridKey(w when, masterDate bool) string {
	if w.date || masterDate {
		return dateKey(w.wall)
	}
	return timeKey(w.instant())
}

func dateKey(w time.Time) string  { return w.Format("D20060102") }
func timeKey(t time.Time) string  { return "T" + strconv.FormatInt(t.Unix(), 10) }
func dayNumber(w time.Time) int64 { return w.Unix() / 86400 }

// Occurrences returns the occurrences that overlap [from, to), cancelled
// ones included (marked), ordered by start.
func (c *Calendar) Occurrences(from, to time.Time) []Occurrence {
	if c == nil || !from.Before(to) {
		return nil
	}
	b := &budget{deadline: time.Now().Add(expandBudget)}
	var out []Occurrence
	emit := func(o Occurrence) {
		if o.Start.Before(to) && (o.End.After(from) || o.End.Equal(o.Start) && !o.Start.Before(from)) {
			out = append(out, o)
		}
	}
	for _, s := range c.series {
		if len(out) > 4*maxOccurrences || b.expired() {
			break
		}
		s.occurrences(from, to, b, emit)
	}
	slices.SortFunc(out, func(a, b Occurrence) int {
		return cmp.Or(a.Start.Compare(b.Start), a.End.Compare(b.End), strings.Compare(a.ID, b.ID))
	})
	out = slices.CompactFunc(out, func(a, b Occurrence) bool { return a.ID == b.ID })
	if len(out) > maxOccurrences {
		out = out[:maxOccurrences]
	}
	return out
}

func (s *series) occurrences(from, to time.Time, b *budget, emit func(Occurrence)) {
	m := s.master
	used := map[string]bool{}
	switch {
	case m == nil:
	case m.rule == nil && len(m.rdates) == 0:
		o := m
		if ov := s.overrides[ridKey(m.start, false)]; ov != nil {
			o, used[ridKey(m.start, false)] = ov, true
		}
		emit(o.occurrence(s.uid, "", o.start.instant(), m.cancelled))
	default:
		loc := m.start.loc
		fromW := wall(from.Add(-m.length.bound()).In(loc)).AddDate(0, 0, -1)
		toW := wall(to.In(loc)).AddDate(0, 0, 1)
		var walls []time.Time
		if !m.start.wall.Before(fromW) && !m.start.wall.After(toW) {
			walls = append(walls, m.start.wall) // DTSTART is always the first instance
		}
		if m.rule != nil {
			got, _ := expandRule(*m.rule, fromW, toW, maxPerSeries, b)
			walls = append(walls, got...)
		}
		for _, r := range m.rdates {
			if !r.wall.Before(fromW) && !r.wall.After(toW) {
				walls = append(walls, r.wall)
			}
		}
		slices.SortFunc(walls, time.Time.Compare)
		walls = slices.Compact(walls)
		for _, w := range walls {
			inst := wallTime(w, loc)
			if m.start.date {
				if m.exD[dateKey(w)] {
					continue
				}
			} else if m.exT[inst.Unix()] || m.exD[dateKey(w)] {
				continue
			}
			key := timeKey(inst)
			if m.start.date {
				key = dateKey(w)
			}
			ov, k := s.overrides[key], key
			if ov == nil && !m.start.date {
				ov, k = s.overrides[dateKey(w)], dateKey(w)
			}
			if ov != nil {
				used[k] = true
				emit(ov.occurrence(s.uid, key, ov.start.instant(), m.cancelled))
				continue
			}
			emit(m.occurrence(s.uid, key, inst, false))
		}
	}
	// Overrides whose original instance is outside the range looked at (or
	// has no master at all) stand on their own.
	for _, k := range s.order {
		if !used[k] {
			emit(s.overrides[k].occurrence(s.uid, k, s.overrides[k].start.instant(), m != nil && m.cancelled))
		}
	}
}

// occurrence makes the occurrence of e starting at start; key is the
// recurrence key ("" for a single event) and seriesCancelled says the
// whole series is cancelled.
func (e *event) occurrence(uid, key string, start time.Time, seriesCancelled bool) Occurrence {
	loc := e.start.loc
	start = start.In(loc)
	end := e.length.end(start, loc).In(loc)
	sum := sha256.Sum256([]byte(uid + "\x00" + key))
	o := Occurrence{
		ID:        "cal-" + hex.EncodeToString(sum[:8]),
		UID:       cleanText(uid, 256),
		Title:     e.title,
		Start:     start,
		End:       end,
		AllDay:    e.start.date,
		Cancelled: e.cancelled || seriesCancelled,
		Private:   e.private,
		Link:      e.link,
	}
	switch {
	case o.Cancelled:
		o.Why = whyCancelled
	case o.AllDay:
		o.Why = whyAllDay
	case !o.Link.Joinable:
		o.Why = o.Link.Why
	case !end.After(start):
		o.Why = whyNoLength
	case end.Sub(start) > maxJoinable:
		o.Why = whyTooLong
	default:
		o.Joinable = true
	}
	return o
}

// Value kinds.
const (
	kindDate = iota
	kindFloating
	kindUTC
)

// parseWall reads a DATE (20250304), a floating or zoned DATE-TIME
// (20250304T090000) or a UTC DATE-TIME (20250304T080000Z).
func parseWall(v string) (time.Time, int, error) {
	v = strings.TrimSpace(v)
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	var layout string
	kind := kindFloating
	switch {
	case len(v) == 8 && digits(v):
		layout, kind = "20060102", kindDate
	case len(v) == 15 && v[8] == 'T' && digits(v[:8]) && digits(v[9:]):
		layout = "20060102T150405"
	case len(v) == 16 && v[8] == 'T' && v[15] == 'Z' && digits(v[:8]) && digits(v[9:15]):
		layout, kind = "20060102T150405Z", kindUTC
		v = v[:15] + "Z"
	default:
		return time.Time{}, 0, fmt.Errorf("%s is not a date or time", quote(v))
	}
	t, err := time.ParseInLocation(layout, v, time.UTC)
	if err != nil || t.Year() < 1 {
		return time.Time{}, 0, fmt.Errorf("%s is not a date or time", quote(v))
	}
	return t, kind, nil
}

// parseDuration reads an RFC 5545 duration: P1W, P1D, PT1H30M, P1DT2H.
func parseDuration(v string) (length, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	bad := fmt.Errorf("%s is not a duration", quote(v))
	s = strings.TrimPrefix(s, "+")
	if strings.HasPrefix(s, "-") {
		return length{}, fmt.Errorf("%s is negative", quote(v))
	}
	s, ok := strings.CutPrefix(s, "P")
	if !ok || s == "" {
		return length{}, bad
	}
	var l length
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			if inTime || len(s) == 1 {
				return length{}, bad
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 || i == len(s) {
			return length{}, bad
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		switch {
		case !inTime && unit == 'W':
			l.days += 7 * n
		case !inTime && unit == 'D':
			l.days += n
		case inTime && unit == 'H':
			l.exact += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			l.exact += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			l.exact += time.Duration(n) * time.Second
		default:
			return length{}, bad
		}
	}
	l.days = min(l.days, int(maxLength/(24*time.Hour)))
	l.exact = min(l.exact, maxLength)
	return l, nil
}

func propValue(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

// textValue is a TEXT property, unescaped leniently: feeds in the wild
// escape more (and less) than RFC 5545 allows.
// htmlValue is an HTML property's text (X-ALT-DESC;FMTTYPE=text/html), ""
// for any other format.
func htmlValue(c *ical.Component, name string) string {
	p := c.Props.Get(name)
	if p == nil || !strings.EqualFold(strings.TrimSpace(p.Params.Get("FMTTYPE")), "text/html") {
		return ""
	}
	return textValue(c, name)
}

func textValue(c *ical.Component, name string) string {
	v := propValue(c, name)
	if !strings.Contains(v, `\`) {
		return strings.TrimSpace(v)
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(v[i])
		}
	}
	return strings.TrimSpace(b.String())
}

// cleanText makes text safe to show on one line: valid UTF-8, no control
// characters, single spaces, at most max runes.
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

// quote shows a value from a feed in a problem or log line, cut short.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}
