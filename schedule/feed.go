package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Retrying a failed fetch.
const (
	retryFirst = 30 * time.Second
	jitter     = 0.1 // ± share of the refresh interval
)

// feedKind says which calendar a fetch keeps: the configuration's feed or
// the one the fleet named.
type feedKind int

const (
	localFeed feedKind = iota
	fleetFeed
)

// sourceLocked returns the calendar of kind k; r.mu is held.
func (r *Runner) sourceLocked(k feedKind) *source {
	if k == fleetFeed {
		return &r.fleet
	}
	return &r.feed
}

// staleLocked returns since when the feed of kind k has failed; r.mu is held.
func (r *Runner) staleLocked(k feedKind) *time.Time {
	if k == fleetFeed {
		return &r.fleetStale
	}
	return &r.staleSince
}

// currentLocked says whether u is still the feed of kind k: the fleet may
// have named another one while a fetch was under way. r.mu is held.
func (r *Runner) currentLocked(k feedKind, u *url.URL) bool {
	return k == localFeed || r.fleetURL == u
}

// fetchLoop refreshes feed u until ctx ends: every Refresh (jittered, so
// a fleet of rooms does not hit the server at once) while it works, with
// exponential backoff and jitter while it does not.
func (r *Runner) fetchLoop(ctx context.Context, k feedKind, u *url.URL) {
	refresh := time.Duration(r.cfg.Refresh)
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = min(retryFirst, refresh)
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxInterval = refresh
	for {
		err := r.fetch(ctx, k, u)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		if err != nil {
			wait = b.NextBackOff()
			r.failed(k, u, err, wait)
		} else {
			b.Reset()
			wait = time.Duration(float64(refresh) * (1 - jitter + 2*jitter*rand.Float64()))
		}
		t := r.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.Chan():
		}
	}
}

// fetch gets feed u once, conditionally on what the room has.
func (r *Runner) fetch(ctx context.Context, k feedKind, u *url.URL) error {
	r.mu.Lock()
	src := r.sourceLocked(k)
	etag, lastMod, have, zone := src.etag, src.lastMod, src.ics != nil, r.zone
	rules, rulesGen := r.rules, r.rulesGen
	r.mu.Unlock()

	if r.clientErr != nil {
		return r.clientErr
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	req.Header.Set("Accept", "text/calendar")
	if have && etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if have && lastMod != "" {
		req.Header.Set("If-Modified-Since", lastMod)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL, and a published calendar's URL
		// is its password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("schedule: fetching the calendar from %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	now := r.clock.Now()
	switch {
	case resp.StatusCode == http.StatusNotModified && have:
		r.mu.Lock()
		if r.currentLocked(k, u) {
			r.sourceLocked(k).at = now
		}
		r.mu.Unlock()
		r.fresh(k, u)
		return nil
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("schedule: the calendar server %s answered %q; check the feed URL and that the calendar is published", redact(u), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFeedSize+1))
	if err != nil {
		return fmt.Errorf("schedule: reading the calendar from %s: %w", redact(u), err)
	}
	cal, err := parseICS(body, zone, rules)
	if err != nil {
		return fmt.Errorf("%w (from %s)", err, redact(u))
	}
	r.mu.Lock()
	if !r.currentLocked(k, u) {
		r.mu.Unlock()
		return nil // the fleet named another feed meanwhile
	}
	if r.zone != zone || r.rulesGen != rulesGen {
		// The zone or the dial rules changed while fetching: read the
		// calendar with the new ones.
		if cal, err = r.parse(body, r.zone); err != nil {
			r.mu.Unlock()
			return fmt.Errorf("%w (from %s)", err, redact(u))
		}
	}
	src = r.sourceLocked(k)
	changed := !bytes.Equal(body, src.ics)
	meta := src.etag != resp.Header.Get("ETag") || src.lastMod != resp.Header.Get("Last-Modified")
	*src = source{ics: body, cal: cal, etag: resp.Header.Get("ETag"), lastMod: resp.Header.Get("Last-Modified"), at: now, urlHash: src.urlHash}
	if changed {
		r.gen++
	}
	if changed || meta {
		r.persistLocked()
	}
	r.mu.Unlock()
	if changed {
		r.log.Info("schedule: calendar updated", "from", redact(u), "bytes", len(body))
		if p := cal.Problems(); len(p) > 0 {
			r.log.Warn("schedule: calendar has problems", "count", len(p), "first", p[0])
		}
		r.notify()
	}
	r.fresh(k, u)
	return nil
}

// failed marks the schedule stale from the first failure on.
func (r *Runner) failed(k feedKind, u *url.URL, err error, retry time.Duration) {
	r.mu.Lock()
	if !r.currentLocked(k, u) {
		r.mu.Unlock()
		return
	}
	stale := r.staleLocked(k)
	first := stale.IsZero()
	if first {
		*stale = r.clock.Now()
		r.persistLocked()
	}
	since := *stale
	r.mu.Unlock()
	r.log.Warn("schedule: calendar refresh failed; joining from the last good schedule", "err", err, "stale_since", since, "retry_in", retry.Round(time.Second))
	if first {
		r.notify()
	}
}

func (r *Runner) fresh(k feedKind, u *url.URL) {
	r.mu.Lock()
	if !r.currentLocked(k, u) {
		r.mu.Unlock()
		return
	}
	stale := r.staleLocked(k)
	was := *stale
	if !was.IsZero() {
		*stale = time.Time{}
		r.persistLocked()
	}
	r.mu.Unlock()
	if !was.IsZero() {
		r.log.Info("schedule: calendar reachable again", "stale_since", was)
		r.notify()
	}
}
