package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/internal/janustest"
	"github.com/roomd/roomd/internal/metrics/metricstest"
)

// joinJanus has d join vr on j through its control socket, and returns
// the console client (closed when t ends) and the meeting link.
func joinJanus(ctx context.Context, t *testing.T, d *daemonUnderTest, j *janustest.Server, vr janustest.Room) (*consoleclient.Client, string) {
	t.Helper()
	c, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	link := fmt.Sprintf("janus+%s?room=%d", strings.TrimSuffix(j.URL, "/"), vr.ID)
	if _, err := c.Exec(ctx, fmt.Sprintf(`xCommand Call Join Uri: "%s" Passcode: "%s"`, link, vr.PIN)); err != nil {
		t.Fatal(err)
	}
	return c, link
}

// The debug listener's /metrics follows a real call to Janus: in call with
// frames and bits going out, carried by Janus over DTLS-SRTP with a named
// encoder, then idle again; and no label carries the meeting. Before the
// call: devices, provisioning, SIP, and the age of the calendar fetched
// from a real HTTPS feed.
func TestDaemonMetricsDuringCall(t *testing.T) {
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	feed, ca := serveICS(t, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomd//metrics test//EN\r\nEND:VCALENDAR\r\n")
	d := startCallRoomd(t, "[schedule]\nurl = \""+feed.URL+"/room.ics\"\n", "SSL_CERT_FILE="+ca)
	url := d.debug + "/metrics"

	fams := metricstest.Scrape(t, nil, url, nil)
	for _, want := range []struct {
		name   string
		labels []string
		v      float64
	}{
		{"roomd_call_state", []string{"state=idle"}, 1},
		{"roomd_call_state", []string{"state=in_call"}, 0},
		{"roomd_provisioning_state", []string{"state=unenrolled"}, 1},
		{"roomd_sip_registration_state", []string{"state=off"}, 1},
		{"roomd_device_state", []string{"device=mute_led", "state=loaded"}, 1},
	} {
		if v, ok := fams.Value(want.name, want.labels...); !ok || v != want.v {
			t.Errorf("before the call: %s%v = %v (present %v); want %v", want.name, want.labels, v, ok, want.v)
		}
	}
	// The calendar is fetched at start: its age is seconds, not minutes.
	age, ok := fams.Value("roomd_schedule_last_fetch_age_seconds")
	for deadline := time.Now().Add(20 * time.Second); !ok; age, ok = fams.Value("roomd_schedule_last_fetch_age_seconds") {
		if time.Now().After(deadline) {
			t.Fatalf("no roomd_schedule_last_fetch_age_seconds: the calendar was never fetched\n%s", d.logs())
		}
		time.Sleep(100 * time.Millisecond)
		fams = metricstest.Scrape(t, nil, url, nil)
	}
	if age < 0 || age > 30 {
		t.Errorf("roomd_schedule_last_fetch_age_seconds = %v just after the fetch", age)
	}
	if v, ok := fams.Value("roomd_schedule_stale"); !ok || v != 0 {
		t.Errorf("roomd_schedule_stale = %v (present %v) with the feed answering", v, ok)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("go_goroutines missing: the runtime collectors are not registered")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _ := joinJanus(ctx, t, d, j, vr)
	// The engine reports its figures every two seconds: wait for frames
	// and a send bitrate.
	for {
		fams = metricstest.Scrape(t, nil, url, nil)
		inCall, _ := fams.Value("roomd_call_state", "state=in_call")
		frames, _ := fams.Value("roomd_call_video_frames_sent_total")
		bitrate, _ := fams.Value("roomd_call_send_bitrate_bits_per_second")
		if inCall == 1 && frames > 0 && bitrate > 0 {
			t.Logf("in call: %v frames sent, %v bit/s", frames, bitrate)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("in_call %v, frames sent %v, send bitrate %v: the call's metrics never moved\n%s", inCall, frames, bitrate, d.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	info := fams["roomd_call_info"].GetMetric()
	if len(info) != 1 {
		t.Fatalf("roomd_call_info has %d series; want 1", len(info))
	}
	labels := metricstest.Labels(info[0])
	if labels["protocol"] != "Janus" || labels["encryption"] != "DTLS-SRTP" || labels["encoder"] == "" || labels["encoder"] == "other" {
		t.Errorf("roomd_call_info labels %v; want protocol Janus, DTLS-SRTP and a known encoder", labels)
	}
	if v, ok := fams.Value("roomd_call_send_frames_per_second"); !ok || v <= 0 {
		t.Errorf("roomd_call_send_frames_per_second = %v (present %v)", v, ok)
	}
	for name, values := range fams.LabelValues() {
		for _, v := range values {
			if strings.Contains(v, vr.PIN) || strings.Contains(v, fmt.Sprint(vr.ID)) || strings.Contains(v, "janus+") {
				t.Errorf("%s label %q names the meeting", name, v)
			}
		}
	}

	if _, err := c.Exec(ctx, "xCommand Call Leave"); err != nil {
		t.Fatal(err)
	}
	for {
		fams = metricstest.Scrape(t, nil, url, nil)
		if v, _ := fams.Value("roomd_call_state", "state=idle"); v == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("roomd_call_state never went back to idle")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, ok := fams["roomd_call_info"]; ok {
		t.Error("roomd_call_info still present after the call")
	}
}
