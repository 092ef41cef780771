package schedule

import (
	"slices"
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

// Moving DTSTART forward (periodStart) must not change a rule's instances.
func TestExpandRuleMatchesRRule(t *testing.T) {
	rules := []string{
		"FREQ=DAILY",
		"FREQ=DAILY;INTERVAL=3",
		"FREQ=DAILY;INTERVAL=7;BYDAY=MO,FR",
		"FREQ=WEEKLY",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
		"FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,WE;WKST=SU",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYSETPOS=1",
		"FREQ=MONTHLY",
		"FREQ=MONTHLY;BYDAY=-1FR",
		"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31",
		"FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
		"FREQ=MONTHLY;INTERVAL=5;BYDAY=2WE;BYHOUR=9,15",
		"FREQ=YEARLY",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=YEARLY;INTERVAL=2;BYWEEKNO=20;BYDAY=MO",
		"FREQ=YEARLY;BYYEARDAY=-1,100",
		"FREQ=WEEKLY;UNTIL=20250610T090000Z",
	}
	starts := []time.Time{
		time.Date(2019, 1, 31, 9, 30, 0, 0, time.UTC),
		time.Date(2020, 2, 29, 17, 0, 0, 0, time.UTC),
		time.Date(2023, 12, 31, 8, 0, 0, 0, time.UTC),
		time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC),
	}
	from, to := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range rules {
		for _, d := range starts {
			ref, _ := rrule.StrToROption(s)
			ref.Dtstart = d
			rr, err := rrule.NewRRule(*ref)
			if err != nil {
				t.Fatal(err)
			}
			want := rr.Between(from, to, true)
			o, err := parseRule(s, d, time.UTC, false)
			if err == errNever && len(want) == 0 {
				continue // e.g. every 7 days from a Thursday, on Mondays and Fridays
			}
			if err != nil {
				t.Errorf("%s from %v: %v", s, d, err)
				continue
			}
			got, more := expandRule(o, from, to, maxPerSeries, nil)
			if more || !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("%s from %v: got %d instances (more %v), want %d\n got %v\nwant %v", s, d, len(got), more, len(want), head(got), head(want))
			}
		}
	}
}

func head(ts []time.Time) []time.Time { return ts[:min(len(ts), 5)] }

func TestParseRuleRefuses(t *testing.T) {
	d := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=HOURLY;INTERVAL=24;BYHOUR=5",
		"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1;BYMONTHDAY=1",
		"FREQ=DAILY;INTERVAL=100000", "FREQ=YEARLY;BYEASTER=0", "BYDAY=MO", "FREQ=DAILY;BYHOUR=25",
		"FREQ=DAILY;BYMINUTE=" + func() string {
			s := "0"
			for i := 1; i < 60; i++ {
				s += "," + string(rune('0'+i%10))
			}
			return s
		}() + ";BYHOUR=1,2,3,4,5,6,7,8,9,10,11,12",
		"FREQ=DAILY;DTSTART=20250101T000000Z", "FREQ=DAILY\nFREQ=WEEKLY",
	} {
		if _, err := parseRule(s, d, time.UTC, false); err == nil {
			t.Errorf("parseRule(%q) accepted", s)
		}
	}
}

func TestWallTime(t *testing.T) {
	ny := mustZone("America/New_York")
	for _, tt := range []struct {
		wall string
		loc  *time.Location
		want string
	}{
		{"2025-03-30 02:30", berlin, "2025-03-30T03:30:00+02:00"}, // skipped: the same distance after the change
		{"2025-10-26 02:30", berlin, "2025-10-26T02:30:00+02:00"}, // repeated: the first
		{"2025-03-09 02:15", ny, "2025-03-09T03:15:00-04:00"},
		{"2025-11-02 01:30", ny, "2025-11-02T01:30:00-04:00"},
		{"2025-07-01 12:00", berlin, "2025-07-01T12:00:00+02:00"},
	} {
		w, _ := time.Parse("2006-01-02 15:04", tt.wall)
		if got := wallTime(w, tt.loc).Format(time.RFC3339); got != tt.want {
			t.Errorf("wallTime(%s, %v) = %s, want %s", tt.wall, tt.loc, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]length{
		"PT1H30M": {exact: 90 * time.Minute}, "P1D": {days: 1}, "P2W": {days: 14}, "P1DT2H": {days: 1, exact: 2 * time.Hour},
		"+PT15S": {exact: 15 * time.Second}, "P99999999D": {}, "-PT1H": {}, "P": {}, "PT": {}, "P1H": {}, "PT1D": {},
	} {
		got, err := parseDuration(in)
		if (err != nil) != (want == length{}) || got != want {
			t.Errorf("parseDuration(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}
