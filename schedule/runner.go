package schedule

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/meetinglink/invite"
	"github.com/roomd/roomd/room"
)

// Files kept in Options.StateDir.
const (
	CacheFile = "schedule.json" // the last good calendars, mode 0600: links carry passcodes
	FloorFile = "clock-floor"   // the latest trusted time seen
)

const (
	maxWait      = 30 * time.Second // plan at least this often, so a stepped clock is noticed
	recompute    = 10 * time.Minute // expand the calendar again at least this often
	fetchTimeout = time.Minute
)

// Room is what the Runner needs of the room; *room.Room has it.
type Room interface {
	Do(ctx context.Context, c room.Command) error
	Watch(ctx context.Context) <-chan room.Update
	Snapshot() room.State
	Report(rep room.Report)
}

var _ Room = (*room.Room)(nil)

// Options configure a Runner. Nil fields take defaults.
type Options struct {
	Room   Room // required
	Config Config
	// StateDir keeps the schedule cache and the time floor; "" keeps
	// nothing across restarts.
	StateDir string
	// Client fetches the feed; nil means a client with a one-minute
	// timeout that trusts the system's roots and Config.CAFile's.
	Client *http.Client
	Clock  clockwork.Clock // nil means the real clock
	// Trust says when the clock may be believed; nil means a SystemClock
	// with its floor in StateDir.
	Trust  ClockTrust
	Logger *slog.Logger // nil discards
}

// Runner keeps the room's calendar: it refreshes the feed, keeps the last
// good schedule on disk, reports the next meetings and the one-touch offer
// to the room, and joins and leaves by the plan.
type Runner struct {
	room      Room
	cfg       Config
	localZone *time.Location // the configuration's room_zone
	feedURL   *url.URL
	urlHash   string
	clock     clockwork.Clock
	trust     ClockTrust
	client    *http.Client
	clientErr error // why client is nil: ca_file unreadable
	log       *slog.Logger
	cachePath string

	mu         sync.Mutex
	zone       *time.Location   // the fleet's time zone, else localZone
	rules      invite.DialRules // the fleet's dial rules, else the configuration's
	rulesGen   int              // bumped when rules change
	feed       source
	fleet      source
	staleSince time.Time // of the configuration's feed
	fleetStale time.Time // of the fleet's feed
	fleetURL   *url.URL  // the fleet's feed, nil for an inline calendar or none
	fleetStop  context.CancelFunc
	runCtx     context.Context // Run's, while it runs: fleet feed loops start under it
	loops      sync.WaitGroup
	gen        int // bumped on every calendar change
	started    bool
	closed     bool
	cancel     context.CancelFunc

	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	stepped func(now time.Time) // tests: called after each plan
}

// source is one calendar: the feed or the fleet's.
type source struct {
	ics     []byte
	cal     *Calendar
	etag    string
	lastMod string
	at      time.Time // fetched or received
	urlHash string    // the feed it was fetched from; "" for an inline calendar
}

// parse reads a calendar with the dial rules in force; r.mu is held (or
// the Runner not yet shared).
func (r *Runner) parse(data []byte, zone *time.Location) (*Calendar, error) {
	return parseICS(data, zone, r.rules)
}

