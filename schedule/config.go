package schedule

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roomd/roomd/meetinglink/invite"
)

// Mode says what the room does with the meetings on its calendar.
type Mode string

// Modes.
const (
	// ModeAuto joins each joinable meeting by itself at its start minus
	// JoinLead and leaves at its end plus LeaveGrace; a Join offer is
	// shown too, for rejoining.
	ModeAuto Mode = "auto"
	// ModeOneTouch shows a Join offer from OfferBefore ahead of the start
	// until the end; someone in the room presses Join.
	ModeOneTouch Mode = "one-touch"
	// ModeManual only lists the meetings.
	ModeManual Mode = "manual"
)

// Config is the [schedule] table of roomd's configuration file; zero
// fields take the defaults (see docs/schedule.md).
type Config struct {
	// URL is the iCalendar feed, https:// (webcal:// is read as https://).
	// Empty: only a calendar from the fleet configuration is used.
	URL string `toml:"url" json:"url,omitempty"`
	// CAFile is a PEM bundle of CA certificates trusted for the feeds
	// beside the system's roots: a calendar server behind a private CA.
	CAFile      string   `toml:"ca_file" json:"ca_file,omitempty"`
	Mode        Mode     `toml:"mode" json:"mode,omitempty"`                 // default one-touch
	JoinLead    Duration `toml:"join_lead" json:"join_lead,omitempty"`       // default 1m
	OfferBefore Duration `toml:"offer_before" json:"offer_before,omitempty"` // default 5m
	LeaveGrace  Duration `toml:"leave_grace" json:"leave_grace,omitempty"`   // default 2m
	// ShowTitles shows meeting titles on the room's surfaces; otherwise
	// each is "Private meeting". Events marked CLASS:PRIVATE or
	// CONFIDENTIAL are never shown by title.
	ShowTitles bool `toml:"show_titles" json:"show_titles,omitempty"`
	// RoomZone is the IANA zone floating times and all-day events are read
	// in; empty means the system's zone.
	RoomZone string   `toml:"room_zone" json:"room_zone,omitempty"`
	Refresh  Duration `toml:"refresh" json:"refresh,omitempty"` // feed refresh interval, default 5m, ±10% jitter
	Horizon  Duration `toml:"horizon" json:"horizon,omitempty"` // how far ahead meetings are listed, default 24h
	// DialRules turn meeting IDs in invitations into SIP addresses
	// (a Zoom connector, a Teams CVI pattern, …); none by default.
	DialRules invite.DialRules `toml:"dial_rules" json:"dial_rules"`
}

// Defaults.
const (
	DefaultJoinLead    = time.Minute
	DefaultOfferBefore = 5 * time.Minute
	DefaultLeaveGrace  = 2 * time.Minute
	DefaultRefresh     = 5 * time.Minute
	DefaultHorizon     = 24 * time.Hour
)

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeOneTouch
	}
	set := func(d *Duration, def time.Duration) {
		if *d == 0 {
			*d = Duration(def)
		}
	}
	set(&c.JoinLead, DefaultJoinLead)
	set(&c.OfferBefore, DefaultOfferBefore)
	set(&c.LeaveGrace, DefaultLeaveGrace)
	set(&c.Refresh, DefaultRefresh)
	set(&c.Horizon, DefaultHorizon)
	return c
}

// Validate checks every key and reports all problems at once.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	switch c.Mode {
	case ModeAuto, ModeOneTouch, ModeManual:
	default:
		errs = append(errs, fmt.Errorf("schedule: mode %q is not one of auto, one-touch, manual", string(c.Mode)))
	}
	if c.URL != "" {
		if _, err := feedURL(c.URL); err != nil {
			errs = append(errs, err)
		}
	}
	within := func(name string, d Duration, lo, hi time.Duration) {
		if time.Duration(d) < lo || time.Duration(d) > hi {
			errs = append(errs, fmt.Errorf("schedule: %s %v is not between %v and %v", name, time.Duration(d), lo, hi))
		}
	}
	within("join_lead", c.JoinLead, 0, time.Hour)
	within("offer_before", c.OfferBefore, 0, 2*time.Hour)
	within("leave_grace", c.LeaveGrace, 0, time.Hour)
	within("refresh", c.Refresh, time.Minute, 24*time.Hour)
	within("horizon", c.Horizon, time.Hour, 14*24*time.Hour)
	if _, err := c.Location(); err != nil {
		errs = append(errs, err)
	}
	if err := c.DialRules.Validate(); err != nil {
		each := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			each = j.Unwrap()
		}
		for _, e := range each {
			errs = append(errs, fmt.Errorf("schedule: %w", e))
		}
	}
	return errors.Join(errs...)
}

// Location returns the room's zone.
func (c Config) Location() (*time.Location, error) {
	if c.RoomZone == "" {
		return time.Local, nil
	}
	loc := iana(c.RoomZone)
	if loc == nil {
		return nil, fmt.Errorf("schedule: room_zone %q is not an IANA time zone such as \"Europe/Berlin\"", c.RoomZone)
	}
	return loc, nil
}

// feedURL checks a feed URL; webcal:// is https:// by another name.
func feedURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("schedule: url is not a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "webcal", "webcals":
		u.Scheme = "https"
	case "https":
	default:
		return nil, fmt.Errorf("schedule: url must start with https:// or webcal://, not %s://", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("schedule: url has no host")
	}
	return u, nil
}

// redact shows a feed URL without what may be a secret (path and query
// of published calendars often are).
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// Duration is a time.Duration written as "5m" in configuration files.
type Duration time.Duration

// UnmarshalText reads "90s", "5m", "1h30m", and whole days before the
// rest: "14d", "1d12h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseConfigDuration(string(b))
	if err != nil {
		return fmt.Errorf("schedule: %q is not a duration such as \"5m\" or \"14d\"", string(b))
	}
	*d = Duration(v)
	return nil
}

// parseConfigDuration is time.ParseDuration with an optional leading count of
// days ("14d", "1d12h"), which Go's durations lack.
func parseConfigDuration(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseUint(days, 10, 16)
	if err != nil || days == "" || days[0] == '+' {
		return 0, fmt.Errorf("schedule: %q: days must be a whole number", s)
	}
	v := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return v, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 {
		return 0, fmt.Errorf("schedule: %q: after the days, a duration such as \"12h\"", s)
	}
	return v + r, nil
}

// MarshalText writes the duration as "5m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
