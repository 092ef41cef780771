package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Recurrence rules are expanded on wall-clock readings carried in UTC
// times, and each reading is then placed in the event's zone with
// wallTime. That keeps a 09:00 series at 09:00 across DST changes and
// resolves skipped and repeated hours the way RFC 5545 says.

const (
	maxRuleLen    = 1024
	maxInterval   = 1000
	maxByList     = 400
	maxTimesDay   = 100    // BYHOUR × BYMINUTE × BYSECOND
	maxYields     = 100000 // rule instances looked at per series and window
	maxPerSeries  = 1000   // instances of one series in a window
	budgetEvery   = 16     // yields between looks at the clock (a rare rule walks many days per yield)
	probeFromYear = 9950
)

var (
	errNever      = errors.New("the recurrence rule never matches a day")
	errTooOften   = errors.New("repeats more often than daily, which roomd does not expand")
	errNoBudget   = errors.New("the calendar is too expensive to expand")
	rruleWeekdays = [...]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}
)

// budget bounds the work of one expansion across all series.
type budget struct {
	deadline time.Time
	yields   int
	spent    bool
}

func (b *budget) take() bool {
	if b == nil {
		return true
	}
	if b.spent {
		return false
	}
	b.yields++
	if b.yields > maxTotalYields || b.yields%budgetEvery == 0 && b.expired() {
		b.spent = true
	}
	return !b.spent
}

// expired looks at the clock; it marks the budget spent once past the
// deadline.
func (b *budget) expired() bool {
	if b == nil || b.deadline.IsZero() {
		return false
	}
	if !b.spent && time.Now().After(b.deadline) {
		b.spent = true
	}
	return b.spent
}

