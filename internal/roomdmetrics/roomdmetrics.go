// Package roomdmetrics is roomd's Prometheus collector: the room's call,
// call quality, devices, schedule, provisioning and SIP registration, read
// from the room's snapshot and the call engine's figures at scrape time,
// so no hot path pushes anything.
//
// # Privacy and cardinality
//
// No label carries a meeting, a URI, a participant or a user name: labels
// are states from fixed lists, device roles from the board description,
// and the encoder's name reduced to a known few (see [EncoderName]).
//
// docs/metrics.md lists every metric.
package roomdmetrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomd/roomd/internal/metrics"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/room"
)

// Sources are what the collector reads at each scrape. Room is required;
// a nil field leaves its metrics out.
type Sources struct {
	// Room's snapshot holds the call, its figures, devices, provisioning
	// and SIP registration; *room.Room has Snapshot.
	Room interface{ Snapshot() room.State }
	// Calls' figures add the frame counters; *call.Engine has Stats.
	Calls interface{ Stats() call.Stats }
	// Schedule says when the calendar was last fetched;
	// *schedule.Runner has LastFetched. Zero means never.
	Schedule interface{ LastFetched() time.Time }
	// Provisioning says when the fleet last answered a poll;
	// *provisioning.Client has LastPoll. Zero means never.
	Provisioning interface{ LastPoll() time.Time }
	// Now is the clock for ages; nil means time.Now.
	Now func() time.Time
}

// NewRegistry returns a registry with the runtime collectors (metrics.New)
// and roomd's own.
func NewRegistry(s Sources) *prometheus.Registry {
	r := metrics.New()
	r.MustRegister(NewCollector(s))
	return r
}

// Label values, in the order the state gauges list them.
var (
	callStates = []room.CallState{room.Idle, room.Joining, room.InCall, room.Reconnecting, room.Leaving, room.Failed}
	provStates = []room.ProvisioningState{room.Unenrolled, room.Pending, room.Enrolled, room.ProvisioningFailed, room.Revoked}
	sipStates  = []string{room.SIPOff, room.SIPRegistering, room.SIPRegistered, room.SIPFailed}
	devStates  = []string{"loaded", "skipped", "failed"}
)

// Collector is roomd's prometheus.Collector; make one with NewCollector.
type Collector struct {
	s Sources

	callState, callInfo, participants                     *prometheus.Desc
	targetBitrate, sendBitrate, recvBitrate               *prometheus.Desc
	loss, rtt, sendFPS, width, height                     *prometheus.Desc
	framesSent, framesDecoded                             *prometheus.Desc
	micMuted, cameraPrivacy                               *prometheus.Desc
	device                                                *prometheus.Desc
	scheduleStale, scheduleStaleSeconds, scheduleFetchAge *prometheus.Desc
	provState, provVersion, provStale, provPollAge        *prometheus.Desc
	sipState                                              *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("roomd_"+name, help, labels, nil)
}

// NewCollector returns the collector reading s.
func NewCollector(s Sources) *Collector {
	if s.Now == nil {
		s.Now = time.Now
	}
	return &Collector{
		s:                    s,
		callState:            desc("call_state", "1 for the call state the room is in, 0 for the others.", "state"),
		callInfo:             desc("call_info", "1 while a call is set up: how it is carried (protocol, media encryption, video encoder).", "protocol", "encryption", "encoder"),
		participants:         desc("call_participants", "Other participants in the meeting."),
		targetBitrate:        desc("call_target_bitrate_bits_per_second", "Congestion control's send budget."),
		sendBitrate:          desc("call_send_bitrate_bits_per_second", "Bits per second sent (rounded to 10 kbit/s)."),
		recvBitrate:          desc("call_receive_bitrate_bits_per_second", "Bits per second received from all participants (rounded to 10 kbit/s)."),
		loss:                 desc("call_send_loss_ratio", "Share of sent packets the far end reports lost (0 to 1)."),
		rtt:                  desc("call_rtt_seconds", "Round-trip time to the far end."),
		sendFPS:              desc("call_send_frames_per_second", "Video frames sent per second."),
		width:                desc("call_send_width_pixels", "Width of the video sent."),
		height:               desc("call_send_height_pixels", "Height of the video sent."),
		framesSent:           desc("call_video_frames_sent_total", "Video frames sent in the current call (starts again at each call)."),
		framesDecoded:        desc("call_video_frames_decoded_total", "Video frames decoded from all participants in the current call (starts again at each call)."),
		micMuted:             desc("microphone_muted", "1 while the microphones are muted (their real state)."),
		cameraPrivacy:        desc("camera_privacy", "1 while camera privacy is on."),
		device:               desc("device_state", "1 for each hardware device's load state, 0 for the other states.", "device", "kind", "state"),
		scheduleStale:        desc("schedule_stale", "1 while the calendar fails to refresh."),
		scheduleStaleSeconds: desc("schedule_stale_seconds", "Seconds since the calendar started failing to refresh; 0 while it is fresh."),
		scheduleFetchAge:     desc("schedule_last_fetch_age_seconds", "Seconds since the calendar was last fetched successfully (absent before the first fetch)."),
		provState:            desc("provisioning_state", "1 for the room's fleet enrollment state, 0 for the others.", "state"),
		provVersion:          desc("provisioning_config_version", "Version of the fleet configuration in force (0: none)."),
		provStale:            desc("provisioning_config_stale", "1 when the configuration in force has expired or cannot be refreshed."),
		provPollAge:          desc("provisioning_last_poll_age_seconds", "Seconds since the fleet server last answered a poll (absent before the first)."),
		sipState:             desc("sip_registration_state", "1 for the SIP account's registration state, 0 for the others.", "state"),
	}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.callState, c.callInfo, c.participants, c.targetBitrate, c.sendBitrate,
		c.recvBitrate, c.loss, c.rtt, c.sendFPS, c.width, c.height, c.framesSent, c.framesDecoded, c.micMuted,
		c.cameraPrivacy, c.device, c.scheduleStale, c.scheduleStaleSeconds, c.scheduleFetchAge, c.provState,
		c.provVersion, c.provStale, c.provPollAge, c.sipState} {
		ch <- d
	}
}

