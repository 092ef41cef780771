package schedule

import (
	"bytes"
	"fmt"
	"strings"
)

// Limits on what a feed may make the parser do. A feed beyond them is cut,
// not trusted: calendars come from outside the room.
const (
	// MaxFeedSize is the largest feed accepted, in bytes.
	MaxFeedSize = 8 << 20
	maxLineLen  = 128 << 10 // one unfolded content line
	maxPrefix   = 2 << 10   // a line's name and parameters
	maxDepth    = 3         // VCALENDAR > VTIMEZONE > STANDARD
	maxEvents   = 5000      // VEVENTs per feed
	maxZones    = 100       // VTIMEZONEs per feed
	maxObserv   = 50        // STANDARD/DAYLIGHT per VTIMEZONE
	maxMultiple = 1000      // EXDATE or RDATE lines per event
	maxProblems = 50        // problems listed per feed
)

// kept lists the components and, for each, the properties the parser
// reads; everything else is dropped before decoding, so a feed full of
// attendees or alarms costs nothing.
var kept = map[string]map[string]int{ // property -> how many lines to keep
	"VCALENDAR": {},
	"VEVENT": {
		"UID": 1, "DTSTART": 1, "DTEND": 1, "DURATION": 1, "SUMMARY": 1,
		"LOCATION": 1, "DESCRIPTION": 1, "URL": 1, "STATUS": 1, "CLASS": 1,
		"RRULE": 1, "RDATE": maxMultiple, "EXDATE": maxMultiple,
		"RECURRENCE-ID": 1, "SEQUENCE": 1, "CONFERENCE": 4,
		"X-GOOGLE-CONFERENCE": 1, "X-MICROSOFT-SKYPETEAMSMEETINGURL": 1,
		"X-ALT-DESC": 1,
	},
	"VTIMEZONE": {"TZID": 1, "X-LIC-LOCATION": 1},
	"STANDARD":  {"DTSTART": 1, "TZOFFSETFROM": 1, "TZOFFSETTO": 1, "RRULE": 1, "RDATE": 50, "TZNAME": 1},
	"DAYLIGHT":  {"DTSTART": 1, "TZOFFSETFROM": 1, "TZOFFSETTO": 1, "RRULE": 1, "RDATE": 50, "TZNAME": 1},
}

// problems collects what was wrong with a feed, up to a limit.
type problems struct {
	list    []string
	dropped int
}

func (p *problems) add(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.dropped++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) done() []string {
	if p.dropped > 0 {
		return append(p.list, fmt.Sprintf("%d more problems not listed", p.dropped))
	}
	return p.list
}

