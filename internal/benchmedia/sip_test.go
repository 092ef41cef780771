package benchmedia

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// What baresip 1.0.0's video_debug printed in a call of the benchmark.
const videoDebugSample = `
--- Video stream ---
 started: yes
 tx: encode: H264 yuv420p
     source: avformat 1280 x 720, fps=30.00 frames=150
     skipc=55 sendq=0
     time = 4.833 sec
 rx: decode: H264 yuv420p
     vidisp: fakevideo 1280 x 720 frames=299
     n_keyframes=1, n_picup=0
     time = 10.056 sec
video tx pipeline:   avformat ---> snapshot ---> H264
video rx pipeline:  fakevideo <--- snapshot <--- H264
 video dir=sendrecv pt_enc=97
 menc: srtp-mand (secure=yes)
RTP debug:
 Encode: seq=1331 ssrc=0xfd286ff0
----- RTCP Session: -----
  member 0x160be794: lost=0 Jitter=1.1ms RTT=0.1ms
                 IP=127.0.0.1:55780 psent=2255 rcvd=2280
  TX: packets=1089, octets=1022375
`

func TestParseVideoDebug(t *testing.T) {
	v, err := parseVideoDebug(videoDebugSample)
	if err != nil {
		t.Fatal(err)
	}
	want := videoDebug{rxSize: Size{1280, 720}, rxFrames: 299, keyFrames: 1, txOctets: 1022375}
	if v != want {
		t.Errorf("parsed %+v, want %+v", v, want)
	}
	// Out of a call there is no video stream: an error, not zeros.
	if _, err := parseVideoDebug("no video stream\n"); err == nil {
		t.Error("output without a video stream parsed")
	}
}

// The configuration the SIP benchmark gives roomd: the unmute policy in
// [room], the starting bitrate in [media], the extra [sip] section whole.
func TestRoomdConfigForSIP(t *testing.T) {
	c := roomdConfig{Name: "r", Video: "y4m:/x.y4m", Width: 1280, Height: 720, FPS: 30, Codec: "h264", MaxBitrate: 2_500_000,
		StartBitrate: 2_000_000, UnmutePolicy: "anyone", Extra: "[sip]\nlisten_tcp = \"127.0.0.1:0\"\n"}
	var got struct {
		Room struct {
			UnmutePolicy string `toml:"unmute_policy"`
		} `toml:"room"`
		Media struct {
			StartBitrate int `toml:"start_bitrate"`
			MaxBitrate   int `toml:"max_bitrate"`
		} `toml:"media"`
		SIP struct {
			ListenTCP string `toml:"listen_tcp"`
		} `toml:"sip"`
	}
	if _, err := toml.Decode(c.toml(t.TempDir()), &got); err != nil {
		t.Fatalf("%v\n%s", err, c.toml("/tmp"))
	}
	if got.Room.UnmutePolicy != "anyone" || got.Media.StartBitrate != 2_000_000 || got.Media.MaxBitrate != 2_500_000 || got.SIP.ListenTCP != "127.0.0.1:0" {
		t.Errorf("decoded %+v", got)
	}
	// Without them, nothing is written.
	plain := roomdConfig{Name: "r", Video: "pattern", Width: 640, Height: 360, FPS: 15, Codec: "vp8"}.toml("/tmp")
	for _, key := range []string{"unmute_policy", "start_bitrate", "[sip]"} {
		if strings.Contains(plain, key) {
			t.Errorf("config without SIP options has %s:\n%s", key, plain)
		}
	}
}

