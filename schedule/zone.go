package schedule

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	// Rooms run on minimal images; the calendar's zones must not depend on
	// the system's zoneinfo.
	_ "time/tzdata"
)

const maxZoneLookups = 200 // distinct TZIDs resolved per feed

// zones resolves the TZIDs of one feed: an IANA name as is, a Windows zone
// name or a vendor path ending in an IANA name through a table, and
// anything else from the feed's own VTIMEZONE definition.
type zones struct {
	defs    map[string]*ical.Component // VTIMEZONE by TZID
	cache   map[string]*time.Location
	room    *time.Location
	lookups int
	pr      *problems
}

func newZones(defs map[string]*ical.Component, room *time.Location, pr *problems) *zones {
	return &zones{defs: defs, cache: map[string]*time.Location{}, room: room, pr: pr}
}

// location returns the zone for tzid; an unknown zone is read as the
// room's, with a problem noted.
func (z *zones) location(tzid string) *time.Location {
	if loc, ok := z.cache[tzid]; ok {
		return loc
	}
	loc := z.resolve(tzid)
	if loc == nil {
		z.pr.add("unknown time zone %s; its times are read in the room's zone", quote(tzid))
		loc = z.room
	}
	z.cache[tzid] = loc
	return loc
}

func (z *zones) resolve(tzid string) *time.Location {
	if z.lookups++; z.lookups > maxZoneLookups {
		return nil
	}
	name := strings.Trim(strings.TrimSpace(tzid), `"`)
	if loc := iana(name); loc != nil {
		return loc
	}
	def := z.defs[tzid]
	if def != nil {
		if p := def.Props.Get("X-LIC-LOCATION"); p != nil {
			if loc := iana(strings.TrimSpace(p.Value)); loc != nil {
				return loc
			}
		}
	}
	if n, ok := windowsZones[name]; ok {
		return iana(n)
	}
	// Vendor prefixes: "/citadel.org/20190914_1/Europe/Berlin",
	// "/freeassociation.sourceforge.net/Tzfile/Europe/Berlin".
	for rest := name; ; {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if loc := iana(rest); loc != nil {
			return loc
		}
	}
	if def != nil {
		loc, err := fromVTimezone(name, def)
		if err != nil {
			z.pr.add("time zone %s: %v", quote(tzid), err)
			return nil
		}
		return loc
	}
	return nil
}