// clean rewrites a feed into unfolded content lines that go-ical decodes
// without trouble: malformed lines, components roomd does not read, and
// properties it does not use are dropped; components are balanced and
// nesting is bounded. go-ical panics on some malformed parameters and is
// quadratic in parameter length, so nothing it is handed may be either.
func clean(data []byte, pr *problems) ([]byte, error) {
	if len(data) > MaxFeedSize {
		return nil, fmt.Errorf("schedule: the feed is %d bytes, more than the %d roomd accepts; publish a shorter calendar", len(data), MaxFeedSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))

	var (
		out      bytes.Buffer
		stack    []string // open components
		counts   []map[string]int
		skip     int // >0 while inside a dropped component, its depth
		events   int
		zones    int
		observ   int
		badLines int
		calendar bool
	)
	out.Grow(len(data) / 2)
	emit := func(s string) { out.WriteString(s); out.WriteString("\r\n") }
	closeTo := func(n int) {
		for len(stack) > n {
			emit("END:" + stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			counts = counts[:len(counts)-1]
		}
	}

	handle := func(line string) {
		if line == "" {
			return
		}
		name, value, ok := lexLine(line)
		if !ok {
			badLines++
			return
		}
		switch name {
		case "BEGIN":
			comp := strings.ToUpper(strings.TrimSpace(value))
			if skip > 0 {
				skip++
				return
			}
			if !validName(comp) {
				badLines++
				skip = 1
				return
			}
			if _, want := kept[comp]; !want || len(stack) >= maxDepth || !fits(stack, comp) {
				skip = 1
				return
			}
			switch comp {
			case "VEVENT":
				if events++; events > maxEvents {
					skip = 1
					return
				}
			case "VTIMEZONE":
				if zones++; zones > maxZones {
					skip = 1
					return
				}
				observ = 0
			case "STANDARD", "DAYLIGHT":
				if observ++; observ > maxObserv {
					skip = 1
					return
				}
			case "VCALENDAR":
				calendar = true
			}
			stack = append(stack, comp)
			counts = append(counts, map[string]int{})
			emit("BEGIN:" + comp)
		case "END":
			comp := strings.ToUpper(strings.TrimSpace(value))
			if skip > 0 {
				skip--
				return
			}
			// Close up to the matching component; an END nothing matches
			// is dropped.
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i] == comp {
					closeTo(i + 1)
					emit("END:" + comp)
					stack = stack[:i]
					counts = counts[:i]
					return
				}
			}
			badLines++
		default:
			if skip > 0 || len(stack) == 0 {
				return
			}
			top := stack[len(stack)-1]
			limit := kept[top][name]
			if c := counts[len(counts)-1]; c[name] < limit {
				c[name]++
				emit(line)
			}
		}
	}

	// Unfold: a line starting with a space or tab continues the one before.
	var cur strings.Builder
	overlong := false
	flush := func() {
		if !overlong {
			handle(cur.String())
		} else {
			badLines++
		}
		cur.Reset()
		overlong = false
	}
	for len(data) > 0 {
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') {
			if cur.Len()+len(raw) > maxLineLen {
				overlong = true
			} else if !overlong {
				cur.Write(raw[1:])
			}
			continue
		}
		flush()
		if len(raw) > maxLineLen {
			overlong = true
		} else {
			cur.Write(raw)
		}
	}
	flush()
	closeTo(0)

	if !calendar {
		return nil, fmt.Errorf("schedule: the feed has no BEGIN:VCALENDAR; is the URL an iCalendar (.ics) feed?")
	}
	if badLines > 0 {
		pr.add("%d malformed lines ignored", badLines)
	}
	if events > maxEvents {
		pr.add("the feed has %d events; only the first %d are read", events, maxEvents)
	}
	return out.Bytes(), nil
}

// fits says whether comp may open inside the components in stack.
func fits(stack []string, comp string) bool {
	parent := ""
	if len(stack) > 0 {
		parent = stack[len(stack)-1]
	}
	switch comp {
	case "VCALENDAR":
		return parent == ""
	case "VEVENT", "VTIMEZONE":
		return parent == "VCALENDAR"
	case "STANDARD", "DAYLIGHT":
		return parent == "VTIMEZONE"
	}
	return false
}

// lexLine checks a content line against RFC 5545's grammar as far as go-ical
// relies on it, and returns its upper-cased name and its value.
//
//	contentline = name *(";" param ) ":" value
//	param       = param-name "=" param-value *("," param-value)
//	param-value = paramtext / quoted-string
func lexLine(l string) (name, value string, ok bool) {
	i := 0
	for i < len(l) && isNameByte(l[i]) {
		i++
	}
	if i == 0 || i >= len(l) || (l[i] != ';' && l[i] != ':') {
		return "", "", false
	}
	name = strings.ToUpper(l[:i])
	for l[i] == ';' {
		i++
		j := i
		for j < len(l) && isNameByte(l[j]) {
			j++
		}
		if j == i || j >= len(l) || l[j] != '=' {
			return "", "", false
		}
		i = j + 1
		for {
			if i < len(l) && l[i] == '"' {
				k := strings.IndexByte(l[i+1:], '"')
				if k < 0 {
					return "", "", false
				}
				i += k + 2
			} else {
				for i < len(l) && l[i] != ';' && l[i] != ',' && l[i] != ':' {
					if l[i] == '"' {
						return "", "", false
					}
					i++
				}
			}
			if i >= len(l) || i > maxPrefix {
				return "", "", false
			}
			if l[i] != ',' {
				break
			}
			i++
		}
		if l[i] != ';' && l[i] != ':' {
			return "", "", false
		}
	}
	if i > maxPrefix {
		return "", "", false
	}
	return name, l[i+1:], true
}

func isNameByte(c byte) bool {
	return c == '-' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}
