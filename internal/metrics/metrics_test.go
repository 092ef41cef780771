package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The handler's output parses with Prometheus's own text parser and holds
// the runtime collectors and a program's own metric.
func TestHandlerServesParsableText(t *testing.T) {
	r := New()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "roomd_test_total", Help: "A counter for this test."})
	r.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(Handler(r))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if got := fams["roomd_test_total"].GetMetric()[0].GetCounter().GetValue(); got != 3 {
		t.Errorf("roomd_test_total = %v; want 3", got)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
}
