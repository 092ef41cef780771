package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/fleetmetrics"
	"github.com/roomd/roomd/internal/metrics/metricstest"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/provisioning/roomport"
	"github.com/roomd/roomd/room"
)

// The admin listener's /metrics, behind the admin token, counts a real
// device's enrollment and polls, times them per route, and counts the
// fleet's devices in the database; the device API does not serve it.
func TestMetricsOnAdminListener(t *testing.T) {
	sf := startServe(t, serveOptions{}, nil)
	f := sf.f
	seedFleet(t, f, "fjord", "Fjord", &provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord"}})
	code := issueCode(t, f, "fjord", false)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: sf.tls}, Timeout: 10 * time.Second}
	url := "https://" + sf.adminAddr + MetricsPath
	auth := http.Header{"Authorization": {"Bearer " + sf.token}}

	// Never without the token, never on the device API.
	for _, h := range []http.Header{nil, {"Authorization": {"Bearer " + sf.token[:len(sf.token)-1]}}} {
		req, _ := http.NewRequest("GET", url, nil)
		if h != nil {
			req.Header = h
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with %v: %s, want 401", MetricsPath, h, resp.Status)
		}
	}
	resp, err := hc.Get("https://" + sf.addr + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("device API %s: %s, want 404", MetricsPath, resp.Status)
	}

	rm := &fakeRoom{settings: room.DefaultSettings()}
	cl, _ := runClient(t, provisioning.ClientOptions{Server: "https://" + sf.addr, Dir: filepath.Join(t.TempDir(), "device"),
		RootCAs: caPool(f), Room: roomport.New(rm), StartDelay: time.Millisecond, Poll: 100 * time.Millisecond, ActivationCode: code,
		Health: func() provisioning.HealthReport { return provisioning.HealthReport{Software: "test"} }})
	// The device counts are cached for 30 s: scrape once the device has
	// reported, so the first count holds it.
	waitFor(t, 30*time.Second, "a health report", func() bool {
		hs, err := f.Store.Fleet(t.Context(), "acme")
		return err == nil && len(hs) == 1 && hs[0].Report != ""
	})
	var fams metricstest.Families
	waitFor(t, 30*time.Second, "three polls in /metrics", func() bool {
		fams = metricstest.Scrape(t, hc, url, auth)
		n, _ := fams.Value("fleetd_polls_total", "result=ok")
		return n >= 3
	})
	if n, _ := fams.Value("fleetd_enrollments_total", "result=ok"); n != 1 {
		t.Errorf("fleetd_enrollments_total{result=ok} = %v; want 1", n)
	}
	for _, route := range []string{routeEnroll, routeConfig, "POST " + provisioning.PathReport} {
		if n, _ := fams.Value("fleetd_http_request_duration_seconds", "api=device", "route="+route); n < 1 {
			t.Errorf("latency histogram of %s has %v samples", route, n)
		}
	}
	// Every poll is a request on the config route (200 with a bundle,
	// 304 without a new one).
	polls, _ := fams.Value("fleetd_polls_total", "result=ok")
	configRequests := 0.0
	for _, m := range fams["fleetd_http_requests_total"].GetMetric() {
		if l := metricstest.Labels(m); l["api"] == "device" && l["route"] == routeConfig {
			configRequests += m.GetCounter().GetValue()
		}
	}
	// A scrape may fall between a request's two counts: one ahead at most.
	if configRequests != polls && configRequests != polls+1 {
		t.Errorf("%v requests on %s, %v polls counted", configRequests, routeConfig, polls)
	}
	if n, _ := fams.Value("fleetd_http_requests_total", "api=admin", "route=unmatched", "code=401"); n != 2 {
		t.Errorf("refused admin requests counted %v; want 2: %v", n, fams["fleetd_http_requests_total"])
	}
	if n, _ := fams.Value("fleetd_devices", "state=active", "reports=recent"); n != 1 {
		t.Errorf("fleetd_devices{state=active,reports=recent} = %v; want 1", n)
	}
	for name, values := range fams.LabelValues() {
		for _, v := range values {
			if strings.Contains(v, "fjord") || strings.Contains(v, "acme") || strings.Contains(v, cl.Fingerprint()) {
				t.Errorf("%s label %q names a room, an organisation or a device", name, v)
			}
		}
	}
	if _, p := rm.snapshot(); p.State != room.Enrolled {
		t.Errorf("device: %v", p.State)
	}
	// The device side of the same polls (roomd_provisioning_last_poll_age_seconds).
	if lp := cl.LastPoll(); lp.IsZero() || time.Since(lp) > 10*time.Second {
		t.Errorf("device's LastPoll = %v after answered polls", lp)
	}
	// The scrape before this one is timed too.
	again := metricstest.Scrape(t, hc, url, auth)
	if n, _ := again.Value("fleetd_http_request_duration_seconds", "api=admin", "route=GET "+MetricsPath); n < 1 {
		t.Errorf("scrapes are not timed: %v", n)
	}
}

// DeviceCounts groups every organisation's devices by state and report
// freshness, on both databases.
func TestStoreDeviceCounts(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := t.Context()
		now := time.UnixMilli(1_800_000_000_000)
		for _, org := range []string{"acme", "initech"} {
			if err := st.CreateOrg(ctx, org, org); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateRoom(ctx, org, "fjord", "Fjord"); err != nil {
				t.Fatal(err)
			}
		}
		for i, d := range []struct {
			org, state string
			reported   time.Duration // ago; 0 for never
		}{
			{"acme", stateActive, time.Minute},
			{"acme", stateActive, time.Hour},
			{"initech", stateActive, 2 * time.Minute},
			{"acme", statePending, 0},
			{"initech", stateRevoked, 0},
		} {
			id := fmt.Sprintf("d%d", i)
			if err := st.CreateDevice(ctx, Device{ID: id, OrgID: d.org, RoomID: "fjord", Fingerprint: "fp" + id, State: d.state, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if d.reported > 0 {
				if err := st.AddReport(ctx, id, now.Add(-d.reported), "{}"); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := st.DeviceCounts(ctx, now.Add(-15*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := []fleetmetrics.DeviceCount{
			{State: stateActive, Reports: fleetmetrics.ReportsRecent, Count: 2},
			{State: stateActive, Reports: fleetmetrics.ReportsSilent, Count: 1},
			{State: statePending, Reports: fleetmetrics.ReportsNever, Count: 1},
			{State: stateRevoked, Reports: fleetmetrics.ReportsNever, Count: 1},
		}
		if !slices.Equal(got, want) {
			t.Errorf("DeviceCounts = %+v; want %+v", got, want)
		}
	})
}