// The SIP table shows both callers, the ratios and which targets are met.
// The figures are made up for the test.
func TestSIPMarkdown(t *testing.T) {
	o := SIPOptions{}
	o.defaults()
	o.Calls = 3
	win := func(cpu time.Duration) SIPWindow {
		return SIPWindow{Length: 30 * time.Second, CPU: cpu, Codec: 9 * time.Second, Far: 12 * time.Second, Machine: cpu + 20*time.Second,
			Sent: Flow{Size: Size{1280, 720}, FPS: 29.5, Bitrate: 2_000_000}, Received: Flow{FPS: 30}, FarKeyFrames: 1}
	}
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, n := range v {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	r := &SIPReport{Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Options: o, Baresip: "baresip 1.0.0",
		Roomd: Caller{Name: "roomd", Setup: ms(100, 300, 200), Windows: []SIPWindow{win(12 * time.Second), win(14 * time.Second)},
			Peak: Memory{PSS: 60 << 20, RSS: 70 << 20, Processes: 1}, Encoder: "using openh264 software (H.264)", Target: 2_000_000, Repeats: 1},
		BaresipCaller: Caller{Name: "baresip", Setup: ms(150, 150, 150), Windows: []SIPWindow{win(10 * time.Second), win(10 * time.Second)},
			Peak: Memory{PSS: 30 << 20, RSS: 90 << 20, Processes: 1}, Encoder: "'libx264'"},
		Negotiated: "video H264/90000 pt 97 packetization-mode 0", Nice: -10}
	md := r.Markdown("bench-sip -calls 3")
	for _, want := range []string{
		"Measured 2026-01-02 03:04 UTC with `bench-sip -calls 3`.",
		"| dial → first far-end frame decoded (median of 3) | 200 ms | 150 ms | 1.33× | ≤ 1.0×: **missed** |",
		"| CPU per minute of call, process tree | 13.0 CPU-s | 10.0 CPU-s | 1.30× | ≤ 1.2×: **missed** |",
		"| peak PSS, process tree | 60 MiB | 30 MiB | 2.00× | ≤ 1.5×: **missed** |",
		"| CPU-s per minute in each window | 12.0, 14.0 | 10.0, 10.0 | | |",
		"| of which video encode + decode (roomd's codec threads) | 9.0, 9.0 CPU-s | not separable | | |",
		"| key frames the far end decoded in each measured call | 1; 1 | 1; 1 | | |",
		"| measured calls made again because a side's video fell under 27 fps | 1 | 0 | | |",
		"1280×720, 29.5 fps, 2.00 Mbit/s; 1280×720, 29.5 fps, 2.00 Mbit/s",
		"packetization-mode 0",
		"run at nice -10",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	r.Roomd.Windows = []SIPWindow{win(11 * time.Second)}
	r.Roomd.Setup = ms(100, 100, 100)
	r.Roomd.Peak.PSS = 40 << 20
	r.Nice, r.NiceFailed = 0, "permission denied"
	md = r.Markdown("x")
	for _, want := range []string{"0.67× | ≤ 1.0×: met", "1.10× | ≤ 1.2×: met", "1.33× | ≤ 1.5×: met",
		"**Not at the nice value asked for** (-nice 0): permission denied."} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

// Renice reaches every thread of a real process: here a raise, which needs
// no privilege.
func TestRenice(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if err := Renice(cmd.Process.Pid, 7); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	// nice is the 19th field; fields after comm start at state (3rd).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if f[19-3] != "7" {
		t.Errorf("nice field %q after Renice 7; stat: %s", f[19-3], b)
	}
	if err := Renice(1<<22, 1); err == nil {
		t.Error("Renice of a process that does not exist succeeded")
	}
}

// ReniceSession moves only a session this process leads: a test binary,
// started by go test, leads none, so it refuses where autogroups are on.
func TestReniceSessionRefusesAnotherSession(t *testing.T) {
	on, err := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled")
	if err != nil || strings.TrimSpace(string(on)) != "1" {
		if err := ReniceSession(5); err != nil {
			t.Errorf("without autogroups: %v", err)
		}
		return
	}
	if err := ReniceSession(5); err == nil || !strings.Contains(err.Error(), "setsid") {
		t.Errorf("ReniceSession in a session it does not lead: %v; want a refusal naming setsid", err)
	}
}

// A window is starved when the video either way fell under 90 % of the
// frame rate.
func TestSIPWindowStarved(t *testing.T) {
	for _, c := range []struct {
		sent, recv float64
		want       bool
	}{{29.5, 30, false}, {27, 27, false}, {26.9, 30, true}, {30, 15.4, true}} {
		w := SIPWindow{Sent: Flow{FPS: c.sent}, Received: Flow{FPS: c.recv}}
		if got := w.starved(30); got != c.want {
			t.Errorf("sent %.1f fps, received %.1f fps: starved %v, want %v", c.sent, c.recv, got, c.want)
		}
	}
}

// The SIP section goes after the media section the first time and replaces
// only itself after that.
func TestUpdateSIPDocKeepsTheMediaSection(t *testing.T) {
	p := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := UpdateDoc(p, "media run\n"); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"sip run 1", "sip run 2"} {
		if err := UpdateSIPDoc(p, run); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(p)
	s := string(b)
	if !strings.Contains(s, "media run\n"+docEnd) || strings.Contains(s, "sip run 1") || strings.Count(s, sipDocBegin) != 1 ||
		!strings.Contains(s, "sip run 2\n"+sipDocEnd) || strings.Index(s, docEnd) > strings.Index(s, sipDocBegin) {
		t.Fatalf("file:\n%s", s)
	}
}
