package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/roomd/roomd/room"

	"github.com/roomd/roomd/internal/testtool"
)

// callEngine is a meeting provider that connects at once; it logs each
// start and end at the fake clock's minute.
type callEngine struct {
	clk  clockwork.Clock
	room atomic.Pointer[room.Room]
	mu   sync.Mutex
	log  []string
}

func (e *callEngine) Start(_ context.Context, seq uint64, m room.Meeting) {
	e.note("start " + m.ID)
	go e.room.Load().Report(room.CallReported{Seq: seq, State: room.InCall})
}

func (e *callEngine) End(seq uint64) {
	e.note("end")
	go e.room.Load().Report(room.CallReported{Seq: seq, State: room.Idle})
}

func (e *callEngine) note(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, e.clk.Now().In(berlin).Format("15:04")+" "+s)
}

func (e *callEngine) entries() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// recorder is the room as the runner sees it, noting every command.
type recorder struct {
	*room.Room
	mu   sync.Mutex
	cmds []room.Command
}

func (r *recorder) Do(ctx context.Context, c room.Command) error {
	r.mu.Lock()
	r.cmds = append(r.cmds, c)
	r.mu.Unlock()
	return r.Room.Do(ctx, c)
}

func (r *recorder) commands() []room.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.cmds)
}

// harness runs a real room and a Runner on a fake clock.
type harness struct {
	t      *testing.T
	clk    *clockwork.FakeClock
	room   *room.Room
	rec    *recorder
	runner *Runner
	eng    *callEngine // nil: the room has no call engine
	logs   *syncBuffer
	dir    string
	cancel context.CancelFunc
	errc   chan error

	mu    sync.Mutex
	steps int
	last  time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harnessOptions struct {
	cfg    Config
	start  string // Berlin time on the test day
	engine bool
	client *http.Client
	dir    string
	trust  ClockTrust
	fleet  []byte // fleet calendar set before Run
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, clk: clockwork.NewFakeClockAt(at(o.start)), logs: &syncBuffer{}, dir: o.dir, errc: make(chan error, 1)}
	if h.dir == "" {
		h.dir = t.TempDir()
	}
	ro := room.Options{}
	if o.engine {
		h.eng = &callEngine{clk: h.clk}
		ro.Devices.Calls = h.eng
	}
	ro.Logger = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.room = room.New(ro)
	if h.eng != nil {
		h.eng.room.Store(h.room)
	}
	h.rec = &recorder{Room: h.room}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	roomDone := make(chan struct{})
	go func() { defer close(roomDone); h.room.Run(ctx) }()
	<-h.room.Ready()
	trust := o.trust
	if trust == nil {
		trust = ClockTrustFunc(func(time.Time) bool { return true })
	}
	r, err := New(Options{Room: h.rec, Config: o.cfg, StateDir: h.dir, Client: o.client, Clock: h.clk, Trust: trust,
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	h.runner = r
	r.stepped = h.onStep
	if o.fleet != nil {
		if err := r.SetFleetCalendar(o.fleet); err != nil {
			t.Fatal(err)
		}
	}
	go func() { h.errc <- r.Run(ctx) }()
	t.Cleanup(func() {
		r.Close()
		if err := <-h.errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		cancel()
		<-roomDone
	})
	h.waitStep(h.clk.Now())
	h.settle()
	h.flush()
	return h
}

func (h *harness) onStep(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.steps++
	if now.After(h.last) {
		h.last = now
	}
}

// waitStep waits until the runner has planned at target or later.
func (h *harness) waitStep(target time.Time) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("a plan at %s", target.In(berlin).Format("15:04:05")), func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return !h.last.Before(target)
	})
}

// settle waits until the runner has stopped planning for a moment: what
// the room reports after a command has been seen.
func (h *harness) settle() {
	h.t.Helper()
	quiet := 0
	prev := -1
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		h.mu.Lock()
		n := h.steps
		h.mu.Unlock()
		if n == prev {
			if quiet++; quiet >= 5 {
				return
			}
			continue
		}
		prev, quiet = n, 0
	}
	h.t.Fatal("the runner never settled")
}

// flush waits until the room has taken in every report sent so far: the
// room handles its inputs in order, and Alive queues behind them.
func (h *harness) flush() {
	h.t.Helper()
	if err := h.room.Alive(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) eventually(what string, ok func() bool) {
	h.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ok() {
			return
		}
	}
	h.t.Fatalf("timed out waiting for %s", what)
}

