package schedule

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parser's output")

// goldenFeed is one ICS file in testdata and the window it is expanded over.
type goldenFeed struct {
	file     string
	zone     string
	from, to string // dates in the room's zone
}

var goldenFeeds = []goldenFeed{
	{"recurring.ics", "Europe/Berlin", "2025-03-03", "2025-03-15"},
	{"cancelled.ics", "Europe/Berlin", "2025-03-03", "2025-03-07"},
	{"dst.ics", "Europe/Berlin", "2025-03-01", "2025-11-05"},
	{"floating-allday.ics", "Europe/Berlin", "2025-03-03", "2025-03-15"},
	{"outlook.ics", "Europe/Berlin", "2025-03-03", "2025-03-12"},
	{"links.ics", "Europe/Berlin", "2025-03-03", "2025-03-04"},
	{"hostile.ics", "Europe/Berlin", "2025-03-03", "2025-03-10"},
}

// goldenOccurrence is an occurrence as the golden files show it: the
// passcode included (the test data's are made up), times in the event's
// zone and, for checking by eye, the start in the room's zone.
type goldenOccurrence struct {
	ID        string `json:"id"`
	UID       string `json:"uid"`
	Title     string `json:"title"`
	Start     string `json:"start"`
	End       string `json:"end"`
	RoomStart string `json:"room_start"`
	AllDay    bool   `json:"all_day,omitempty"`
	Cancelled bool   `json:"cancelled,omitempty"`
	Private   bool   `json:"private,omitempty"`
	Provider  string `json:"provider,omitempty"`
	URI       string `json:"uri,omitempty"`
	Passcode  string `json:"passcode,omitempty"`
	Joinable  bool   `json:"joinable"`
	Why       string `json:"why,omitempty"`
}

type goldenFile struct {
	Zone        string             `json:"zone"`
	From        string             `json:"from"`
	To          string             `json:"to"`
	Problems    []string           `json:"problems"`
	Occurrences []goldenOccurrence `json:"occurrences"`
}

func expandGolden(t testing.TB, g goldenFeed) goldenFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", g.file))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(g.zone)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := time.ParseInLocation("2006-01-02", g.from, loc)
	to, _ := time.ParseInLocation("2006-01-02", g.to, loc)
	start := time.Now()
	cal, err := ParseICS(data, loc)
	if err != nil {
		t.Fatalf("%s: %v", g.file, err)
	}
	occ := cal.Occurrences(from, to)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%s took %v to parse and expand", g.file, d)
	}
	out := goldenFile{Zone: g.zone, From: g.from, To: g.to, Problems: cal.Problems(), Occurrences: []goldenOccurrence{}}
	for _, o := range occ {
		out.Occurrences = append(out.Occurrences, goldenOccurrence{
			ID: o.ID, UID: o.UID, Title: o.Title,
			Start: o.Start.Format(time.RFC3339), End: o.End.Format(time.RFC3339),
			RoomStart: o.Start.In(loc).Format("Mon 2006-01-02 15:04 MST"),
			AllDay:    o.AllDay, Cancelled: o.Cancelled, Private: o.Private,
			Provider: o.Link.Provider, URI: o.Link.URI, Passcode: o.Link.Passcode,
			Joinable: o.Joinable, Why: o.Why,
		})
	}
	return out
}

func TestGoldenFeeds(t *testing.T) {
	for _, g := range goldenFeeds {
		t.Run(g.file, func(t *testing.T) {
			got, err := json.MarshalIndent(expandGolden(t, g), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", strings.TrimSuffix(g.file, ".ics")+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it, then check it by hand)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; got:\n%s", g.file, path, got)
			}
		})
	}
}

// A feed built to make expansion slow is cut off by the work budgets.
func TestExpensiveFeedIsBounded(t *testing.T) {
	testtool.SkipSlowInShortMode(t, "parses a feed of the largest allowed size")
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\n")
	for i := range maxEvents {
		rule := "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=100000" // rare, and counted from the year 1
		if i%2 == 1 {
			rule = "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30" // never
		}
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:00010101T090000Z\r\nDURATION:PT1H\r\nRRULE:%s\r\nEND:VEVENT\r\n", i, rule)
	}
	b.WriteString("END:VCALENDAR\r\n")
	start := time.Now()
	cal, err := ParseICS([]byte(b.String()), berlin)
	if err != nil {
		t.Fatal(err)
	}
	parsed := time.Since(start)
	cal.Occurrences(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	total := time.Since(start)
	t.Logf("parsed in %v, expanded in %v", parsed, total-parsed)
	if parsed > parseBudget+3*time.Second || total-parsed > expandBudget+3*time.Second {
		t.Errorf("parsing took %v and expanding %v; the budgets are %v and %v", parsed, total-parsed, parseBudget, expandBudget)
	}
}
