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

// fetchLoop refreshes the feed until ctx ends: every Refresh (jittered, so
// a fleet of rooms does not hit the server at once) while it works, with
// exponential backoff and jitter while it does not.
func (r *Runner) fetchLoop(ctx context.Context) {
	refresh := time.Duration(r.cfg.Refresh)
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = min(retryFirst, refresh)
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxInterval = refresh
	for {
		err := r.fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		if err != nil {
			wait = b.NextBackOff()
			r.failed(err, wait)
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

// fetch gets the feed once, conditionally on what the room has.
func (r *Runner) fetch(ctx context.Context) error {
	r.mu.Lock()
	etag, lastMod, have := r.feed.etag, r.feed.lastMod, r.feed.ics != nil
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.feedURL.String(), nil)
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
		return fmt.Errorf("schedule: fetching the calendar from %s: %w", redact(r.feedURL), err)
	}
	defer resp.Body.Close()
	now := r.clock.Now()
	switch {
	case resp.StatusCode == http.StatusNotModified && have:
		r.mu.Lock()
		r.feed.at = now
		r.mu.Unlock()
		r.fresh()
		return nil
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("schedule: the calendar server %s answered %q; check the feed URL and that the calendar is published", redact(r.feedURL), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFeedSize+1))
	if err != nil {
		return fmt.Errorf("schedule: reading the calendar from %s: %w", redact(r.feedURL), err)
	}
	cal, err := ParseICS(body, r.zone)
	if err != nil {
		return fmt.Errorf("%w (from %s)", err, redact(r.feedURL))
	}
	r.mu.Lock()
	changed := !bytes.Equal(body, r.feed.ics)
	meta := r.feed.etag != resp.Header.Get("ETag") || r.feed.lastMod != resp.Header.Get("Last-Modified")
	r.feed = source{ics: body, cal: cal, etag: resp.Header.Get("ETag"), lastMod: resp.Header.Get("Last-Modified"), at: now}
	if changed {
		r.gen++
	}
	if changed || meta {
		r.persistLocked()
	}
	r.mu.Unlock()
	if changed {
		r.log.Info("schedule: calendar updated", "from", redact(r.feedURL), "bytes", len(body))
		if p := cal.Problems(); len(p) > 0 {
			r.log.Warn("schedule: calendar has problems", "count", len(p), "first", p[0])
		}
		r.notify()
	}
	r.fresh()
	return nil
}

// failed marks the schedule stale from the first failure on.
func (r *Runner) failed(err error, retry time.Duration) {
	r.mu.Lock()
	first := r.staleSince.IsZero()
	if first {
		r.staleSince = r.clock.Now()
		r.persistLocked()
	}
	since := r.staleSince
	r.mu.Unlock()
	r.log.Warn("schedule: calendar refresh failed; joining from the last good schedule", "err", err, "stale_since", since, "retry_in", retry.Round(time.Second))
	if first {
		r.notify()
	}
}

func (r *Runner) fresh() {
	r.mu.Lock()
	was := r.staleSince
	if !was.IsZero() {
		r.staleSince = time.Time{}
		r.persistLocked()
	}
	r.mu.Unlock()
	if !was.IsZero() {
		r.log.Info("schedule: calendar reachable again", "stale_since", was)
		r.notify()
	}
}