// minute moves the clock one minute on and waits for the runner to act.
func (h *harness) minute() time.Time {
	h.t.Helper()
	h.clk.Advance(time.Minute)
	now := h.clk.Now()
	h.waitStep(now)
	h.settle()
	h.flush()
	return now
}

func (h *harness) do(a room.Action) {
	h.t.Helper()
	if err := h.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: a}); err != nil {
		h.t.Fatalf("%T: %v", a, err)
	}
	h.settle()
	h.flush()
}

func (h *harness) nextIDs() []string {
	var ids []string
	for _, m := range h.room.Snapshot().NextMeetings {
		ids = append(ids, m.ID)
	}
	return ids
}

// ics builds a feed from VEVENT bodies.
func ics(events ...string) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomd//test//EN\r\n")
	for _, e := range events {
		b.WriteString("BEGIN:VEVENT\r\n")
		for _, l := range strings.Split(strings.TrimSpace(e), "\n") {
			b.WriteString(strings.TrimSpace(l) + "\r\n")
		}
		b.WriteString("DTSTAMP:20250301T000000Z\r\nEND:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func vevent(uid, title, from, to, link string) string {
	return fmt.Sprintf("UID:%s\nSUMMARY:%s\nDTSTART;TZID=Europe/Berlin:20250304T%s00\nDTEND;TZID=Europe/Berlin:20250304T%s00\nLOCATION:%s",
		uid, title, strings.ReplaceAll(from, ":", ""), strings.ReplaceAll(to, ":", ""), link)
}

func janus(room string) string {
	return "janus+wss://sfu.example.com/janus?room=" + room + "&pin=PIN-" + room + "-7f3a"
}

// dayCalendar is a full day in the room. The IDs the runner uses are the
// calendar's: look them up by UID.
var dayCalendar = ics(
	vevent("standup", "Standup", "09:00", "09:30", janus("1")),
	vevent("planning", "Planning", "09:30", "10:30", janus("2")),
	vevent("lunch", "Lunch talk", "12:00", "13:00", janus("3")),
	vevent("review", "Review", "14:00", "15:00", janus("4")),
	vevent("teams", "Partner call", "16:00", "17:00", "https://teams.microsoft.com/l/meetup-join/abc?context=x"),
	"UID:holiday\nSUMMARY:Founders' day\nDTSTART;VALUE=DATE:20250304\nDTEND;VALUE=DATE:20250305\nLOCATION:"+janus("5"),
)

func idsByUID(t *testing.T, feed []byte) map[string]string {
	t.Helper()
	cal, err := ParseICS(feed, berlin)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, o := range cal.Occurrences(at("00:00"), at("23:59")) {
		ids[o.ID] = o.UID
	}
	return ids
}

func TestRunnerFullDay(t *testing.T) {
	testtool.SkipSlowInShortMode(t, "runs a whole day of meetings")
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeAuto, ShowTitles: true, RoomZone: "Europe/Berlin"}, start: "07:00", engine: true, fleet: dayCalendar})
	uid := idsByUID(t, dayCalendar)
	name := func(id string) string {
		if u, ok := uid[id]; ok {
			return u
		}
		return id
	}

	// The morning's list: the all-day event first, the Teams call without
	// a link (it cannot be joined), titles shown.
	next := h.room.Snapshot().NextMeetings
	var got []string
	for _, m := range next {
		got = append(got, name(m.ID)+"|"+m.Title+"|"+fmt.Sprint(m.URI != ""))
		if m.Passcode != "" {
			t.Errorf("next meeting %s carries its passcode", name(m.ID))
		}
	}
	want := []string{"holiday|Founders' day|false", "standup|Standup|true", "planning|Planning|true", "lunch|Lunch talk|true", "review|Review|true", "teams|Partner call|false"}
	if !slices.Equal(got, want) {
		t.Errorf("next meetings at 07:00:\n got %q\nwant %q", got, want)
	}

	var offers []string
	lastOffer := ""
	for h.clk.Now().Before(at("18:00")) {
		now := h.minute()
		switch now.In(berlin).Format("15:04") {
		case "11:50":
			h.do(room.Join{Meeting: room.Meeting{ID: "adhoc", URI: "janus+wss://other.example.com/?room=99"}})
		case "12:20":
			h.do(room.Leave{})
		case "14:30":
			h.do(room.ExtendMeeting{Minutes: 15})
		}
		if o := h.room.Snapshot().JoinOffer.ID; o != lastOffer {
			lastOffer = o
			if o == "" {
				o = "-"
			}
			offers = append(offers, now.In(berlin).Format("15:04")+" "+name(o))
		}
	}

	wantCalls := []string{
		"08:59 start " + idOf(uid, "standup"),
		"09:30 end", // back-to-back: the standup is replaced by planning at its end
		"09:30 start " + idOf(uid, "planning"),
		"10:32 end", // end + 2 minutes' grace
		"11:50 start adhoc",
		"12:20 end", // the ad-hoc call was not interrupted by the lunch talk, which is never joined later
		"13:59 start " + idOf(uid, "review"),
		"15:17 end", // extended by 15 minutes at 14:30
	}
	if got := h.eng.entries(); !slices.Equal(got, wantCalls) {
		t.Errorf("calls:\n got %q\nwant %q", got, wantCalls)
	}
	wantOffers := []string{"08:55 standup", "08:59 -", "09:25 planning", "09:30 -", "11:55 lunch", "13:00 -", "13:55 review", "13:59 -"}
	if !slices.Equal(offers, wantOffers) {
		t.Errorf("offers:\n got %q\nwant %q", offers, wantOffers)
	}
	if n := h.nextIDs(); len(n) != 1 || name(n[0]) != "holiday" {
		t.Errorf("at 18:00 listed: %v, want only the all-day event", n)
	}

	// Passcodes never reach the log or what the room shows as JSON.
	for _, id := range []string{"1", "2", "3", "4"} {
		if s := "PIN-" + id + "-7f3a"; strings.Contains(h.logs.String(), s) {
			t.Errorf("the log shows passcode %s", s)
		}
	}
	b, _ := json.Marshal(h.room.Snapshot())
	if bytes.Contains(b, []byte("7f3a")) {
		t.Errorf("the room's state shows a passcode: %s", b)
	}
}