// New makes a Runner and loads the cached schedule; nothing is fetched
// until Run. The error is for an invalid configuration.
func New(o Options) (*Runner, error) {
	if o.Room == nil {
		return nil, errors.New("schedule: Options.Room is required")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	cfg := o.Config.WithDefaults()
	zone, _ := cfg.Location()
	r := &Runner{
		room:      o.Room,
		cfg:       cfg,
		zone:      zone,
		localZone: zone,
		rules:     cfg.DialRules,
		clock:     o.Clock,
		trust:     o.Trust,
		client:    o.Client,
		log:       o.Logger,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clock == nil {
		r.clock = clockwork.NewRealClock()
	}
	if r.client == nil {
		// An unreadable ca_file does not stop the room: the fetches fail
		// with its error and the schedule shows stale.
		if r.client, r.clientErr = feedClient(cfg.CAFile); r.clientErr != nil {
			r.log.Error("schedule: the calendar cannot be fetched", "err", r.clientErr)
		}
	}
	if cfg.URL != "" {
		r.feedURL, _ = feedURL(cfg.URL)
		r.urlHash = hashURL(r.feedURL)
	}
	if o.StateDir != "" {
		r.cachePath = filepath.Join(o.StateDir, CacheFile)
	}
	if r.trust == nil {
		path := ""
		if o.StateDir != "" {
			path = filepath.Join(o.StateDir, FloorFile)
		}
		floor, err := LoadTimeFloor(path)
		if err != nil {
			r.log.Error("schedule: time floor unreadable", "err", err)
		}
		r.trust = &SystemClock{Floor: floor}
	}
	r.load()
	return r, nil
}

// hashURL names a feed in the cache without keeping its URL, which may be
// a secret.
func hashURL(u *url.URL) string {
	sum := sha256.Sum256([]byte(u.String()))
	return hex.EncodeToString(sum[:])
}

// cacheFile is the persisted schedule. ICS is kept as bytes so that what is
// reloaded is exactly what the server sent.
type cacheFile struct {
	Feed       *cachedFeed  `json:"feed,omitempty"`
	Fleet      *cachedFleet `json:"fleet,omitempty"`
	StaleSince time.Time    `json:"stale_since,omitzero"`
}

type cachedFeed struct {
	URLHash      string    `json:"url_sha256"` // the feed it came from; the URL itself may be a secret
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	FetchedAt    time.Time `json:"fetched_at"`
	ICS          []byte    `json:"ics"`
}

type cachedFleet struct {
	ReceivedAt time.Time `json:"received_at"`
	ICS        []byte    `json:"ics"`
	// A calendar the fleet named by URL: which feed, and its validators.
	URLHash      string    `json:"url_sha256,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	StaleSince   time.Time `json:"stale_since,omitzero"`
}

func (r *Runner) load() {
	if r.cachePath == "" {
		return
	}
	c, ok, err := readCache(r.cachePath)
	if err != nil {
		// Kept for a person to look at; the feed and the fleet fill the
		// cache again.
		to, aerr := statefile.SetAside(r.cachePath, r.clock.Now())
		if aerr != nil {
			r.log.Warn("schedule: cached schedule unreadable; starting without it (it could not be set aside)", "err", err, "set_aside_err", aerr)
			return
		}
		r.log.Warn("schedule: cached schedule unreadable; set aside, starting without it and fetching again", "err", err, "kept_as", to)
		return
	}
	if !ok {
		return
	}
	if f := c.Feed; f != nil && r.urlHash != "" && f.URLHash == r.urlHash {
		if cal, err := r.parse(f.ICS, r.zone); err == nil {
			r.feed = source{ics: f.ICS, cal: cal, etag: f.ETag, lastMod: f.LastModified, at: f.FetchedAt}
			r.staleSince = c.StaleSince
			r.log.Info("schedule: loaded the cached calendar", "fetched", f.FetchedAt)
		} else {
			r.log.Error("schedule: cached calendar unreadable; waiting for the feed", "err", err)
		}
	}
	if f := c.Fleet; f != nil {
		if cal, err := r.parse(f.ICS, r.zone); err == nil {
			r.fleet = source{ics: f.ICS, cal: cal, at: f.ReceivedAt, urlHash: f.URLHash, etag: f.ETag, lastMod: f.LastModified}
			r.fleetStale = f.StaleSince
		}
	}
	r.gen++
}

// readCache reads the schedule cache; ok is false when there is none. An
// empty, truncated, null or wrongly typed file is an error: roomd never
// writes one.
func readCache(path string) (c cacheFile, ok bool, err error) {
	var raw json.RawMessage
	ok, err = statefile.LoadJSON(path, &raw)
	if err != nil || !ok {
		return c, ok, err
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return c, true, fmt.Errorf("schedule: %s holds null", path)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, true, fmt.Errorf("schedule: %s is damaged: %w", path, err)
	}
	return c, true, nil
}

// persistLocked writes the schedule cache; r.mu is held.
func (r *Runner) persistLocked() {
	if r.cachePath == "" {
		return
	}
	c := cacheFile{StaleSince: r.staleSince}
	if r.feed.ics != nil {
		c.Feed = &cachedFeed{URLHash: r.urlHash, ETag: r.feed.etag, LastModified: r.feed.lastMod, FetchedAt: r.feed.at, ICS: r.feed.ics}
	}
	if r.fleet.ics != nil {
		c.Fleet = &cachedFleet{ReceivedAt: r.fleet.at, ICS: r.fleet.ics, URLHash: r.fleet.urlHash,
			ETag: r.fleet.etag, LastModified: r.fleet.lastMod, StaleSince: r.fleetStale}
	}
	if err := statefile.SaveJSON(r.cachePath, c, 0o600); err != nil {
		r.log.Error("schedule: saving the schedule failed; it is kept in memory and saved with the next change", "err", err)
	}
}

func (r *Runner) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// SetFleetCalendar replaces the calendar delivered in the fleet
// configuration, and stops fetching a feed the fleet named before; empty
// clears it. A calendar that cannot be read is refused and the one in force
// is kept.
func (r *Runner) SetFleetCalendar(ics []byte) error {
	var cal *Calendar
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(bytes.TrimSpace(ics)) > 0 {
		c, err := r.parse(ics, r.zone)
		if err != nil {
			return fmt.Errorf("%w (fleet calendar; the previous one stays in force)", err)
		}
		cal = c
		if p := c.Problems(); len(p) > 0 {
			r.log.Warn("schedule: fleet calendar has problems", "count", len(p), "first", p[0])
		}
	}
	r.stopFleetFeedLocked()
	if bytes.Equal(ics, r.fleet.ics) && r.fleet.urlHash == "" {
		return nil
	}
	r.fleet = source{}
	if cal != nil {
		r.fleet = source{ics: bytes.Clone(ics), cal: cal, at: r.clock.Now()}
	}
	r.fleetStale = time.Time{}
	r.gen++
	r.persistLocked()
	r.notify()
	return nil
}

// SetFleetFeed makes the room's fleet calendar the feed at rawURL (https://
// or webcal://), fetched like the configuration's own feed: conditional
// requests, jittered refresh, backoff, and the last good copy kept on disk
// and used while the feed is unreachable. A new URL drops the calendar of
// the old one at once, so a room moved to another calendar never joins its
// former meetings; the same URL keeps what was fetched. An invalid URL is
// refused and the calendar in force is kept.
func (r *Runner) SetFleetFeed(rawURL string) error {
	u, err := feedURL(rawURL)
	if err != nil {
		return fmt.Errorf("%w (fleet calendar feed; the previous calendar stays in force)", err)
	}
	hash := hashURL(u)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fleetURL != nil && r.fleet.urlHash == hash {
		return nil // already fetching it
	}
	r.stopFleetFeedLocked()
	if r.fleet.urlHash != hash {
		r.fleet, r.fleetStale = source{urlHash: hash}, time.Time{}
		r.gen++
		r.persistLocked()
		r.notify()
	}
	r.fleetURL = u
	r.startFleetFeedLocked()
	r.log.Info("schedule: following the fleet's calendar feed", "from", redact(u))
	return nil
}

// startFleetFeedLocked starts fetching the fleet's feed if Run is running;
// otherwise Run starts it. r.mu is held.
func (r *Runner) startFleetFeedLocked() {
	if r.fleetURL == nil || r.runCtx == nil {
		return
	}
	ctx, stop := context.WithCancel(r.runCtx)
	r.fleetStop = stop
	u := r.fleetURL
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		r.fetchLoop(ctx, fleetFeed, u)
	}()
}

// stopFleetFeedLocked stops fetching the fleet's feed; r.mu is held.
func (r *Runner) stopFleetFeedLocked() {
	if r.fleetStop != nil {
		r.fleetStop()
		r.fleetStop = nil
	}
	r.fleetURL = nil
}

// SetZone sets the room's time zone from the fleet configuration: floating
// times and all-day events are read in it, and the times the room shows are
// in it. Empty returns to the configuration's room_zone. A name that is not
// an IANA zone is refused and the zone in force is kept.
func (r *Runner) SetZone(name string) error {
	zone := r.localZone
	if name != "" {
		if zone = iana(name); zone == nil {
			return fmt.Errorf("schedule: time zone %q is not an IANA time zone such as \"Europe/Berlin\"; the zone in force stays", name)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if zone.String() == r.zone.String() {
		return nil
	}
	if err := r.rereadLocked(zone, r.rules); err != nil {
		return fmt.Errorf("%w (reading the calendar in %s; the zone in force stays)", err, zone)
	}
	r.zone = zone
	r.log.Info("schedule: time zone", "zone", zone.String())
	return nil
}

// rereadLocked reads both calendars in force again in zone with rules and
// puts them in force; if either cannot be read, nothing changes.
func (r *Runner) rereadLocked(zone *time.Location, rules invite.DialRules) error {
	var feedCal, fleetCal *Calendar
	for _, c := range []struct {
		src *source
		out **Calendar
	}{{&r.feed, &feedCal}, {&r.fleet, &fleetCal}} {
		if c.src.ics == nil {
			continue
		}
		cal, err := parseICS(c.src.ics, zone, rules)
		if err != nil {
			return err
		}
		*c.out = cal
	}
	if feedCal != nil {
		r.feed.cal = feedCal
	}
	if fleetCal != nil {
		r.fleet.cal = fleetCal
	}
	r.gen++
	r.notify()
	return nil
}

// SetDialRules sets the organisation's dial rules from the fleet
// configuration: meeting IDs in invitations become SIP addresses by them
// (package meetinglink/invite). nil returns to the configuration's
// dial_rules. Rules that do not validate are refused and those in force
// are kept.
func (r *Runner) SetDialRules(rules *invite.DialRules) error {
	next := r.cfg.DialRules
	if rules != nil {
		if err := rules.Validate(); err != nil {
			return fmt.Errorf("schedule: %w; the dial rules in force stay", err)
		}
		next = *rules
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if next == r.rules {
		return nil
	}
	if err := r.rereadLocked(r.zone, next); err != nil {
		return fmt.Errorf("%w (reading the calendar with new dial rules; the rules in force stay)", err)
	}
	r.rules = next
	r.rulesGen++
	r.log.Info("schedule: dial rules changed")
	return nil
}

// Zone is the room's time zone in force.
func (r *Runner) Zone() *time.Location {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.zone
}

// LastFetched is when a calendar (the configuration's feed or the
// fleet's) was last fetched or received successfully; zero for never.
// roomd's metrics show its age.
func (r *Runner) LastFetched() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fleet.at.After(r.feed.at) {
		return r.fleet.at
	}
	return r.feed.at
}

// Problems lists what was wrong with the calendars in force.
func (r *Runner) Problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(r.feed.cal.Problems(), r.fleet.cal.Problems()...)
}

// Run keeps the schedule until ctx ends or Close is called. Cancellation
// is not an error.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	if r.started {
		r.mu.Unlock()
		return errors.New("schedule: Run may be called only once")
	}
	ctx, cancel := context.WithCancel(ctx)
	r.started, r.cancel = true, cancel
	r.runCtx = ctx
	r.startFleetFeedLocked()
	r.mu.Unlock()
	defer close(r.done)
	defer func() {
		cancel()
		r.mu.Lock()
		r.runCtx = nil // no fetch loop starts after this
		r.mu.Unlock()
		r.loops.Wait()
	}()

	if r.feedURL != nil {
		r.loops.Add(1)
		go func() {
			defer r.loops.Done()
			r.fetchLoop(ctx, localFeed, r.feedURL)
		}()
	}
	updates := r.room.Watch(ctx)
	mem := Memory{Joined: map[string]bool{}, PassedOver: map[string]bool{}}
	var (
		occ        []Occurrence
		occGen     = -1
		occAt      time.Time
		lastReport *room.ScheduleReported
		replanned  bool
	)
	for {
		now := r.clock.Now()
		r.mu.Lock()
		gen, stale := r.gen, r.staleSince
		if !r.fleetStale.IsZero() && (stale.IsZero() || r.fleetStale.Before(stale)) {
			stale = r.fleetStale
		}
		cals := []*Calendar{r.feed.cal, r.fleet.cal}
		zone := r.zone
		r.mu.Unlock()
		st := r.room.Snapshot()
		if gen != occGen || now.Sub(occAt) >= recompute || now.Before(occAt) {
			occ = occurrences(cals, now.Add(-25*time.Hour), now.Add(time.Duration(r.cfg.Horizon)+time.Hour))
			for i := range occ {
				// The room shows its meetings in its own zone.
				occ[i].Start, occ[i].End = occ[i].Start.In(zone), occ[i].End.In(zone)
			}
			occGen, occAt = gen, now
			forget(mem, occ, st)
		}
		mem.ClockTrusted = r.trust.Trusted(now)
		mem.StaleSince = stale
		d := Plan(now, occ, st, r.cfg, mem)
		if r.act(ctx, d, &mem) && !replanned {
			replanned = true // plan again with the room's new state before reporting
			continue
		}
		replanned = false
		if lastReport == nil || !sameReport(*lastReport, d.Report) {
			r.room.Report(d.Report)
			lastReport = &d.Report
		}
		if r.stepped != nil {
			r.stepped(now)
		}

		// Measured from the clock again: it may have moved while planning.
		next := now.Add(maxWait)
		if !d.Wake.IsZero() && d.Wake.Before(next) {
			next = d.Wake
		}
		t := r.clock.NewTimer(max(next.Sub(r.clock.Now()), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case _, ok := <-updates:
			t.Stop()
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("schedule: the room stopped")
			}
		case <-r.wake:
			t.Stop()
		case <-t.Chan():
		}
	}
}

// Close stops Run and waits for it; it may be called more than once.
func (r *Runner) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		cancel, started := r.cancel, r.started
		r.closed = true
		r.mu.Unlock()
		if started {
			cancel()
			<-r.done
		}
	})
	return nil
}

// act carries out a decision and reports whether the room was asked to do
// anything.
func (r *Runner) act(ctx context.Context, d Decision, mem *Memory) bool {
	for _, id := range d.PassOver {
		mem.PassedOver[id] = true
		r.log.Info("schedule: not joining a meeting", "meeting", id, "why", d.Why)
	}
	from := room.Source{Kind: room.FromSchedule, ID: "calendar"}
	switch {
	case !d.Join.IsZero():
		mem.Joined[d.Join.ID] = true
		r.log.Info("schedule: joining meeting", "meeting", d.Join.ID, "start", d.Join.Start, "replace", d.Replace, "why", d.Why)
		if err := r.room.Do(ctx, room.Command{From: from, Do: room.Join{Meeting: d.Join, Replace: d.Replace}}); err != nil {
			r.log.Warn("schedule: join refused", "meeting", d.Join.ID, "err", err)
		}
		return true
	case d.Leave:
		r.log.Info("schedule: leaving meeting", "why", d.Why)
		if err := r.room.Do(ctx, room.Command{From: from, Do: room.Leave{}}); err != nil {
			r.log.Warn("schedule: leave refused", "err", err)
		}
		return true
	}
	return len(d.PassOver) > 0
}

// occurrences merges the calendars' occurrences; a meeting in both counts
// once.
func occurrences(cals []*Calendar, from, to time.Time) []Occurrence {
	var out []Occurrence
	seen := map[string]bool{}
	for _, c := range cals {
		for _, o := range c.Occurrences(from, to) {
			if !seen[o.ID] {
				seen[o.ID] = true
				out = append(out, o)
			}
		}
	}
	slices.SortStableFunc(out, byStart)
	return out
}

// forget drops memories of meetings no longer around, keeping the call's.
func forget(mem Memory, occ []Occurrence, st room.State) {
	keep := map[string]bool{st.Meeting.ID: true}
	for _, o := range occ {
		keep[o.ID] = true
	}
	for _, m := range []map[string]bool{mem.Joined, mem.PassedOver} {
		for id := range m {
			if !keep[id] {
				delete(m, id)
			}
		}
	}
}

func sameReport(a, b room.ScheduleReported) bool {
	return slices.Equal(a.Next, b.Next) && a.Offer == b.Offer && a.StaleSince.Equal(b.StaleSince)
}
