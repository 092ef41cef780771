// Package metricstest scrapes a Prometheus endpoint the way Prometheus
// does, with its own text parser, for tests of roomd's and fleetd's
// /metrics.
package metricstest

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are a scrape's metric families by name.
type Families map[string]*dto.MetricFamily

// Scrape GETs url with client (nil: http.DefaultClient) and header, and
// parses the answer; it fails t unless the answer is 200 and parses.
func Scrape(t testing.TB, client *http.Client, url string, header http.Header) Families {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return fams
}

// Value is the value of name's first series whose labels include every
// "key=value" of labels: a gauge's or counter's value, a histogram's
// sample count. ok is false when there is no such series.
func (f Families) Value(name string, labels ...string) (v float64, ok bool) {
	m := f.Series(name, labels...)
	if m == nil {
		return 0, false
	}
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	}
	return 0, false
}

// Series is name's first series whose labels include every "key=value"
// of labels, nil when there is none.
func (f Families) Series(name string, labels ...string) *dto.Metric {
	for _, m := range f[name].GetMetric() {
		have := Labels(m)
		match := true
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if got, ok := have[k]; !ok || got != v {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

// Labels are m's labels by name.
func Labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// LabelValues lists every label value of every series, with its metric's
// name, for privacy checks.
func (f Families) LabelValues() map[string][]string {
	out := map[string][]string{}
	for name, fam := range f {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				out[name] = append(out[name], l.GetValue())
			}
		}
	}
	return out
}
