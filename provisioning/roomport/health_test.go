package roomport

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/room/policy"
)

// snapshot is a room that always has the same state.
type snapshot room.State

func (s snapshot) Snapshot() room.State { return room.State(s) }

// The policy's call summary reaches the health report field by field; no
// call, no summary.
func TestCallQuality(t *testing.T) {
	if q := CallQuality(nil); q != nil {
		t.Fatalf("no call: %+v", q)
	}
	got := CallQuality(&policy.CallSummary{Calls: 2, Minutes: 29.5, AvgRTTMillis: 30, AvgLossPct: 1.5, Reconnects: 1})
	if want := (provisioning.CallQuality{Calls: 2, Minutes: 29.5, AvgRTTMillis: 30, AvgLossPct: 1.5, Reconnects: 1}); got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("health report %+v, want %+v", got, want)
	}
	// Per protocol (issue 14), and as JSON for fleetd.
	got = CallQuality(&policy.CallSummary{Calls: 3, Protocols: map[string]policy.ProtocolSummary{
		"SIP":   {Calls: 2, Failures: 1, AvgRTTMillis: 40, AvgLossPct: 2},
		"Janus": {Calls: 1, AvgRTTMillis: 10},
	}})
	want := provisioning.CallQuality{Calls: 3, Protocols: map[string]provisioning.ProtocolQuality{
		"SIP":   {Calls: 2, Failures: 1, AvgRTTMillis: 40, AvgLossPct: 2},
		"Janus": {Calls: 1, AvgRTTMillis: 10},
	}}
	if got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("health report %+v, want %+v", got, want)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"protocols":{"Janus":{"calls":1,"failures":0,"avg_rtt_ms":10,"avg_loss_pct":0},"SIP":{"calls":2,"failures":1,"avg_rtt_ms":40,"avg_loss_pct":2}}`) {
		t.Errorf("JSON %s", s)
	}
}

// A report carries the software, its uptime, each device with its reason,
// and the calls since the last report, which it takes.
func TestHealthReport(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	cq := &policy.CallQuality{}
	cq.Update(room.State{Call: room.InCall, CallSeq: 1, Media: room.CallMedia{Protocol: "SIP", RTTMillis: 20, LossPercent: 1}}, t0)
	h := Health{
		Room: snapshot{Hardware: []room.Device{
			{Name: "mute", Kind: "button", State: "loaded"},
			{Name: "camera", Kind: "v4l2", State: "failed", Reason: "no such device"},
		}},
		Calls:    cq,
		Software: "1.2.3",
		Started:  t0.Add(-90 * time.Second),
	}
	r := h.Report(t0.Add(10 * time.Minute))
	if r.Software != "1.2.3" || r.UptimeSeconds != 690 {
		t.Errorf("software %q uptime %d, want 1.2.3 and 690", r.Software, r.UptimeSeconds)
	}
	if len(r.Hardware) != 2 || r.Hardware["mute"] != "loaded" || r.Hardware["camera"] != "failed: no such device" {
		t.Errorf("hardware %q", r.Hardware)
	}
	if q := r.CallQuality; q == nil || q.Calls != 1 || q.Minutes != 10 || q.AvgRTTMillis != 20 {
		t.Errorf("call quality %+v, want one 10-minute call at 20 ms", q)
	} else if p := q.Protocols["SIP"]; len(q.Protocols) != 1 || p != (provisioning.ProtocolQuality{Calls: 1, AvgRTTMillis: 20, AvgLossPct: 1}) {
		t.Errorf("call quality per protocol %+v, want one SIP call at 20 ms", q.Protocols)
	}
	if len(r.LastErrors) != 0 {
		t.Errorf("last errors %q in a healthy room", r.LastErrors)
	}
	// The summary was taken: the next report starts a new one.
	if q := h.Report(t0.Add(10 * time.Minute)).CallQuality; q != nil && q.Minutes != 0 {
		t.Errorf("the next report counts the same minutes again: %+v", q)
	}
	if q := (Health{Room: snapshot{}}).Report(t0).CallQuality; q != nil {
		t.Errorf("no call quality kept, yet reported %+v", q)
	}
}

func TestHealthReportSaysSavedStateWasDamaged(t *testing.T) {
	for _, tt := range []struct {
		r    room.Restored
		want string
	}{
		{room.Restored{From: room.RestoreSaved}, ""},
		{room.Restored{From: room.RestoreNone}, ""},
		{room.Restored{From: room.RestoreDamaged, Detail: "room.json is damaged; kept as room.json.corrupt-x"}, "saved state Damaged: room.json is damaged"},
		{room.Restored{From: room.RestorePrevious, Detail: "room.json is missing"}, "saved state Previous"},
	} {
		h := Health{Room: snapshot{Restored: tt.r}}.Report(time.Now())
		got := strings.Join(h.LastErrors, "\n")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%+v: last errors %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestHealthReportListsDamagedFiles(t *testing.T) {
	h := Health{Room: snapshot{}}.Report(time.Now())
	if len(h.LastErrors) != 0 {
		t.Errorf("nothing damaged: %q", h.LastErrors)
	}
	h = Health{Room: snapshot{DamagedFiles: []room.DamagedFile{
		{Name: "panel-tokens.json.corrupt-20261207T050000Z", Since: time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)},
	}}}.Report(time.Now())
	if len(h.LastErrors) != 1 || !strings.Contains(h.LastErrors[0], "panel-tokens.json.corrupt-20261207T050000Z") ||
		!strings.Contains(h.LastErrors[0], "2026-12-07T05:00:00Z") {
		t.Errorf("last errors %q", h.LastErrors)
	}
}