func idOf(uidByID map[string]string, uid string) string {
	for id, u := range uidByID {
		if u == uid {
			return id
		}
	}
	return "?" + uid
}

func TestRunnerWaitsForATrustedClock(t *testing.T) {
	var trusted atomic.Bool
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeAuto, RoomZone: "Europe/Berlin"}, start: "08:50", engine: true,
		fleet: ics(vevent("standup", "Standup", "09:00", "09:30", janus("1"))),
		trust: ClockTrustFunc(func(time.Time) bool { return trusted.Load() })})
	for h.clk.Now().Before(at("09:10")) {
		h.minute()
	}
	if got := h.eng.entries(); len(got) != 0 {
		t.Fatalf("joined with an untrusted clock: %q", got)
	}
	if h.room.Snapshot().JoinOffer.IsZero() {
		t.Error("no one-touch offer while the clock is untrusted")
	}
	trusted.Store(true)
	h.minute()
	if got := h.eng.entries(); len(got) != 1 || !strings.HasPrefix(got[0], "09:11 start ") {
		t.Fatalf("calls once the clock is trusted: %q, want a join at 09:11", got)
	}
}

// feedServer serves a calendar over TLS with an ETag and Last-Modified.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	etag     string
	fail     bool
	requests []*http.Request
}

func newFeedServer(t *testing.T, body []byte) *feedServer {
	f := &feedServer{body: body, etag: `"v1"`}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, r.Clone(context.Background()))
		if f.fail {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path != "/private-7d9e2c/room.ics" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("If-None-Match") == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", f.etag)
		w.Header().Set("Last-Modified", "Mon, 03 Mar 2025 12:00:00 GMT")
		w.Header().Set("Content-Type", "text/calendar")
		w.Write(f.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *feedServer) url() string { return f.URL + "/private-7d9e2c/room.ics" }

func (f *feedServer) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *feedServer) request(i int) *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[i]
}

func (f *feedServer) set(body []byte, etag string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.etag, f.fail = body, etag, fail
}

