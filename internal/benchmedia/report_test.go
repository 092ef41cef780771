package benchmedia

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, n := range v {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{ms(5), 5 * time.Millisecond},
		{ms(9, 1, 5), 5 * time.Millisecond},
		{ms(4, 1, 3, 2), 2500 * time.Microsecond},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// The table shows every subject, the ratios against Chromium and which
// targets are met. The figures are made up for the test.
func TestMarkdown(t *testing.T) {
	o := Options{}
	o.defaults()
	o.Joins = 3
	sub := func(cpu time.Duration, pss int64, joins ...time.Duration) Measured {
		return Measured{Joins: joins, CPUPerMinute: cpu, Peak: Memory{PSS: pss << 20, RSS: pss << 21, Processes: 1},
			Sent: Flow{Size: Size{1280, 720}, FPS: 30}, Received: Flow{FPS: 29.96}}
	}
	rec, none := sub(20*time.Second, 90, 100*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond), sub(10*time.Second, 60, time.Second, time.Second, time.Second)
	rec.Screen, none.Screen = ScreenFramebuffer, ScreenNone
	rec.Camera, none.Camera = CameraRaw, CameraRaw
	rec.CodecPerMinute, none.CodecPerMinute = 12*time.Second, 9*time.Second
	mj, pass := sub(18*time.Second, 80, 300*time.Millisecond), sub(3*time.Second, 50, 100*time.Millisecond)
	mj.Screen, mj.Camera, mj.CodecPerMinute = ScreenFramebuffer, CameraMJPEG, 10*time.Second
	pass.Screen, pass.Camera, pass.CodecPerMinute = ScreenFramebuffer, CameraH264, 2*time.Second
	br := sub(30*time.Second, 400, 400*time.Millisecond, 400*time.Millisecond, 400*time.Millisecond)
	br.Name, br.Camera = "Chromium", CameraRaw
	brmj := sub(40*time.Second, 400, 400*time.Millisecond)
	brmj.Name, brmj.Camera = "Chromium", CameraMJPEG
	r := &Report{Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Options: o, LoadBefore: "9.50 8.00 7.00", LoadAfter: "10.00 9.00 8.00",
		Results:  []CodecResult{{Codec: "vp8", Roomd: []Measured{rec, none, mj, pass}, Browsers: []Measured{br, brmj}}},
		Denoiser: Denoiser{Frames: 900, Off: 10 * time.Second, On: 12 * time.Second}}
	md := r.Markdown("bench-media -joins 3")
	for _, want := range []string{
		"Measured 2026-01-02 03:04 UTC with `bench-media -joins 3`.",
		"Load average (1, 5, 15 min) at the start: 9.50 8.00 7.00; at the end: 10.00 9.00 8.00",
		"#### VP8",
		"| | roomd, raw camera, screen composed | roomd, raw camera, no screen | roomd, MJPEG camera, screen composed | roomd, H.264 camera (passthrough), screen composed | Chromium, raw camera | Chromium, MJPEG camera | roomd / Chromium (same camera; H.264 camera: Chromium's MJPEG) | target |",
		"| join → first remote frame (median of 3) | 200 ms | 1000 ms | 300 ms | 100 ms | 400 ms | 400 ms | 0.50× / 2.50× / 0.75× / 0.25× | ≤ 0.50×: met / ≤ 0.50×: **missed** / ≤ 0.50×: **missed** / ≤ 0.50×: met |",
		// The MJPEG and H.264 cameras are held to their own targets against Chromium's MJPEG run.
		"| CPU per minute of call, process tree | 20.0 CPU-s | 10.0 CPU-s | 18.0 CPU-s | 3.0 CPU-s | 30.0 CPU-s | 40.0 CPU-s | 0.67× / 0.33× / 0.45× / 0.07× | ≤ 0.50×: **missed** / ≤ 0.50×: met / ≤ 0.55×: met / ≤ 0.15×: met |",
		"| of which video encode + decode (roomd's codec threads); share of Chromium's whole tree | 12.0 CPU-s; 0.40× | 9.0 CPU-s; 0.30× | 10.0 CPU-s; 0.25× | 2.0 CPU-s; 0.05× | not separable | not separable | | |",
		"| roomd's whole tree ÷ its codec threads (target on the software path, raw camera: ≤ 1.25×) | 1.67×: ≤ 1.25×: **missed** | 1.11×: ≤ 1.25×: met | 1.80× | 1.50× | n/a | n/a | | |",
		"| peak PSS, process tree | 90 MiB | 60 MiB | 80 MiB | 50 MiB | 400 MiB | 400 MiB | 0.23× / 0.15× / 0.20× / 0.12× | ≤ 0.20×: **missed** / ≤ 0.20×: met / ≤ 0.20×: met / ≤ 0.20×: met |",
		"| CPU per picture sent (CPU per minute ÷ pictures sent per minute: a starved sender sends fewer) | 11.1 ms | 5.6 ms | 10.0 ms | 1.7 ms | 16.7 ms | 22.2 ms | | |",
		"| received video (the peer's) | size n/a, 30.0 fps |",
		"| each join, in order | 100, 300, 200 ms |",
		"off 10.0 CPU-s, at libwebrtc's x86 setting (noise sensitivity 4, adaptive) 12.0 CPU-s: the denoiser costs **2.0 CPU-s per minute** (+20 %)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
}

func TestUpdateDocKeepsOtherSections(t *testing.T) {
	p := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := UpdateDoc(p, "first run\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(b), "# Benchmarks\n") || !strings.Contains(string(b), "first run\n"+docEnd) {
		t.Fatalf("new file:\n%s", b)
	}
	// Someone adds another benchmark's section after ours.
	os.WriteFile(p, append(b, "\n## Boot time\n\n2.1 s\n"...), 0o644)
	if err := UpdateDoc(p, "second run"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p)
	s := string(b)
	if strings.Contains(s, "first run") || strings.Count(s, docBegin) != 1 || !strings.Contains(s, "second run\n"+docEnd) ||
		!strings.HasSuffix(s, "## Boot time\n\n2.1 s\n") || !strings.HasPrefix(s, "# Benchmarks\n") {
		t.Fatalf("updated file:\n%s", s)
	}
}

// roomd gets the unit's environment: systemd's PATH and the unit's
// Environment= lines with their quoting.
func TestUnitEnvironment(t *testing.T) {
	got, err := parseUnitEnvironment([]byte("[Service]\nEnvironment=A=1 \"B=two words\" C='x y'\n# Environment=D=no\nEnvironment=E=a\\ b\nExecStart=/x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "B=two words", "C=x y", "E=a b"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("parsed %q, want %q", got, want)
	}
	env, err := unitEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	if env[0] != servicePath || !slices.Contains(env, "MALLOC_ARENA_MAX=2") {
		t.Fatalf("roomd.service environment %q", env)
	}
	if _, err := parseUnitEnvironment([]byte("Environment=\"A=1\n")); err == nil {
		t.Fatal("unterminated quote accepted")
	}
}
