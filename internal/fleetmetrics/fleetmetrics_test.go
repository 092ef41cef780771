package fleetmetrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/metrics/metricstest"
)

// The device count is read from the database at most every CacheFor,
// within Timeout, and a failed count shows the last good one.
func TestDeviceCountCache(t *testing.T) {
	// The scrapes run on the server's goroutines: the clock and the
	// database's answer are atomics.
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	var calls, active atomic.Int32
	var fail atomic.Bool
	active.Store(3)
	m := New(Options{CacheFor: 30 * time.Second, Timeout: 50 * time.Millisecond, Now: now,
		Devices: func(ctx context.Context, since time.Time) ([]DeviceCount, error) {
			calls.Add(1)
			if want := now().Add(-15 * time.Minute); !since.Equal(want) {
				t.Errorf("since %v; want %v", since, want)
			}
			if fail.Load() {
				<-ctx.Done() // a database that does not answer
				return nil, ctx.Err()
			}
			return []DeviceCount{{State: "active", Reports: ReportsRecent, Count: int(active.Load())}}, nil
		}})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	count := func() float64 {
		t.Helper()
		v, _ := metricstest.Scrape(t, nil, srv.URL, nil).Value("fleetd_devices", "state=active", "reports=recent")
		return v
	}
	if got := count(); got != 3 || calls.Load() != 1 {
		t.Fatalf("first scrape: %v devices, %d counts", got, calls.Load())
	}
	active.Store(4)
	advance(29 * time.Second)
	if got := count(); got != 3 || calls.Load() != 1 {
		t.Errorf("within the cache time: %v devices, %d counts; want the cached 3, 1 count", got, calls.Load())
	}
	advance(time.Second)
	if got := count(); got != 4 || calls.Load() != 2 {
		t.Errorf("after the cache time: %v devices, %d counts; want 4, 2 counts", got, calls.Load())
	}
	fail.Store(true)
	advance(time.Minute)
	start := time.Now()
	if got := count(); got != 4 || calls.Load() != 3 {
		t.Errorf("failed count: %v devices, %d counts; want the last 4, 3 counts", got, calls.Load())
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a database that does not answer held the scrape %v", took)
	}
	// A failed count is not retried at every scrape either.
	if count(); calls.Load() != 3 {
		t.Errorf("%d counts; a failed count was retried within the cache time", calls.Load())
	}
}

// Requests are counted and timed per registered route; unrouted ones as
// "unmatched"; polls and enrollments by result.
func TestInstrument(t *testing.T) {
	m := New(Options{PollRoute: "GET /config", EnrollRoute: "POST /enroll"})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("new") == "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("bundle"))
	})
	mux.HandleFunc("POST /enroll", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	// Under an outer mux whose catch-all pattern is not a route of ours.
	outer := http.NewServeMux()
	outer.Handle("/", m.Instrument("device", mux))
	dev := httptest.NewServer(outer)
	defer dev.Close()
	for _, p := range []string{"/config", "/config?new=1", "/config", "/devices/d1/secret", "/devices/d2/secret"} {
		resp, err := http.Get(dev.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if resp, err := http.Post(dev.URL+"/enroll", "text/plain", nil); err == nil {
		resp.Body.Close()
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	fams := metricstest.Scrape(t, nil, srv.URL, nil)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"fleetd_http_requests_total", []string{"api=device", "route=GET /config", "code=304"}, 2},
		{"fleetd_http_requests_total", []string{"api=device", "route=GET /config", "code=200"}, 1},
		{"fleetd_http_requests_total", []string{"api=device", "route=unmatched", "code=404"}, 2},
		{"fleetd_http_request_duration_seconds", []string{"api=device", "route=GET /config"}, 3},
		{"fleetd_polls_total", []string{"result=ok"}, 3},
		{"fleetd_enrollments_total", []string{"result=pending"}, 1},
	} {
		if got, ok := fams.Value(tc.name, tc.labels...); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v); want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := fams["fleetd_devices"]; ok {
		t.Error("fleetd_devices without a Devices source")
	}
	for _, vs := range fams.LabelValues() {
		for _, v := range vs {
			if v == "/devices/d1/secret" || v == "/devices/d2/secret" {
				t.Errorf("a request path became a label: %q", v)
			}
		}
	}
}

func TestResult(t *testing.T) {
	for code, want := range map[int]string{200: "ok", 304: "ok", 202: "pending", 429: "throttled", 401: "refused", 403: "refused",
		400: "bad_request", 413: "bad_request", 500: "error", 503: "error"} {
		if got := Result(code); got != want {
			t.Errorf("Result(%d) = %q; want %q", code, got, want)
		}
	}
}
