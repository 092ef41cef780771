// Package debugserver is roomd's debug endpoint, served on a loopback
// address when debug.listen is set: the simulated board's poke page and
// buttons (on the sim only), and on every board the room's state, the
// screen as a PNG, the call's media figures, the process's goroutines and
// live heap (for leak checks from outside the process), and Prometheus
// metrics at /metrics.
//
// Its JSON has snake_case keys, and fields holding nothing are left out
// (no null, "" or zero times); [Decode] reads /room and /media back into
// room.State and call.Stats.
//
// It answers only requests naming a loopback host, so a web page cannot
// reach it by pointing its own name at 127.0.0.1 (DNS rebinding).
package debugserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/room"
)

// csp is the panel's policy plus the sim page's inline script and style.
const csp = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Options are what the endpoint shows.
type Options struct {
	// Board serves every path not below: the simulated board's page;
	// nil on real boards, which have no poke page.
	Board http.Handler
	// Room is shown at /room; *room.Room has Snapshot.
	Room interface{ Snapshot() room.State }
	// Display is shown at /display.png.
	Display *display.Compositor
	// Calls' figures are shown at /media; *call.Engine has Stats.
	Calls interface{ Stats() call.Stats }
	// Metrics serves /metrics (Prometheus text format) when not nil;
	// roomdmetrics builds it. It is here only, never on the panel's
	// listeners: the debug endpoint answers the device itself.
	Metrics http.Handler
	Logger  *slog.Logger
}

// Handler is the endpoint's handler, with its loopback-host check and
// security headers.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	if o.Board != nil {
		mux.Handle("/", o.Board)
	}
	mux.HandleFunc("GET /room", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, jsonView(o.Room.Snapshot()), true) })
	mux.Handle("GET /display.png", display.SnapshotHandler(o.Display))
	// For leak checks from outside the process (TestSoakSurfaces).
	mux.HandleFunc("GET /runtime", func(w http.ResponseWriter, r *http.Request) {
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		writeJSON(w, map[string]uint64{"goroutines": uint64(runtime.NumGoroutine()), "heap_live_bytes": live[0].Value.Uint64()}, false)
	})
	mux.HandleFunc("GET /media", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, jsonView(o.Calls.Stats()), true) })
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	return netguard.SecurityHeaders(netguard.LoopbackOnly(mux, o.logger()), csp)
}

func writeJSON(w http.ResponseWriter, v any, indent bool) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	enc.Encode(v)
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Serve serves the endpoint on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, o Options) {
	log := o.logger()
	ln = netguard.Listen(ln, netguard.Options{Name: "debug", Logger: log})
	// The default 60 s write timeout outlasts the longest sim button hold (30 s).
	srv := netguard.NewHTTPServer(Handler(o), netguard.ServerOptions{MaxBodyBytes: 1 << 20, Logger: log})
	if o.Board != nil {
		log.Info("roomd: simulated board endpoint", "url", "http://"+ln.Addr().String()+"/")
	} else {
		log.Info("roomd: debug endpoint", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("roomd: debug endpoint", "err", err)
		}
	}()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	srv.Shutdown(sctx)
	<-served
}
