package logging

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Ring keeps the last lines logged, for the panel's settings screen. Its
// lines are formatted as text without the time key's nanoseconds.
type Ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

// NewRing keeps the last n lines (at least 1).
func NewRing(n int) *Ring {
	return &Ring{lines: make([]string, max(n, 1))}
}

// Lines returns the kept lines, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	return append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}

func (r *Ring) add(s string) {
	r.mu.Lock()
	r.lines[r.next] = s
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// Tee returns a handler that passes every record to next and also keeps the
// records at level or above in r.
func (r *Ring) Tee(next slog.Handler, level slog.Leveler) slog.Handler {
	buf := &bytes.Buffer{}
	return &ringHandler{
		ring: r, next: next, level: level, mu: &sync.Mutex{}, buf: buf,
		text: slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05"))
			}
			return a
		}}),
	}
}

type ringHandler struct {
	ring  *Ring
	next  slog.Handler
	level slog.Leveler
	mu    *sync.Mutex
	buf   *bytes.Buffer
	text  slog.Handler
}

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level.Level() || h.next.Enabled(ctx, l)
}

func (h *ringHandler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= h.level.Level() {
		h.mu.Lock()
		h.buf.Reset()
		if h.text.Handle(ctx, rec) == nil {
			h.ring.add(strings.TrimSuffix(h.buf.String(), "\n"))
		}
		h.mu.Unlock()
	}
	if h.next.Enabled(ctx, rec.Level) {
		return h.next.Handle(ctx, rec)
	}
	return nil
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next, c.text = h.next.WithAttrs(as), h.text.WithAttrs(as)
	return &c
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next, c.text = h.next.WithGroup(name), h.text.WithGroup(name)
	return &c
}
