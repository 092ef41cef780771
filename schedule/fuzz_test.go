package schedule

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzICS feeds anything to the parser: it must not panic or hang, and
// what it returns must stay within its limits.
func FuzzICS(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ics"))
	invitations, _ := filepath.Glob(filepath.Join("testdata", "invitations", "*.ics"))
	files = append(files, invitations...)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"BEGIN:VCALENDAR\r\nX;P=a\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nX;P=\"a\"b:c\r\nEND:VCALENDAR\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20250303T090000Z\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\r\nEND:VEVENT\r\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:00010101T000000Z\r\nRRULE:FREQ=DAILY;COUNT=99999999\r\nEND:VEVENT\r\nEND:VCALENDAR",
		"BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:VEVENT\r\n", 1000),
		"BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:X\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nRRULE:FREQ=YEARLY;BYDAY=-1SU\nEND:STANDARD\nEND:VTIMEZONE\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=X:20250304T100000\nEND:VEVENT\nEND:VCALENDAR\n",
	} {
		f.Add([]byte(s))
	}
	from := time.Date(2025, 3, 1, 0, 0, 0, 0, berlin)
	to := from.AddDate(0, 1, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		cal, err := ParseICS(data, berlin)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "schedule: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		occ := cal.Occurrences(from, to)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %v", d)
		}
		if len(occ) > maxOccurrences || len(cal.Problems()) > maxProblems+1 {
			t.Fatalf("%d occurrences, %d problems", len(occ), len(cal.Problems()))
		}
		for _, o := range occ {
			if o.End.Before(o.Start) || !o.Start.Before(to) {
				t.Fatalf("occurrence %+v outside its window or ends before it starts", o)
			}
			if u, err := url.Parse(o.Link.URI); err == nil && (u.Query().Has("pin") || u.Query().Has("token") || u.User != nil) {
				t.Fatalf("URI %q carries a secret", o.Link.URI)
			}
			if o.Link.Passcode != "" && o.Link.Provider == ProviderSIP && !strings.HasPrefix(o.Link.URI, "sips:") && !strings.Contains(o.Link.URI, ";transport=") {
				t.Fatalf("SIP link %q with a passcode is neither sips: nor of a chosen transport", o.Link.URI)
			}
			if o.Joinable && (o.AllDay || o.Cancelled || !o.Link.Joinable) {
				t.Fatalf("joinable occurrence that may not be: %+v", o)
			}
		}
	})
}
