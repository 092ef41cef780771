package benchmedia

import (
	"fmt"
	"strings"
	"time"
)

// Targets from issue 14: roomd/baresip at most these.
const (
	targetSIPSetup = 1.0
	targetSIPCPU   = 1.2
	targetSIPPSS   = 1.5
)

// Markdown renders the SIP report: the run's facts, one table, the notes.
// command is the command line to record.
func (r *SIPReport) Markdown(command string) string {
	var b strings.Builder
	o, e := r.Options, r.Env
	fmt.Fprintf(&b, "Measured %s with `%s`.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), command)
	fmt.Fprintf(&b, "Machine: %s, %d cores, Linux %s. roomd %s (%s), %s.\n\n", e.CPU, e.Cores, e.Kernel, e.Roomd, e.Go, r.Baresip)
	fmt.Fprintf(&b, "Each caller sends %d×%d %d fps H.264 at %.1f Mbit/s from the same Y4M (ffmpeg testsrc2) and Opus audio, "+
		"SDES-SRTP over SIP on TCP, to the same far end: a baresip that answers at once and sends the same. "+
		"Setup: after one untimed call each, %d calls per caller, alternating roomd and baresip; then %d measured calls per caller, alternating (ABAB), "+
		"CPU over a %v window after %v in the call, PSS sampled every 0.5 s from the dial to the end of the window. "+
		"roomd shows the far end's video: %s; baresip decodes it into fakevideo's display, which draws nothing.\n",
		o.Width, o.Height, o.FPS, float64(o.Bitrate)/1e6, o.Calls, o.Rounds, o.Window, o.Settle, screenWords(o.Screen))
	if r.Nice != 0 {
		fmt.Fprintf(&b, "\nroomd and both baresips run at nice %d, so that other work on the machine does not starve them.\n", r.Nice)
	}
	if r.NiceFailed != "" {
		fmt.Fprintf(&b, "\n**Not at the nice value asked for** (-nice %d): %s.\n", o.Nice, r.NiceFailed)
	}
	if r.Negotiated != "" {
		fmt.Fprintf(&b, "\nroomd's calls negotiated: %s.\n", r.Negotiated)
	}
	if len(e.RoomdEnv) > 0 {
		fmt.Fprintf(&b, "\nroomd runs with its unit's environment (systemd/roomd.service and the image's drop-in): `%s`.\n", strings.Join(e.RoomdEnv, " "))
	}
	rd, bs := r.Roomd, r.BaresipCaller
	b.WriteString("\n| | roomd | baresip | roomd / baresip | target |\n|---|---|---|---|---|\n")
	row := func(what string, target float64, a, c float64, show func(float64) string) {
		ratio := a / c
		v := "met"
		if ratio > target {
			v = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× | ≤ %.1f×: %s |\n", what, show(a), show(c), ratio, target, v)
	}
	info := func(what, a, c string) { fmt.Fprintf(&b, "| %s | %s | %s | | |\n", what, a, c) }
	msf := func(v float64) string { return fmt.Sprintf("%.0f ms", v*1000) }
	row(fmt.Sprintf("dial → first far-end frame decoded (median of %d)", o.Calls), targetSIPSetup,
		median(rd.Setup).Seconds(), median(bs.Setup).Seconds(), msf)
	row("CPU per minute of call, process tree", targetSIPCPU, rd.CPUPerMinute().Seconds(), bs.CPUPerMinute().Seconds(),
		func(v float64) string { return fmt.Sprintf("%.1f CPU-s", v) })
	info("of which video encode + decode (roomd's codec threads)", windowList(rd.Windows, func(w SIPWindow) time.Duration { return w.Codec })+" CPU-s", "not separable")
	row("peak PSS, process tree", targetSIPPSS, float64(rd.Peak.PSS), float64(bs.Peak.PSS), func(v float64) string { return mibs(int64(v)) })
	info("video encoder", rd.Encoder, bs.Encoder)
	flows := func(c Caller, f func(SIPWindow) string) string {
		s := make([]string, len(c.Windows))
		for i, w := range c.Windows {
			s[i] = f(w)
		}
		return strings.Join(s, "; ")
	}
	info("sent video: size and rate as the far end decodes it, bitrate as the caller counts it", flows(rd, func(w SIPWindow) string { return w.Sent.String() }),
		flows(bs, func(w SIPWindow) string { return w.Sent.String() }))
	info("roomd's congestion-control target at the end", fmt.Sprintf("%.2f Mbit/s", float64(rd.Target)/1e6), "none (fixed bitrate)")
	info("received video (the far end's), decoded", flows(rd, func(w SIPWindow) string { return fmt.Sprintf("%.1f fps", w.Received.FPS) }),
		flows(bs, func(w SIPWindow) string { return fmt.Sprintf("%.1f fps", w.Received.FPS) }))
	info("key frames the far end decoded in each measured call", flows(rd, func(w SIPWindow) string { return fmt.Sprint(w.FarKeyFrames) }),
		flows(bs, func(w SIPWindow) string { return fmt.Sprint(w.FarKeyFrames) }))
	info(fmt.Sprintf("measured calls made again because a side's video fell under %.0f fps", 0.9*float64(o.FPS)), fmt.Sprint(rd.Repeats), fmt.Sprint(bs.Repeats))
	info("each setup, in order", joinList(rd.Setup), joinList(bs.Setup))
	info("CPU-s per minute in each window", windowList(rd.Windows, func(w SIPWindow) time.Duration { return w.CPU }),
		windowList(bs.Windows, func(w SIPWindow) time.Duration { return w.CPU }))
	info("peak summed RSS (counts shared pages again in every process)", mibs(rd.Peak.RSS), mibs(bs.Peak.RSS))
	info("processes in the tree at peak PSS", fmt.Sprint(rd.Peak.Processes), fmt.Sprint(bs.Peak.Processes))
	info("PSS before the first call", mibs(rd.Idle.PSS), mibs(bs.Idle.PSS))
	info("same windows, CPU-s per minute: far end / everything else on the machine", otherList(rd.Windows), otherList(bs.Windows))
	b.WriteString("\n" + sipNotes)
	return b.String()
}

func screenWords(s Screen) string {
	if s == ScreenFramebuffer {
		return "composed into a 1280×720 XRGB8888 framebuffer file in /dev/shm, the device's display path"
	}
	return "decoded, not drawn (`--sim`'s default)"
}

func windowList(ws []SIPWindow, f func(SIPWindow) time.Duration) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = fmt.Sprintf("%.1f", f(w).Seconds())
	}
	return strings.Join(s, ", ")
}