func TestRunnerOutageJoinsFromCache(t *testing.T) {
	feed := ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")))
	srv := newFeedServer(t, feed)
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeAuto, URL: srv.url(), RoomZone: "Europe/Berlin"}, start: "08:00", client: srv.Client()})
	h.eventually("the first fetch", func() bool { return len(h.room.Snapshot().NextMeetings) == 1 })
	if srv.hits() != 1 {
		t.Fatalf("%d requests, want 1", srv.hits())
	}
	srv.Close() // for the rest of the test

	for h.clk.Now().Before(at("09:00")) {
		h.minute()
	}
	st := h.room.Snapshot()
	if st.ScheduleStaleSince.IsZero() || st.ScheduleStaleSince.Before(at("08:04")) || st.ScheduleStaleSince.After(at("08:06")) {
		t.Errorf("stale since %v, want the first failed refresh, 08:04 to 08:06", st.ScheduleStaleSince.In(berlin))
	}
	var joins []room.Join
	for _, c := range h.rec.commands() {
		if j, ok := c.Do.(room.Join); ok {
			if c.From.Kind != room.FromSchedule {
				t.Errorf("join sent from %v", c.From)
			}
			joins = append(joins, j)
		}
	}
	if len(joins) != 1 {
		t.Fatalf("joins %+v, want one", joins)
	}
	m := joins[0].Meeting
	if m.URI != "janus+wss://sfu.example.com/janus?room=1" || m.Passcode != "PIN-1-7f3a" || !m.Start.Equal(at("09:00")) || joins[0].Replace {
		t.Errorf("joined %+v (replace %v), want the cached standup with its PIN", m, joins[0].Replace)
	}
	// The room has no call engine here, so the join failed; that it was
	// tried at 08:59 is what matters.
	if st.Call != room.Failed || !strings.Contains(st.CallReason, "no meeting provider") {
		t.Errorf("call %v %q", st.Call, st.CallReason)
	}
	if strings.Contains(h.logs.String(), "private-7d9e2c") {
		t.Error("the log shows the feed's secret path")
	}
	if !strings.Contains(h.logs.String(), "calendar refresh failed") {
		t.Error("the failed refresh was not logged")
	}
}

func TestRunnerConditionalRefresh(t *testing.T) {
	testtool.SkipSlowInShortMode(t, "waits out refresh intervals")
	v1 := ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")))
	srv := newFeedServer(t, v1)
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeOneTouch, URL: srv.url(), RoomZone: "Europe/Berlin"}, start: "07:00", client: srv.Client()})
	h.eventually("the first fetch", func() bool { return len(h.room.Snapshot().NextMeetings) == 1 })

	advanceUntil := func(what string, ok func() bool) {
		t.Helper()
		for range 10 {
			if ok() {
				return
			}
			h.minute()
			for deadline := time.Now().Add(200 * time.Millisecond); !ok() && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		t.Fatalf("no %s within 10 minutes", what)
	}
	advanceUntil("second request", func() bool { return srv.hits() >= 2 })
	r := srv.request(1)
	if r.Header.Get("If-None-Match") != `"v1"` || r.Header.Get("If-Modified-Since") != "Mon, 03 Mar 2025 12:00:00 GMT" {
		t.Errorf("conditional headers %q %q", r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since"))
	}
	h.settle()
	h.flush()
	if st := h.room.Snapshot(); len(st.NextMeetings) != 1 || !st.ScheduleStaleSince.IsZero() {
		t.Errorf("after 304: next %v stale %v", st.NextMeetings, st.ScheduleStaleSince)
	}

	// A failing server makes the schedule stale; the cached one stays.
	srv.set(v1, `"v1"`, true)
	advanceUntil("stale report", func() bool { return !h.room.Snapshot().ScheduleStaleSince.IsZero() })
	if n := h.nextIDs(); len(n) != 1 {
		t.Errorf("next meetings while stale: %v", n)
	}

	// A new version arrives and the schedule is fresh again.
	v2 := ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")), vevent("retro", "Retro", "11:00", "12:00", janus("2")))
	srv.set(v2, `"v2"`, false)
	advanceUntil("new version", func() bool { return len(h.room.Snapshot().NextMeetings) == 2 })
	h.eventually("fresh again", func() bool { return h.room.Snapshot().ScheduleStaleSince.IsZero() })
}

func TestRunnerRestartLoadsCache(t *testing.T) {
	feed := ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")))
	srv := newFeedServer(t, feed)
	dir := t.TempDir()
	cfg := Config{Mode: ModeAuto, URL: srv.url(), RoomZone: "Europe/Berlin"}
	first := newHarness(t, harnessOptions{cfg: cfg, start: "08:00", client: srv.Client(), dir: dir})
	first.eventually("the first fetch", func() bool { return len(first.room.Snapshot().NextMeetings) == 1 })
	first.runner.Close()
	// Close stops everything the runner started.
	first.eventually("the runner's goroutines to end", func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "schedule.(*Runner).fetchLoop") && !strings.Contains(stacks, "schedule.(*Runner).Run")
	})

	path := filepath.Join(dir, CacheFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %v, want 0600: it holds passcodes", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("private-7d9e2c")) {
		t.Error("the cache holds the feed URL, which may be a secret")
	}
	srv.Close()

	// Restarted with the calendar server gone: the cached schedule is
	// shown at once and joined on time.
	second := newHarness(t, harnessOptions{cfg: cfg, start: "08:30", engine: true, client: srv.Client(), dir: dir})
	if n := second.nextIDs(); len(n) != 1 {
		t.Fatalf("next meetings after restart: %v", n)
	}
	for second.clk.Now().Before(at("09:00")) {
		second.minute()
	}
	if got := second.eng.entries(); len(got) != 1 || !strings.HasPrefix(got[0], "08:59 start ") {
		t.Errorf("calls after restart: %q", got)
	}

	// A cache from another feed is not used.
	third := newHarness(t, harnessOptions{cfg: Config{Mode: ModeAuto, URL: "https://other.example.invalid/cal.ics"}, start: "08:30", dir: dir,
		client: &http.Client{Transport: failing{}}})
	if n := third.nextIDs(); len(n) != 0 {
		t.Errorf("another feed's cache was used: %v", n)
	}
}

