// Package fleetmetrics is fleetd's Prometheus instrumentation: requests
// and their latencies per route on the device and admin APIs, config polls
// and enrollments by result, and the fleet's devices by state, counted in
// the database at scrape time behind a cache so scrapes cannot hammer it.
//
// Labels are bounded: routes are the servers' registered patterns
// (requests that matched none are "unmatched"), never a request's path,
// device, room or organisation.
//
// docs/metrics.md lists every metric.
package fleetmetrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomd/roomd/internal/metrics"
)

// DeviceCount is how many devices are in one state with one report
// freshness.
type DeviceCount struct {
	State   string // "pending", "active" or "revoked"
	Reports string // "recent", "silent" or "never"
	Count   int
}

// Report freshness values of DeviceCount.Reports.
const (
	ReportsRecent = "recent" // a health report within Options.Recent
	ReportsSilent = "silent" // reported once, not within Options.Recent
	ReportsNever  = "never"  // never reported
)

// Options configure Metrics; zero fields take their defaults.
type Options struct {
	// PollRoute and EnrollRoute are the device API's patterns (as
	// registered on its ServeMux) counted as config polls and
	// enrollments.
	PollRoute, EnrollRoute string
	// Devices counts the fleet's devices; a report at or after since is
	// recent. Nil leaves fleetd_devices out.
	Devices func(ctx context.Context, since time.Time) ([]DeviceCount, error)
	// Recent is how old a health report may be and still count as
	// recent (15 minutes: three default poll intervals).
	Recent time.Duration
	// CacheFor is how long a device count is reused (30 s), Timeout how
	// long counting may take (2 s); a failed count keeps the last one.
	CacheFor, Timeout time.Duration
	Now               func() time.Time
	Log               *slog.Logger
}

// Metrics is fleetd's registry and instruments; make it with New.
type Metrics struct {
	o        Options
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	polls    *prometheus.CounterVec
	enrolls  *prometheus.CounterVec
}

// New returns fleetd's metrics on a registry of their own, with the
// runtime collectors (metrics.New).
func New(o Options) *Metrics {
	if o.Recent == 0 {
		o.Recent = 15 * time.Minute
	}
	if o.CacheFor == 0 {
		o.CacheFor = 30 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		o:        o,
		registry: metrics.New(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fleetd_http_requests_total",
			Help: "Requests answered, by API (device or admin), route pattern and status code."}, []string{"api", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fleetd_http_request_duration_seconds",
			Help:    "Time to answer a request, by API and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"api", "route"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fleetd_polls_total",
			Help: "Configuration polls from devices, by result."}, []string{"result"}),
		enrolls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fleetd_enrollments_total",
			Help: "Enrollment requests, by result."}, []string{"result"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.polls, m.enrolls)
	if o.Devices != nil {
		m.registry.MustRegister(&deviceCollector{o: o, desc: prometheus.NewDesc("fleetd_devices",
			"Enrolled and pending devices by state and health-report freshness (counted at most every CacheFor).",
			[]string{"state", "reports"}, nil)})
	}
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler { return metrics.Handler(m.registry) }

// Instrument counts and times h's requests under api ("device" or
// "admin"). h must route with an http.ServeMux so the request carries
// its Pattern once served; a pattern an outer mux set is not h's route.
func (m *Metrics) Instrument(api string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		// A shallow copy without the pattern of a mux h may sit under:
		// only h's own routing names the route.
		r = r.WithContext(r.Context())
		r.Pattern = ""
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(api, route, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(api, route).Observe(time.Since(start).Seconds())
		switch {
		case api != "device":
		case route == m.o.PollRoute:
			m.polls.WithLabelValues(Result(sw.status)).Inc()
		case route == m.o.EnrollRoute:
			m.enrolls.WithLabelValues(Result(sw.status)).Inc()
		}
	})
}

// Result names a device API answer for the poll and enrollment counters:
// "ok", "pending" (202: waiting for approval), "throttled" (429),
// "refused" (401, 403), "bad_request" (other 4xx) or "error" (5xx).
func Result(code int) string {
	switch {
	case code == http.StatusAccepted:
		return "pending"
	case code < 400:
		return "ok"
	case code == http.StatusTooManyRequests:
		return "throttled"
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return "refused"
	case code < 500:
		return "bad_request"
	}
	return "error"
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// deviceCollector counts devices in the database at most every CacheFor;
// one scrape counts while the others wait for it or reuse its answer.
type deviceCollector struct {
	o    Options
	desc *prometheus.Desc

	mu     sync.Mutex
	counts []DeviceCount
	at     time.Time // of counts; zero before the first
	tried  time.Time // the last count, whether it worked or not
}

func (c *deviceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *deviceCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.o.Now()
	if c.tried.IsZero() || now.Sub(c.tried) >= c.o.CacheFor {
		c.tried = now
		ctx, cancel := context.WithTimeout(context.Background(), c.o.Timeout)
		counts, err := c.o.Devices(ctx, now.Add(-c.o.Recent))
		cancel()
		if err != nil {
			c.o.Log.Warn("fleetd: metrics: counting devices failed; showing the last count", "err", err, "counted_at", c.at)
		} else {
			c.counts, c.at = counts, now
		}
	}
	for _, d := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(d.Count), d.State, d.Reports)
	}
}
