package sim

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/roomd/roomd/hal"
)

// maxHold bounds ?hold= so a typo cannot tie up a request for an hour.
const maxHold = 30 * time.Second

//go:embed page.html
var page []byte

// Handler serves the debug API and page described in the package
// documentation. Serve it at the root of a listener on 127.0.0.1: it changes
// the room. Cross-origin browser requests that would change something are
// refused, so a web page cannot press buttons through a person's browser.
func (b *Board) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(page)
	})
	mux.HandleFunc("GET /sim", b.serveState)
	mux.HandleFunc("POST /sim/button/{role}/click", b.act(func(r *http.Request) error {
		hold, err := durationParam(r, "hold")
		if err != nil {
			return err
		}
		if hold == 0 {
			return b.Click(r.PathValue("role"))
		}
		return b.Hold(r.Context(), r.PathValue("role"), hold)
	}))
	mux.HandleFunc("POST /sim/button/{role}/press", b.act(func(r *http.Request) error {
		return b.Press(r.PathValue("role"))
	}))
	mux.HandleFunc("POST /sim/button/{role}/release", b.act(func(r *http.Request) error {
		return b.Release(r.PathValue("role"))
	}))
	mux.HandleFunc("POST /sim/switch/{role}", b.act(func(r *http.Request) error {
		role := r.PathValue("role")
		if _, err := b.input(role, "switch", b.switches); err != nil {
			return err
		}
		v := r.FormValue("on")
		on, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("sim: switch %q: on must be true or false, not %q", role, v)
		}
		return b.SetSwitch(role, on)
	}))
	mux.HandleFunc("POST /sim/sensor/{role}", b.act(func(r *http.Request) error {
		role := r.PathValue("role")
		s, ok := b.sensors[role]
		if !ok {
			return b.unknown(role, "sensor")
		}
		q := hal.Quantity(r.FormValue("quantity"))
		if q == "" {
			if len(s.qs) != 1 {
				return badRequest("sim: sensor %q measures %v; say which with quantity=", role, s.qs)
			}
			q = s.qs[0]
		}
		v := r.FormValue("value")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return badRequest("sim: sensor %q: value must be a number, not %q", role, v)
		}
		return b.SetSensor(role, q, f)
	}))
	mux.HandleFunc("POST /sim/fault/{role}", b.act(func(r *http.Request) error {
		role := r.PathValue("role")
		if b.kindOf(role) == "" {
			return b.unknown(role, "device")
		}
		var cause error // nil: a plain injected fault
		if text := r.FormValue("error"); text != "" {
			if len(text) > 200 || !utf8.ValidString(text) {
				return badRequest("sim: fault %q: error must be at most 200 bytes of UTF-8", role)
			}
			cause = errors.New(text)
		}
		b.Fail(role, cause)
		return nil
	}))
	mux.HandleFunc("DELETE /sim/fault/{role}", b.act(func(r *http.Request) error {
		role := r.PathValue("role")
		if b.kindOf(role) == "" {
			return b.unknown(role, "device")
		}
		b.Heal(role)
		return nil
	}))
	return http.NewCrossOriginProtection().Handler(mux)
}

func (b *Board) serveState(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(b.State())
}

// act runs a change and answers with the board's new state, or with the
// reason it could not be done: 404 for a role the board does not have, 400
// for a bad value, 503 once the board is closed.
func (b *Board) act(do func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := do(r); err != nil {
			code := http.StatusBadRequest
			switch {
			case errors.Is(err, ErrUnknownRole):
				code = http.StatusNotFound
			case errors.Is(err, ErrClosed):
				code = http.StatusServiceUnavailable
			}
			http.Error(w, err.Error(), code)
			return
		}
		b.serveState(w, r)
	}
}

func badRequest(format string, args ...any) error { return fmt.Errorf(format, args...) }

// durationParam reads an optional duration such as hold=100ms.
func durationParam(r *http.Request, name string) (time.Duration, error) {
	v := r.FormValue(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxHold {
		return 0, badRequest("sim: %s must be a duration from 0 to %v such as 100ms, not %q", name, maxHold, v)
	}
	return d, nil
}