type failing struct{}

func (failing) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("network unreachable")
}

func TestRunnerFleetCalendar(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeOneTouch, RoomZone: "Europe/Berlin"}, start: "08:00", dir: dir})
	if err := h.runner.SetFleetCalendar(ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")))); err != nil {
		t.Fatal(err)
	}
	h.eventually("the fleet calendar", func() bool { return len(h.nextIDs()) == 1 })

	if err := h.runner.SetFleetCalendar([]byte("<html>not a calendar</html>")); err == nil || !strings.HasPrefix(err.Error(), "schedule: ") {
		t.Errorf("a broken fleet calendar: err %v", err)
	}
	h.settle()
	if n := h.nextIDs(); len(n) != 1 {
		t.Errorf("the calendar in force was dropped for a broken one: %v", n)
	}
	fi, err := os.Stat(filepath.Join(dir, CacheFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache: %v %v", fi, err)
	}
	h.runner.Close()

	again := newHarness(t, harnessOptions{cfg: Config{Mode: ModeOneTouch, RoomZone: "Europe/Berlin"}, start: "08:00", dir: dir})
	if n := again.nextIDs(); len(n) != 1 {
		t.Fatalf("fleet calendar not kept across a restart: %v", n)
	}
	if err := again.runner.SetFleetCalendar(nil); err != nil {
		t.Fatal(err)
	}
	again.eventually("the cleared calendar", func() bool { return len(again.nextIDs()) == 0 })
}

func TestNewRefusesBadConfig(t *testing.T) {
	r := room.New(room.Options{})
	for _, c := range []Config{
		{Mode: "sometimes"},
		{URL: "http://calendar.example.com/x.ics"},
		{RoomZone: "Mars/Olympus_Mons"},
		{JoinLead: Duration(-time.Minute)},
		{Refresh: Duration(time.Second)},
	} {
		if _, err := New(Options{Room: r, Config: c}); err == nil || !strings.HasPrefix(err.Error(), "schedule: ") {
			t.Errorf("New(%+v) = %v, want a schedule: error", c, err)
		}
	}
	if _, err := New(Options{Config: Config{}}); err == nil {
		t.Error("New without a room succeeded")
	}
	if _, err := New(Options{Room: r, Config: Config{URL: "webcal://calendar.example.com/x.ics"}}); err != nil {
		t.Errorf("webcal:// refused: %v", err)
	}
}

