// Package metrics holds what roomd's and fleetd's Prometheus endpoints
// share: a registry with the Go runtime's and the process's own collectors,
// and the HTTP handler that serves it in the text exposition format.
//
// Each program registers its own collectors on the registry New returns;
// nothing is registered globally, so tests and two servers in one process
// never collide.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// New returns a registry with the Go runtime and process collectors.
func New() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves r's metrics. Errors while gathering are reported in the
// response (HTTP 500), never by panicking.
func Handler(r *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError, Registry: r})
}
