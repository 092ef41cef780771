package roomdmetrics

import (
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/metrics"
	"github.com/roomd/roomd/internal/metrics/metricstest"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/room"
)

type fakeRoom struct{ s room.State }

func (f *fakeRoom) Snapshot() room.State { return f.s }

type fakeCalls struct{ s call.Stats }

func (f *fakeCalls) Stats() call.Stats { return f.s }

type lastAt time.Time

func (l lastAt) LastFetched() time.Time { return time.Time(l) }
func (l lastAt) LastPoll() time.Time    { return time.Time(l) }

// scrape serves s's registry over HTTP and parses the answer with
// Prometheus's own text parser.
func scrape(t *testing.T, s Sources) metricstest.Families {
	t.Helper()
	srv := httptest.NewServer(metrics.Handler(NewRegistry(s)))
	defer srv.Close()
	return metricstest.Scrape(t, nil, srv.URL, nil)
}

func TestCollectInCall(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rm := &fakeRoom{s: room.State{
		Call:    room.InCall,
		Meeting: room.Meeting{ID: "secret-meeting-id", URI: "janus+https://x.example/?room=1234", Title: "Board meeting"},
		Media: room.CallMedia{Protocol: "Janus", Encryption: "DTLS-SRTP", Participants: 2, TargetBitrate: 1_500_000,
			SendBitrate: 1_200_000, RecvBitrate: 800_000, LossPercent: 1.5, RTTMillis: 42, SendFPS: 15, Width: 320, Height: 180,
			Encoder:  "hardware: no V4L2 M2M H.264 encoder found (/dev/video11 missing); using openh264 software (H.264)",
			Received: []room.ReceivedVideo{{Participant: "Alice Example", FPS: 15}}},
		MicMute:            true,
		Hardware:           []room.Device{{Name: "mute_led", Kind: "led", State: "loaded"}, {Name: "sensor", Kind: "sensor", State: "failed", Reason: "i2c: no device"}},
		ScheduleStaleSince: now.Add(-90 * time.Second),
		Provisioning:       room.Provisioning{State: room.Enrolled, ConfigVersion: 7},
		SIP:                room.SIPRegistration{Status: room.SIPRegistered, URI: "sip:room@pbx.example"},
	}}
	calls := &fakeCalls{s: call.Stats{FramesSent: 321, FramesDecoded: map[string]uint64{"Alice Example": 100, "Bob": 11}}}
	fams := scrape(t, Sources{Room: rm, Calls: calls, Schedule: lastAt(now.Add(-10 * time.Minute)),
		Provisioning: lastAt(now.Add(-30 * time.Second)), Now: func() time.Time { return now }})

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"roomd_call_state", []string{"state=in_call"}, 1},
		{"roomd_call_state", []string{"state=idle"}, 0},
		{"roomd_call_info", []string{"protocol=Janus", "encryption=DTLS-SRTP", "encoder=openh264"}, 1},
		{"roomd_call_participants", nil, 2},
		{"roomd_call_target_bitrate_bits_per_second", nil, 1_500_000},
		{"roomd_call_send_bitrate_bits_per_second", nil, 1_200_000},
		{"roomd_call_receive_bitrate_bits_per_second", nil, 800_000},
		{"roomd_call_send_loss_ratio", nil, 0.015},
		{"roomd_call_rtt_seconds", nil, 0.042},
		{"roomd_call_send_frames_per_second", nil, 15},
		{"roomd_call_send_width_pixels", nil, 320},
		{"roomd_call_video_frames_sent_total", nil, 321},
		{"roomd_call_video_frames_decoded_total", nil, 111},
		{"roomd_microphone_muted", nil, 1},
		{"roomd_camera_privacy", nil, 0},
		{"roomd_device_state", []string{"device=mute_led", "kind=led", "state=loaded"}, 1},
		{"roomd_device_state", []string{"device=sensor", "state=failed"}, 1},
		{"roomd_device_state", []string{"device=sensor", "state=loaded"}, 0},
		{"roomd_schedule_stale", nil, 1},
		{"roomd_schedule_stale_seconds", nil, 90},
		{"roomd_schedule_last_fetch_age_seconds", nil, 600},
		{"roomd_provisioning_state", []string{"state=enrolled"}, 1},
		{"roomd_provisioning_state", []string{"state=unenrolled"}, 0},
		{"roomd_provisioning_config_version", nil, 7},
		{"roomd_provisioning_last_poll_age_seconds", nil, 30},
		{"roomd_sip_registration_state", []string{"state=registered"}, 1},
		{"roomd_sip_registration_state", []string{"state=failed"}, 0},
	} {
		got, ok := fams.Value(tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v); want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if n := len(fams["roomd_device_state"].GetMetric()); n != 6 {
		t.Errorf("roomd_device_state has %d series; want 3 states × 2 devices", n)
	}
	// Privacy: nothing about the meeting, its link, people or the SIP
	// account reaches a label.
	for name, values := range fams.LabelValues() {
		for _, v := range values {
			for _, secret := range []string{"secret-meeting-id", "x.example", "Board meeting", "Alice", "Bob", "pbx.example", "/dev/video11"} {
				if strings.Contains(v, secret) {
					t.Errorf("%s label %q carries %q", name, v, secret)
				}
			}
		}
	}
}

// Outside a call there are no call figures; sources roomd runs without
// leave their metrics out.
func TestCollectIdle(t *testing.T) {
	fams := scrape(t, Sources{Room: &fakeRoom{s: room.State{Call: room.Idle}}})
	if v, ok := fams.Value("roomd_call_state", "state=idle"); !ok || v != 1 {
		t.Errorf("roomd_call_state{state=idle} = %v, %v", v, ok)
	}
	if v, ok := fams.Value("roomd_sip_registration_state", "state=off"); !ok || v != 1 {
		t.Errorf("roomd_sip_registration_state{state=off} = %v, %v (an empty status is Off)", v, ok)
	}
	var absent []string
	for _, name := range []string{"roomd_call_info", "roomd_call_send_bitrate_bits_per_second", "roomd_call_video_frames_sent_total",
		"roomd_schedule_last_fetch_age_seconds", "roomd_provisioning_last_poll_age_seconds"} {
		if _, ok := fams[name]; ok {
			absent = append(absent, name)
		}
	}
	sort.Strings(absent)
	if len(absent) > 0 {
		t.Errorf("present while idle or without a source: %v", absent)
	}
}

func TestEncoderName(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{"", ""},
		{"using openh264 software (H.264)", "openh264"},
		{"using v4l2m2m hardware (H.264) /dev/video11 (bcm2835-codec-encode)", "v4l2m2m"},
		{"H264: roomd has no encoder for it; using libvpx software (VP8)", "libvpx"},
		{"hardware: no V4L2 M2M H.264 encoder found (/dev/video11 missing); using openh264 software (H.264)", "openh264"},
		{"V4L2 M2M encoder /dev/video11 failed: EIO; switched to openh264 software", "openh264"},
		{"camera's own H.264 passed through (key frames on request; 2 Mbit/s); openh264 for the privacy slate", "passthrough"},
		{"using x264 software (H.264)", "other"},
		{"something else entirely", "other"},
	} {
		if got := EncoderName(tc.reason); got != tc.want {
			t.Errorf("EncoderName(%q) = %q; want %q", tc.reason, got, tc.want)
		}
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"InCall": "in_call", "Idle": "idle", "Registering": "registering", "Off": "off"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q; want %q", in, got, want)
		}
	}
}