// The fleet may name a feed instead of sending the calendar: it is fetched
// like the configuration's feed (conditional requests, backoff, stale
// marking), kept on disk for outages and restarts, dropped when the fleet
// names another one, and no longer fetched once the fleet sends a calendar.
func TestRunnerFleetFeed(t *testing.T) {
	feed := ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")))
	srv := newFeedServer(t, feed)
	dir := t.TempDir()
	cfg := Config{Mode: ModeOneTouch, RoomZone: "Europe/Berlin"}
	h := newHarness(t, harnessOptions{cfg: cfg, start: "07:00", client: srv.Client(), dir: dir})
	if err := h.runner.SetFleetFeed(srv.url()); err != nil {
		t.Fatal(err)
	}
	h.eventually("the fleet feed", func() bool { return len(h.nextIDs()) == 1 })
	// Setting the same URL again (every poll of the same bundle) fetches
	// nothing more.
	if err := h.runner.SetFleetFeed(srv.url()); err != nil {
		t.Fatal(err)
	}
	for srv.hits() < 2 {
		h.minute()
	}
	if r := srv.request(1); r.Header.Get("If-None-Match") != `"v1"` {
		t.Errorf("second fetch not conditional: %q", r.Header.Get("If-None-Match"))
	}
	// Bad URLs are refused and the calendar in force stays.
	for _, bad := range []string{"http://cal.example/room.ics", "ftp://x/y", "https://"} {
		if err := h.runner.SetFleetFeed(bad); err == nil || !strings.HasPrefix(err.Error(), "schedule: ") {
			t.Errorf("SetFleetFeed(%q) = %v", bad, err)
		}
	}
	h.settle()
	if n := h.nextIDs(); len(n) != 1 {
		t.Fatalf("calendar lost after a refused URL: %v", n)
	}
	// The feed failing marks the schedule stale; the calendar stays.
	srv.set(feed, `"v1"`, true)
	for i := 0; h.room.Snapshot().ScheduleStaleSince.IsZero(); i++ {
		if i > 15 {
			t.Fatal("no stale report while the fleet feed fails")
		}
		h.minute()
	}
	if n := h.nextIDs(); len(n) != 1 {
		t.Errorf("next meetings while the fleet feed fails: %v", n)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, CacheFile))
	if bytes.Contains(raw, []byte("private-7d9e2c")) {
		t.Error("the cache holds the fleet feed's URL")
	}
	h.runner.Close()

	// Restarted with the feed server down: the cached fleet calendar is
	// in force as soon as the fleet names the same feed again.
	srv.Close()
	again := newHarness(t, harnessOptions{cfg: cfg, start: "08:00", client: srv.Client(), dir: dir})
	if err := again.runner.SetFleetFeed(srv.url()); err != nil {
		t.Fatal(err)
	}
	again.settle()
	if n := again.nextIDs(); len(n) != 1 {
		t.Fatalf("fleet feed calendar not kept across a restart: %v", n)
	}
	// Another feed: the old calendar goes at once.
	other := newFeedServer(t, ics(vevent("retro", "Retro", "10:00", "11:00", janus("2")), vevent("review", "Review", "11:00", "12:00", janus("3"))))
	if err := again.runner.SetFleetFeed(other.url()); err != nil {
		t.Fatal(err)
	}
	// The harness's client trusts only the first server: until the new
	// feed can be fetched the room lists nothing rather than the old
	// room's meetings.
	again.eventually("the old feed's calendar dropped", func() bool { return len(again.nextIDs()) == 0 })
	// An inline calendar from the fleet stops the feed.
	if err := again.runner.SetFleetCalendar(ics(vevent("lunch", "Lunch", "12:00", "13:00", janus("4")))); err != nil {
		t.Fatal(err)
	}
	again.eventually("the inline calendar", func() bool { return len(again.nextIDs()) == 1 })
	again.runner.Close()
	again.eventually("the fetch loops to end", func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "schedule.(*Runner).fetchLoop")
	})
}

