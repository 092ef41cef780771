package passthrough

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// bitWriter builds an SPS bit by bit, the way an encoder writes it.
type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) u(n int, v uint32) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

func (w *bitWriter) ue(v uint32) {
	v++
	bits := 0
	for x := v; x > 0; x >>= 1 {
		bits++
	}
	w.u(bits-1, 0)
	w.u(bits, v)
}

func (w *bitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*v - 1))
	} else {
		w.ue(uint32(-2 * v))
	}
}

// sps writes an SPS of the given profile; with timing, its VUI says
// timeScale / (2 × tick). The High profile one carries a scaling matrix and
// POC type 1, so the parser must walk every variable-length field.
func sps(profile uint32, timing bool, tick, timeScale uint32) []byte {
	w := &bitWriter{}
	w.u(8, 0x67) // NAL header: SPS
	w.u(8, profile)
	w.u(16, 0x001f)
	w.ue(0)
	if profile == 100 {
		w.ue(1) // 4:2:0
		w.ue(0)
		w.ue(0)
		w.u(1, 0)
		w.u(1, 1) // scaling matrix
		for i := range 8 {
			if i == 1 {
				w.u(1, 1)
				for j := range 16 {
					w.se(int32(j%5) - 2)
				}
			} else {
				w.u(1, 0)
			}
		}
	}
	w.ue(0) // log2_max_frame_num_minus4
	if profile == 100 {
		w.ue(1) // POC type 1
		w.u(1, 0)
		w.se(-3)
		w.se(2)
		w.ue(2)
		w.se(1)
		w.se(-1)
	} else {
		w.ue(0)
		w.ue(2)
	}
	w.ue(1)
	w.u(1, 0)
	w.ue(79) // 1280
	w.ue(45) // 736, cropped to 720
	w.u(1, 1)
	w.u(1, 1)
	w.u(1, 1) // cropping: 8 rows at the bottom (4:2:0: units of 2)
	w.ue(0)
	w.ue(0)
	w.ue(0)
	w.ue(8)
	w.u(1, 1) // VUI
	w.u(1, 1) // aspect ratio: Extended_SAR
	w.u(8, 255)
	w.u(32, 0x00010001)
	w.u(1, 0)
	w.u(1, 1) // video signal type with colour description
	w.u(4, 5)
	w.u(1, 1)
	w.u(24, 0x010101)
	w.u(1, 0)
	if timing {
		w.u(1, 1)
		w.u(32, tick)
		w.u(32, timeScale)
		w.u(1, 1)
	} else {
		w.u(1, 0)
	}
	w.u(1, 1) // rbsp stop bit
	// Emulation prevention: 00 00 0x (x ≤ 3) gets a 03.
	out := []byte{w.b[0]}
	zeros := 0
	for _, c := range w.b[1:] {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

func TestSPSFrameRate(t *testing.T) {
	for _, c := range []struct {
		name string
		nal  []byte
		fps  float64
		ok   bool
	}{
		{"baseline 30", sps(66, true, 1, 60), 30, true},
		{"high, scaling matrix, POC type 1, 25", sps(100, true, 1, 50), 25, true},
		{"NTSC 29.97", sps(66, true, 1001, 60000), 60000.0 / 2002, true},
		// 0x00000100 as tick gives the bytes 00 00 01 00 in the RBSP, which
		// an encoder escapes as 00 00 03 01 00.
		{"escaped bytes", sps(66, true, 0x100, 0x3c00), 30, true},
		{"no timing info", sps(66, false, 0, 0), 0, true},
		{"cut short in the VUI: no rate", sps(66, true, 1, 60)[:12], 0, true},
		{"cut short before the size", sps(66, true, 1, 60)[:5], 0, false},
		{"not an SPS", []byte{0x68, 0xce, 0x3c, 0x80}, 0, false},
	} {
		info, err := parseSPS(c.nal)
		if (err == nil) != c.ok || info.fps < c.fps-1e-9 || info.fps > c.fps+1e-9 {
			t.Errorf("%s: %+v %v, want %g fps (SPS %x)", c.name, info, err, c.fps, c.nal)
		}
		if err == nil && (info.width != 1280 || info.height != 720) {
			t.Errorf("%s: size %dx%d, want 1280x720", c.name, info.width, info.height)
		}
	}
}

// A file x264 made (through ffmpeg) at 15 fps plays at 15 fps whatever
// media.fps says, its access units split where x264 put them.
func TestH264FilePlaysAtItsOwnRate(t *testing.T) {
	testtool.SkipInShortMode(t, "ffmpeg")
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("no ffmpeg: %s", testtool.InstallHint("ffmpeg", "to make an H.264 file with x264"))
	}
	path := filepath.Join(t.TempDir(), "x264.h264")
	out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=15",
		"-frames:v", "20", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "10", "-bf", "0", "-f", "h264", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(SplitAccessUnits(data)); n != 20 {
		t.Fatalf("%d access units in x264's 20 frames", n)
	}
	clock := &stepClock{t: time.Unix(1e9, 0)}
	cam, err := OpenH264File(path, FileOptions{FPS: 30, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	if i := cam.Info(); i.FPS != 15 || i.Width != 320 || i.Height != 180 {
		t.Fatalf("Info %+v, want 320x180 at x264's 15 fps", i)
	}
	// Decoded (a VP8 call): OpenH264 gives x264's first picture with the
	// second access unit; from then on one picture per 1/15 s.
	if _, _, err := cam.Read(); err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	for range 15 {
		if _, _, err := cam.Read(); err != nil {
			t.Fatal(err)
		}
	}
	if d := clock.Now().Sub(start); d < time.Second-time.Millisecond || d > time.Second+time.Millisecond {
		t.Fatalf("15 pictures took %v, want 1 s at 15 fps", d)
	}
}

func TestProfileName(t *testing.T) {
	for _, c := range []struct {
		nal  []byte
		want string
	}{
		{sps(66, true, 1, 60), "Baseline 3.1"},
		{append([]byte{0x67, 66, 0xc0, 31}, sps(66, true, 1, 60)[4:]...), "Constrained Baseline 3.1"},
		{sps(100, false, 0, 0), "High 3.1"},
		{[]byte{0x67, 100, 0x0c, 40, 0}, "Constrained High 4.0"},
		{[]byte{0x67, 9, 0, 10, 0}, "profile 9 1.0"},
		{[]byte{0x68, 66, 0, 31}, ""},
	} {
		if got := profileName(c.nal); got != c.want {
			t.Errorf("%x: %q, want %q", c.nal[:4], got, c.want)
		}
	}
}