// parseRule reads an RRULE for a series starting at the wall-clock reading
// dtstart in loc, refuses rules that could make expansion expensive, and
// makes the defaults rrule-go derives from DTSTART explicit, so the start
// can later be moved forward without changing the instances.
func parseRule(raw string, dtstart time.Time, loc *time.Location, date bool) (rrule.ROption, error) {
	var zero rrule.ROption
	raw = strings.ToUpper(strings.TrimSpace(raw))
	if len(raw) > maxRuleLen {
		return zero, errors.New("the recurrence rule is too long")
	}
	if strings.ContainsAny(raw, "\n\r") {
		return zero, errors.New("the recurrence rule is not readable")
	}
	opt, err := rrule.StrToROptionInLocation(raw, time.UTC)
	if err != nil {
		return zero, fmt.Errorf("the recurrence rule is not readable: %v", err)
	}
	o := *opt
	switch o.Freq {
	case rrule.YEARLY, rrule.MONTHLY, rrule.WEEKLY, rrule.DAILY:
	default:
		return zero, errTooOften
	}
	if o.Interval < 0 || o.Interval > maxInterval {
		return zero, fmt.Errorf("the recurrence interval %d is out of range", o.Interval)
	}
	if o.Interval == 0 {
		o.Interval = 1
	}
	if o.Count < 0 {
		o.Count = 0
	}
	if len(o.Byeaster) > 0 {
		return zero, errors.New("BYEASTER is not part of iCalendar")
	}
	if !o.Dtstart.IsZero() {
		return zero, errors.New("DTSTART inside RRULE is not part of iCalendar")
	}
	for _, l := range []*[]int{&o.Bysetpos, &o.Bymonth, &o.Bymonthday, &o.Byyearday, &o.Byweekno, &o.Byhour, &o.Byminute, &o.Bysecond} {
		if len(*l) > maxByList {
			return zero, errors.New("the recurrence rule has too many values")
		}
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	if len(o.Byweekday) > maxByList {
		return zero, errors.New("the recurrence rule has too many values")
	}
	o.Byweekday = slices.CompactFunc(o.Byweekday, func(a, b rrule.Weekday) bool { return a == b })

	// UNTIL: a UTC instant becomes a wall-clock reading in the event's zone;
	// a date on a timed series includes that whole day.
	if !o.Until.IsZero() {
		switch v := untilValue(raw); {
		case strings.HasSuffix(v, "Z"):
			o.Until = wall(o.Until.In(loc))
		case len(v) == 8 && !date:
			o.Until = o.Until.Add(24*time.Hour - time.Second)
		}
	}

	// The defaults rrule-go would take from DTSTART.
	if len(o.Byweekno) == 0 && len(o.Byyearday) == 0 && len(o.Bymonthday) == 0 && len(o.Byweekday) == 0 {
		switch o.Freq {
		case rrule.YEARLY:
			if len(o.Bymonth) == 0 {
				o.Bymonth = []int{int(dtstart.Month())}
			}
			o.Bymonthday = []int{dtstart.Day()}
		case rrule.MONTHLY:
			o.Bymonthday = []int{dtstart.Day()}
		case rrule.WEEKLY:
			o.Byweekday = []rrule.Weekday{rruleWeekdays[dtstart.Weekday()]}
		}
	}
	if len(o.Byhour) == 0 {
		o.Byhour = []int{dtstart.Hour()}
	}
	if len(o.Byminute) == 0 {
		o.Byminute = []int{dtstart.Minute()}
	}
	if len(o.Bysecond) == 0 {
		o.Bysecond = []int{dtstart.Second()}
	}
	if len(o.Byhour)*len(o.Byminute)*len(o.Bysecond) > maxTimesDay {
		return zero, errors.New("the recurrence rule has too many times a day")
	}
	o.Dtstart = dtstart
	if _, err := rrule.NewRRule(o); err != nil {
		return zero, fmt.Errorf("the recurrence rule is not valid: %v", err)
	}
	if !possible(o) {
		return zero, errNever
	}
	return o, nil
}

func untilValue(raw string) string {
	for _, part := range strings.Split(raw, ";") {
		if v, ok := strings.CutPrefix(part, "UNTIL="); ok {
			return v
		}
	}
	return ""
}

// possible reports whether a rule matches any day at all. rrule-go looks
// for the next match day by day up to the year 9999, so a rule that never
// matches would cost a long walk every time; here it walks only the last
// fifty years.
func possible(o rrule.ROption) bool {
	o.Count, o.Until = 0, time.Time{}
	o.Dtstart = periodStart(o, time.Date(probeFromYear, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := rrule.NewRRule(o)
	if err != nil {
		return false
	}
	_, ok := r.Iterator()()
	return ok
}

// periodStart returns the start of the last recurrence period beginning at
// or before target that is a whole number of intervals after DTSTART, or
// DTSTART itself when there is none. With explicit defaults the rule yields
// the same instances from there on as it does from DTSTART.
func periodStart(o rrule.ROption, target time.Time) time.Time {
	d := o.Dtstart
	if !d.Before(target) {
		return d
	}
	n := max(o.Interval, 1)
	day := func(t time.Time) int64 { return t.Unix() / 86400 }
	midnight := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
	switch o.Freq {
	case rrule.DAILY:
		k := (day(target) - day(d)) / int64(n)
		if k == 0 {
			return d
		}
		return midnight(d.Year(), d.Month(), d.Day()).AddDate(0, 0, int(k)*n)
	case rrule.WEEKLY:
		k := (day(target) - day(d)) / int64(7*n)
		if k == 0 {
			return d
		}
		t := midnight(d.Year(), d.Month(), d.Day()).AddDate(0, 0, int(k)*7*n)
		wkst := o.Wkst.Day() // 0 = Monday
		back := (int(t.Weekday()) + 6 - wkst) % 7
		return t.AddDate(0, 0, -back)
	case rrule.MONTHLY:
		months := (target.Year()-d.Year())*12 + int(target.Month()) - int(d.Month())
		k := months / n
		if k == 0 {
			return d
		}
		return midnight(d.Year(), d.Month()+time.Month(k*n), 1)
	case rrule.YEARLY:
		k := (target.Year() - d.Year()) / n
		if k == 0 {
			return d
		}
		return midnight(d.Year()+k*n, 1, 1)
	}
	return d
}

// expandRule returns the wall-clock readings of the rule's instances in
// [from, to], at most limit of them; more reports whether it stopped early.
func expandRule(o rrule.ROption, from, to time.Time, limit int, b *budget) (got []time.Time, more bool) {
	if !o.Until.IsZero() && o.Until.Before(from) {
		return nil, false
	}
	if o.Count == 0 {
		o.Dtstart = periodStart(o, from)
	}
	r, err := rrule.NewRRule(o)
	if err != nil {
		return nil, false
	}
	next := r.Iterator()
	for i := 0; i < maxYields; i++ {
		if !b.take() {
			return got, true
		}
		t, ok := next()
		if !ok || t.After(to) {
			return got, false
		}
		if !t.Before(from) {
			if len(got) >= limit {
				return got, true
			}
			got = append(got, t)
		}
	}
	return got, true
}

// expandWall is expandRule for a rule given as text (a VTIMEZONE's
// observance), for a start and a range given as wall-clock readings.
func expandWall(raw string, dtstart, from, to time.Time, limit int) ([]time.Time, error) {
	o, err := parseRule(raw, dtstart, time.UTC, false)
	if err != nil {
		return nil, err
	}
	got, _ := expandRule(o, from, to, limit, nil)
	return got, nil
}

// wall returns t's wall-clock reading carried in a UTC time.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}