// The fleet's time zone: floating times and all-day events are read in it
// and the room shows its meetings in it; an unknown zone is refused and the
// zone in force stays; empty returns to the configuration's room_zone.
func TestRunnerZone(t *testing.T) {
	floating := ics("UID:floating\nSUMMARY:Standup\nDTSTART:20250304T110000\nDTEND:20250304T113000\nLOCATION:"+janus("1"),
		vevent("zoned", "Review", "12:00", "13:00", janus("2")))
	h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeOneTouch, RoomZone: "Europe/Berlin", ShowTitles: true}, start: "07:00", fleet: floating})
	start := func(title string) time.Time {
		for _, m := range h.room.Snapshot().NextMeetings {
			if m.Title == title {
				return m.Start
			}
		}
		t.Fatalf("no meeting %s in %v", title, h.room.Snapshot().NextMeetings)
		return time.Time{}
	}
	if got := start("Standup"); !got.Equal(at("11:00")) || got.Location().String() != "Europe/Berlin" {
		t.Fatalf("floating meeting in Berlin at %v", got)
	}
	london := mustZone("Europe/London")
	if err := h.runner.SetZone("Europe/London"); err != nil {
		t.Fatal(err)
	}
	h.eventually("meetings in London time", func() bool {
		ms := h.room.Snapshot().NextMeetings
		return len(ms) == 2 && ms[0].Start.Location().String() == "Europe/London"
	})
	if got, want := start("Standup"), time.Date(2025, 3, 4, 11, 0, 0, 0, london); !got.Equal(want) {
		t.Errorf("floating meeting at %v, want %v", got, want)
	}
	// A zoned event keeps its instant; only how it is shown changes.
	if got := start("Review"); !got.Equal(at("12:00")) || got.Format("15:04") != "11:00" {
		t.Errorf("zoned meeting at %v, want 12:00 Berlin shown as 11:00 London", got)
	}
	if h.runner.Zone().String() != "Europe/London" {
		t.Errorf("Zone() = %v", h.runner.Zone())
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "Local", "../etc/passwd"} {
		if err := h.runner.SetZone(bad); err == nil || !strings.HasPrefix(err.Error(), "schedule: ") {
			t.Errorf("SetZone(%q) = %v", bad, err)
		}
	}
	if h.runner.Zone().String() != "Europe/London" {
		t.Errorf("a refused zone changed the zone in force to %v", h.runner.Zone())
	}
	if err := h.runner.SetZone(""); err != nil {
		t.Fatal(err)
	}
	h.eventually("back in Berlin", func() bool {
		ms := h.room.Snapshot().NextMeetings
		return len(ms) == 2 && ms[0].Start.Location().String() == "Europe/Berlin" && ms[0].Start.Equal(at("11:00"))
	})
}

// A damaged schedule cache is set aside for a person to look at, said once
// at WARN, and the runner starts without it and fetches the feed again.
func TestRunnerSetsDamagedCacheAside(t *testing.T) {
	feed := ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")))
	for _, c := range []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"truncated", `{"feed":{"url_sha256":"ab`},
		{"garbage", "\x00\x17<html>not json"},
		{"wrong type", `["feed"]`},
		{"field of the wrong type", `{"feed":{"ics":12}}`},
		{"null", "null"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newFeedServer(t, feed)
			dir := t.TempDir()
			path := filepath.Join(dir, CacheFile)
			if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeAuto, URL: srv.url(), RoomZone: "Europe/Berlin"}, start: "08:00", client: srv.Client(), dir: dir})
			h.eventually("the feed fetched again", func() bool { return len(h.nextIDs()) == 1 })

			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("set aside %q, want one %s.corrupt-TIME", aside, CacheFile)
			}
			if want := path + ".corrupt-" + at("08:00").UTC().Format("20060102T150405Z"); aside[0] != want {
				t.Errorf("set aside as %s, want %s", aside[0], want)
			}
			if b, err := os.ReadFile(aside[0]); err != nil || string(b) != c.body {
				t.Errorf("the file set aside holds %q (%v), want what was damaged", b, err)
			}
			h.eventually("a new cache", func() bool {
				_, ok, err := readCache(path)
				return ok && err == nil
			})
			var warns int
			for line := range strings.Lines(h.logs.String()) {
				var rec struct{ Level, Msg string }
				if json.Unmarshal([]byte(line), &rec) == nil && strings.Contains(rec.Msg, "cached schedule unreadable") {
					if rec.Level != "WARN" {
						t.Errorf("logged at %s, want WARN: %s", rec.Level, line)
					}
					warns++
				}
			}
			if warns != 1 {
				t.Errorf("the damaged cache was logged %d times, want once:\n%s", warns, h.logs.String())
			}
		})
	}
}