// Collect reads the room's snapshot (and the other sources) once.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s.Room.Snapshot()
	now := c.s.Now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, st := range callStates {
		gauge(c.callState, flag(s.Call == st), snake(st.String()))
	}
	gauge(c.micMuted, flag(s.MicMute))
	gauge(c.cameraPrivacy, flag(s.CameraPrivacy))
	if s.Call.Active() {
		c.collectCall(ch, s.Media, gauge)
	}
	for _, d := range s.Hardware {
		for _, st := range devStates {
			gauge(c.device, flag(d.State == st), d.Name, d.Kind, st)
		}
	}

	gauge(c.scheduleStale, flag(!s.ScheduleStaleSince.IsZero()))
	stale := 0.0
	if !s.ScheduleStaleSince.IsZero() {
		stale = max(now.Sub(s.ScheduleStaleSince).Seconds(), 0)
	}
	gauge(c.scheduleStaleSeconds, stale)
	if c.s.Schedule != nil {
		if at := c.s.Schedule.LastFetched(); !at.IsZero() {
			gauge(c.scheduleFetchAge, max(now.Sub(at).Seconds(), 0))
		}
	}

	for _, st := range provStates {
		gauge(c.provState, flag(s.Provisioning.State == st), snake(st.String()))
	}
	gauge(c.provVersion, float64(s.Provisioning.ConfigVersion))
	gauge(c.provStale, flag(s.Provisioning.Stale))
	if c.s.Provisioning != nil {
		if at := c.s.Provisioning.LastPoll(); !at.IsZero() {
			gauge(c.provPollAge, max(now.Sub(at).Seconds(), 0))
		}
	}

	sip := s.SIP.Status
	if sip == "" {
		sip = room.SIPOff
	}
	for _, st := range sipStates {
		gauge(c.sipState, flag(sip == st), snake(st))
	}
}

// collectCall sends the figures of a call under way.
func (c *Collector) collectCall(ch chan<- prometheus.Metric, m room.CallMedia, gauge func(*prometheus.Desc, float64, ...string)) {
	var es call.Stats
	if c.s.Calls != nil {
		es = c.s.Calls.Stats()
	}
	protocol, encoder := m.Protocol, m.Encoder
	if protocol == "" {
		protocol = es.Protocol
	}
	if encoder == "" {
		encoder = es.Encoder
	}
	// "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)": the method, not the suite.
	enc, _, _ := strings.Cut(m.Encryption, " ")
	gauge(c.callInfo, 1, bounded(protocol, "Janus", "WHIP", "SIP"), bounded(enc, "DTLS-SRTP", "SDES-SRTP", "none"), EncoderName(encoder))
	gauge(c.participants, float64(m.Participants))
	gauge(c.targetBitrate, float64(m.TargetBitrate))
	gauge(c.sendBitrate, float64(m.SendBitrate))
	gauge(c.recvBitrate, float64(m.RecvBitrate))
	gauge(c.loss, m.LossPercent/100)
	gauge(c.rtt, float64(m.RTTMillis)/1000)
	gauge(c.sendFPS, m.SendFPS)
	gauge(c.width, float64(m.Width))
	gauge(c.height, float64(m.Height))
	if c.s.Calls != nil {
		ch <- prometheus.MustNewConstMetric(c.framesSent, prometheus.CounterValue, float64(es.FramesSent))
		var decoded uint64
		for _, n := range es.FramesDecoded {
			decoded += n
		}
		ch <- prometheus.MustNewConstMetric(c.framesDecoded, prometheus.CounterValue, float64(decoded))
	}
}

// Encoder names EncoderName returns.
var encoders = []string{"v4l2m2m", "openh264", "libvpx"}

// EncoderName reduces the engine's encoder sentence (codec.Selection's
// Reason, or the reason a hardware encoder fell back to software) to a
// label from a fixed list: "v4l2m2m", "openh264", "libvpx",
// "passthrough", "" when there is none yet, "other" otherwise. The
// sentence itself names devices and errors, which labels must not carry.
func EncoderName(reason string) string {
	switch {
	case reason == "":
		return ""
	case strings.Contains(reason, "passed through"):
		return "passthrough"
	case strings.Contains(reason, "switched to openh264"):
		return "openh264"
	}
	i := strings.LastIndex(reason, "using ")
	if i < 0 {
		return "other"
	}
	name, _, _ := strings.Cut(reason[i+len("using "):], " ")
	return bounded(name, encoders...)
}

// bounded returns v if it is one of known, "" for "", else "other".
func bounded(v string, known ...string) string {
	if v == "" {
		return ""
	}
	for _, k := range known {
		if strings.EqualFold(v, k) {
			return k
		}
	}
	return "other"
}

// snake turns a state's name ("InCall") into a label value ("in_call").
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
