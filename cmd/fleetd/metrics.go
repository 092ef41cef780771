package main

import (
	"github.com/roomd/roomd/internal/fleetmetrics"
	"github.com/roomd/roomd/provisioning"
)

// MetricsPath is where the admin listener serves Prometheus metrics,
// behind the admin API's bearer token (docs/metrics.md).
const MetricsPath = "/metrics"

// The device API's routes, as registered (handler) and as the metrics
// name them.
const (
	routeEnroll = "POST " + provisioning.PathEnroll
	routeConfig = "GET " + provisioning.PathConfig
)

// newMetrics returns f's metrics: the device and admin APIs' requests, and
// the fleet's devices counted in f.Store.
func (f *Fleet) newMetrics() *fleetmetrics.Metrics {
	return fleetmetrics.New(fleetmetrics.Options{PollRoute: routeConfig, EnrollRoute: routeEnroll,
		Devices: f.Store.DeviceCounts, Now: f.Now, Log: f.Log})
}