// iana loads an IANA zone by name; names that could reach outside the zone
// database are refused.
func iana(name string) *time.Location {
	if name == "" || len(name) > 64 || name == "Local" {
		return nil
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '/' || c == '_' || c == '-' || c == '+' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return nil
		}
	}
	if name[0] == '/' || strings.Contains(name, "//") {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// wallTime is the instant a wall-clock reading (carried in w's fields) names
// in loc, as RFC 5545 §3.3.5 says: a time skipped by a forward transition
// means the same distance after the transition, and a time that occurs
// twice means the first.
func wallTime(w time.Time, loc *time.Location) time.Time {
	naive := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
	if loc == time.UTC {
		return naive
	}
	_, before := naive.Add(-36 * time.Hour).In(loc).Zone()
	_, after := naive.Add(36 * time.Hour).In(loc).Zone()
	cands := []time.Time{naive.Add(-time.Duration(before) * time.Second), naive.Add(-time.Duration(after) * time.Second)}
	var valid []time.Time
	for _, c := range cands {
		l := c.In(loc)
		if l.Year() == w.Year() && l.YearDay() == w.YearDay() && l.Hour() == w.Hour() && l.Minute() == w.Minute() && l.Second() == w.Second() {
			valid = append(valid, c)
		}
	}
	switch {
	case len(valid) == 0: // skipped: read with the offset before the gap
		return cands[0].In(loc)
	case len(valid) == 2 && valid[1].Before(valid[0]):
		return valid[1].In(loc)
	}
	return valid[0].In(loc)
}

// fromVTimezone builds a zone from a VTIMEZONE's observances, by computing
// its transitions from 1970 to 2037 and handing them to the time package
// as TZif data.
func fromVTimezone(name string, def *ical.Component) (*time.Location, error) {
	type trans struct {
		at     int64
		offset int
		dst    bool
		abbr   string
	}
	var ts []trans
	var first *trans
	end := time.Date(2037, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, obs := range def.Children {
		if obs.Name != "STANDARD" && obs.Name != "DAYLIGHT" {
			continue
		}
		from, err1 := parseOffset(propValue(obs, "TZOFFSETFROM"))
		to, err2 := parseOffset(propValue(obs, "TZOFFSETTO"))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("an observance has no valid TZOFFSETFROM/TZOFFSETTO")
		}
		start, _, err := parseWall(propValue(obs, "DTSTART"))
		if err != nil {
			return nil, fmt.Errorf("an observance has no valid DTSTART")
		}
		onsets := []time.Time{start}
		if p := obs.Props.Get("RRULE"); p != nil {
			// Outlook starts its observances in 1601.
			from := start
			if y1970 := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC); from.Before(y1970) {
				from = y1970
			}
			got, err := expandWall(p.Value, start, from, end, 200)
			if err != nil {
				return nil, fmt.Errorf("observance rule: %w", err)
			}
			onsets = append(onsets, got...)
		}
		for _, p := range obs.Props.Values("RDATE") {
			for _, v := range strings.Split(p.Value, ",") {
				if w, _, err := parseWall(v); err == nil {
					onsets = append(onsets, w)
				}
			}
		}
		abbr := abbreviation(propValue(obs, "TZNAME"), to)
		for _, w := range onsets {
			if w.After(end) {
				continue
			}
			t := trans{at: w.Unix() - int64(from), offset: to, dst: obs.Name == "DAYLIGHT", abbr: abbr}
			if first == nil || t.at < first.at {
				f := t
				f.offset, f.dst = from, obs.Name != "DAYLIGHT"
				first = &f
			}
			ts = append(ts, t)
		}
	}
	if first == nil {
		return nil, fmt.Errorf("the VTIMEZONE has no usable observance")
	}
	slices.SortFunc(ts, func(a, b trans) int { return cmpInt64(a.at, b.at) })
	ts = slices.CompactFunc(ts, func(a, b trans) bool { return a.at == b.at })
	// TZif version 1 holds 32-bit times.
	ts = slices.DeleteFunc(ts, func(t trans) bool { return t.at < -1<<31 || t.at >= 1<<31 })
	if len(ts) > 1000 {
		ts = ts[:1000]
	}
	first.abbr = abbreviation("", first.offset)

	// Types: the zone before the first transition, then one per distinct
	// (offset, dst, abbreviation).
	type ttype struct {
		offset int
		dst    bool
		abbr   string
	}
	types := []ttype{{first.offset, first.dst, first.abbr}}
	idx := make([]byte, len(ts))
	for i, t := range ts {
		k := slices.Index(types, ttype{t.offset, t.dst, t.abbr})
		if k < 0 {
			if len(types) >= 255 {
				return nil, fmt.Errorf("the VTIMEZONE has too many kinds of time")
			}
			types = append(types, ttype{t.offset, t.dst, t.abbr})
			k = len(types) - 1
		}
		idx[i] = byte(k)
	}
	var chars bytes.Buffer
	abbrIdx := map[string]int{}
	for _, t := range types {
		if _, ok := abbrIdx[t.abbr]; !ok {
			abbrIdx[t.abbr] = chars.Len()
			chars.WriteString(t.abbr)
			chars.WriteByte(0)
		}
	}

	var b bytes.Buffer
	b.WriteString("TZif")
	b.WriteByte(0) // version 1
	b.Write(make([]byte, 15))
	for _, n := range []int{0, 0, 0, len(ts), len(types), chars.Len()} { // isut, isstd, leap, time, type, char
		binary.Write(&b, binary.BigEndian, uint32(n))
	}
	for _, t := range ts {
		binary.Write(&b, binary.BigEndian, int32(t.at))
	}
	b.Write(idx)
	for _, t := range types {
		binary.Write(&b, binary.BigEndian, int32(t.offset))
		if t.dst {
			b.WriteByte(1)
		} else {
			b.WriteByte(0)
		}
		b.WriteByte(byte(abbrIdx[t.abbr]))
	}
	b.Write(chars.Bytes())
	loc, err := time.LoadLocationFromTZData(name, b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("building the zone: %w", err)
	}
	return loc, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseOffset reads a UTC offset: +HHMM or +HHMMSS.
func parseOffset(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 || s[0] != '+' && s[0] != '-' {
		return 0, fmt.Errorf("bad UTC offset %s", quote(s))
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad UTC offset %s", quote(s))
		}
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	sec := 0
	if len(s) == 7 {
		sec, _ = strconv.Atoi(s[5:7])
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, fmt.Errorf("bad UTC offset %s", quote(s))
	}
	off := h*3600 + m*60 + sec
	if s[0] == '-' {
		off = -off
	}
	return off, nil
}

// abbreviation returns a TZif-safe zone abbreviation: the TZNAME when it
// is plain, or the offset written as "+0100".
func abbreviation(tzname string, offset int) string {
	ok := len(tzname) >= 3 && len(tzname) <= 6
	for i := 0; ok && i < len(tzname); i++ {
		c := tzname[i]
		ok = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-'
	}
	if ok {
		return tzname
	}
	sign := '+'
	if offset < 0 {
		sign, offset = '-', -offset
	}
	return fmt.Sprintf("%c%02d%02d", sign, offset/3600, offset/60%60)
}

// windowsZones maps the zone names Microsoft Exchange and Outlook write in
// TZID to IANA zones (from CLDR's windowsZones.xml, territory 001).
var windowsZones = map[string]string{
	"Dateline Standard Time":          "Etc/GMT+12",
	"UTC-11":                          "Etc/GMT+11",
	"Hawaiian Standard Time":          "Pacific/Honolulu",
	"Alaskan Standard Time":           "America/Anchorage",
	"Pacific Standard Time (Mexico)":  "America/Tijuana",
	"Pacific Standard Time":           "America/Los_Angeles",
	"US Mountain Standard Time":       "America/Phoenix",
	"Mountain Standard Time (Mexico)": "America/Mazatlan",
	"Mountain Standard Time":          "America/Denver",
	"Central America Standard Time":   "America/Guatemala",
	"Central Standard Time":           "America/Chicago",
	"Central Standard Time (Mexico)":  "America/Mexico_City",
	"Canada Central Standard Time":    "America/Regina",
	"SA Pacific Standard Time":        "America/Bogota",
	"Eastern Standard Time (Mexico)":  "America/Cancun",
	"Eastern Standard Time":           "America/New_York",
	"US Eastern Standard Time":        "America/Indianapolis",
	"Venezuela Standard Time":         "America/Caracas",
	"Atlantic Standard Time":          "America/Halifax",
	"SA Western Standard Time":        "America/La_Paz",
	"Central Brazilian Standard Time": "America/Cuiaba",
	"Pacific SA Standard Time":        "America/Santiago",
	"Newfoundland Standard Time":      "America/St_Johns",
	"E. South America Standard Time":  "America/Sao_Paulo",
	"Argentina Standard Time":         "America/Buenos_Aires",
	"SA Eastern Standard Time":        "America/Cayenne",
	"Greenland Standard Time":         "America/Godthab",
	"Montevideo Standard Time":        "America/Montevideo",
	"UTC-02":                          "Etc/GMT+2",
	"Azores Standard Time":            "Atlantic/Azores",
	"Cape Verde Standard Time":        "Atlantic/Cape_Verde",
	"UTC":                             "Etc/UTC",
	"Coordinated Universal Time":      "Etc/UTC",
	"GMT Standard Time":               "Europe/London",
	"Greenwich Standard Time":         "Atlantic/Reykjavik",
	"Morocco Standard Time":           "Africa/Casablanca",
	"W. Europe Standard Time":         "Europe/Berlin",
	"Central Europe Standard Time":    "Europe/Budapest",
	"Romance Standard Time":           "Europe/Paris",
	"Central European Standard Time":  "Europe/Warsaw",
	"W. Central Africa Standard Time": "Africa/Lagos",
	"GTB Standard Time":               "Europe/Bucharest",
	"Middle East Standard Time":       "Asia/Beirut",
	"Egypt Standard Time":             "Africa/Cairo",
	"E. Europe Standard Time":         "Europe/Chisinau",
	"South Africa Standard Time":      "Africa/Johannesburg",
	"FLE Standard Time":               "Europe/Kiev",
	"Israel Standard Time":            "Asia/Jerusalem",
	"Jordan Standard Time":            "Asia/Amman",
	"Turkey Standard Time":            "Europe/Istanbul",
	"Arabic Standard Time":            "Asia/Baghdad",
	"Arab Standard Time":              "Asia/Riyadh",
	"Russian Standard Time":           "Europe/Moscow",
	"E. Africa Standard Time":         "Africa/Nairobi",
	"Iran Standard Time":              "Asia/Tehran",
	"Arabian Standard Time":           "Asia/Dubai",
	"Azerbaijan Standard Time":        "Asia/Baku",
	"Georgian Standard Time":          "Asia/Tbilisi",
	"Afghanistan Standard Time":       "Asia/Kabul",
	"West Asia Standard Time":         "Asia/Tashkent",
	"Pakistan Standard Time":          "Asia/Karachi",
	"India Standard Time":             "Asia/Calcutta",
	"Sri Lanka Standard Time":         "Asia/Colombo",
	"Nepal Standard Time":             "Asia/Katmandu",
	"Central Asia Standard Time":      "Asia/Almaty",
	"Bangladesh Standard Time":        "Asia/Dhaka",
	"Myanmar Standard Time":           "Asia/Rangoon",
	"SE Asia Standard Time":           "Asia/Bangkok",
	"China Standard Time":             "Asia/Shanghai",
	"Singapore Standard Time":         "Asia/Singapore",
	"Taipei Standard Time":            "Asia/Taipei",
	"W. Australia Standard Time":      "Australia/Perth",
	"Tokyo Standard Time":             "Asia/Tokyo",
	"Korea Standard Time":             "Asia/Seoul",
	"Cen. Australia Standard Time":    "Australia/Adelaide",
	"AUS Central Standard Time":       "Australia/Darwin",
	"E. Australia Standard Time":      "Australia/Brisbane",
	"AUS Eastern Standard Time":       "Australia/Sydney",
	"Tasmania Standard Time":          "Australia/Hobart",
	"New Zealand Standard Time":       "Pacific/Auckland",
	"Fiji Standard Time":              "Pacific/Fiji",
	"Tonga Standard Time":             "Pacific/Tongatapu",
}