// otherList shows, per window, the far end's CPU and what the rest of the
// machine used besides the caller and the far end.
func otherList(ws []SIPWindow) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = fmt.Sprintf("%.1f / %.1f", w.Far.Seconds(), max(w.Machine-w.CPU-w.Far, 0).Seconds())
	}
	return strings.Join(s, "; ")
}

// sipNotes explain the table; they hold for every run.
const sipNotes = `Notes:
- The encoders differ, as the two products ship them: roomd encodes H.264 with OpenH264 (libwebrtc's real-time settings) and decodes with OpenH264, every encode and decode on a C thread of its own; baresip 1.0.0's avcodec module encodes with libx264 through FFmpeg (preset ultrafast, tune zerolatency, constrained baseline; its source fixes these) and decodes with FFmpeg's h264. Both are given the same size, frame rate and bitrate. roomd sends key frames only when asked; baresip's libx264 keeps FFmpeg's key-frame interval as the avcodec module sets it (the key-frame row counts what the far end decoded).
- Bitrate: baresip's encoder runs at its configured rate (libx264's ABR). roomd's SIP calls run loss-based rate control from the far end's receiver reports, which starts at 1 Mbit/s and steps up 8 % per clean report to its 2.5 Mbit/s ceiling (media/sip/rtpmedia's RateController; [media] start_bitrate and max_bitrate do not reach SIP calls): in a short window roomd sends less than baresip, which costs it a little less in entropy coding and SRTP, not in motion search or decoding.
- Both offer packetization-mode 0 and 1; the far end answered mode 0, so both send NAL units no larger than a packet (roomd: OpenH264's size-limited slices, baresip: libx264's slice-max-size).
- Both read the camera from the same Y4M file in /dev/shm (long enough that no call reaches its end: baresip's avformat stops for seconds where a file loops) and send Opus audio (roomd a 1 kHz tone, unmuted once in the call; baresip a 440 Hz sine); neither plays audio out (roomd --sim has no speaker, baresip's config has no player). baresip's sndfile module (WAV dumps of each call) is loaded on neither baresip.
- Setup is timed from the dial command (roomd: ` + "`xCommand Call Join`" + ` on its control socket; baresip: ` + "`dial`" + ` on ctrl_tcp) to the first decoded picture of the far end: roomd's FramesDecoded on its debug endpoint, baresip's snapshot module creating the file it saves that picture to; both polled every 10 ms. roomd opens its camera before the timing starts (a call from the console keeps it open under unmute_policy "anyone").
- The far end's CPU is shown for context (it decodes what each caller sends), with what everything else on the machine used in the same window: this machine is shared, and a busy window starves all three processes alike (received frame rates below 30 fps show it).
`

// The SIP benchmark's markers and heading in docs/benchmarks.md.
const (
	sipDocBegin   = "<!-- bench-sip:begin (written by cmd/bench-sip; edits between these markers are overwritten) -->"
	sipDocEnd     = "<!-- bench-sip:end -->"
	sipDocHeading = `## SIP: roomd against baresip as the calling endpoint (` + "`make bench-sip`" + `)

The same 720p30 H.264 call, made by the real roomd binary (` + "`roomd --sim`" + `,
a Y4M as its camera, dialling from its control socket) and by baresip
(Debian's baresip-core and baresip-ffmpeg, the same Y4M through its avformat
module), to one auto-answering baresip that sends the same back, one caller
after the other in one run. internal/benchmedia's sip.go says how each
figure is taken.
`
)

// UpdateSIPDoc writes body as the SIP benchmark's section of the file at
// path, leaving the rest of the file alone.
func UpdateSIPDoc(path, body string) error {
	return updateSection(path, sipDocBegin, sipDocEnd, sipDocHeading, body)
}
