package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestDurationDays: durations in the [schedule] table take whole days
// before the rest, so docs/schedule.md's "14d" horizon is accepted, and a
// horizon over 14 days is still refused.
func TestDurationDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "14d", want: 14 * 24 * time.Hour},
		{in: "1d", want: 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "0d30m", want: 30 * time.Minute},
		{in: "d", bad: true},
		{in: "1.5d", bad: true},
		{in: "-1d", bad: true},
		{in: "+1d", bad: true},
		{in: "1d-2h", bad: true},
		{in: "1dd", bad: true},
		{in: "1d2", bad: true},
		{in: "14 d", bad: true},
		{in: "", bad: true},
	} {
		var d Duration
		err := d.UnmarshalText([]byte(tc.in))
		switch {
		case tc.bad && err == nil:
			t.Errorf("%q: read as %v, want an error", tc.in, time.Duration(d))
		case !tc.bad && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case !tc.bad && time.Duration(d) != tc.want:
			t.Errorf("%q: %v, want %v", tc.in, time.Duration(d), tc.want)
		}
	}

	var c struct {
		Schedule Config `toml:"schedule"`
	}
	if _, err := toml.Decode("[schedule]\nhorizon = \"14d\"\n", &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Schedule.Validate(); err != nil || time.Duration(c.Schedule.Horizon) != 14*24*time.Hour {
		t.Errorf("horizon \"14d\": %v, %v", time.Duration(c.Schedule.Horizon), err)
	}
	if _, err := toml.Decode("[schedule]\nhorizon = \"15d\"\n", &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Schedule.Validate(); err == nil || !strings.Contains(err.Error(), "horizon") {
		t.Errorf("horizon \"15d\" accepted: %v", err)
	}
}
