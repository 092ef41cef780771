package capture

import (
	"bytes"
	"errors"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ffmpeg runs ffmpeg for interoperability tests; it is a test dependency
// (Debian package ffmpeg), so its absence is a failure, not a skip.
func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	if testing.Short() { // make test-unit needs no Debian tools; make test runs these
		t.Skip("needs ffmpeg: -short (make test-unit) leaves it to make test, which CI runs")
	}
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found: install the Debian package ffmpeg (%v)", err)
	}
	out, err := exec.Command(bin, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeY4M(t *testing.T, path string, frames []*image.YCbCr, fps float64) {
	t.Helper()
	var b bytes.Buffer
	w, err := NewY4MWriter(&b, frames[0].Rect.Dx(), frames[0].Rect.Dy(), fps)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func patternFrames(t *testing.T, w, h, n int) []*image.YCbCr {
	t.Helper()
	p, err := NewPattern(PatternOptions{Width: w, Height: h, Unpaced: true, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	var out []*image.YCbCr
	for range n {
		img, _, _ := p.Read()
		out = append(out, clonePlanes(img))
	}
	return out
}

func TestY4MRoundTripLoops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pattern.y4m")
	frames := patternFrames(t, 320, 240, 5)
	writeY4M(t, path, frames, 15)

	clock := newFakeClock()
	y, err := OpenY4M(path, Y4MOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if i := y.Info(); i.Width != 320 || i.Height != 240 || i.FPS != 15 || i.Kind != "y4m" || i.Device != path {
		t.Fatalf("Info = %+v", i)
	}
	for n := range 12 {
		img, release, err := y.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if !samePixels(img.(*image.YCbCr), frames[n%5]) {
			t.Fatalf("frame %d differs from frame %d written", n, n%5)
		}
		if c, err := ReadPatternCounter(img); err != nil || c != uint64(n%5) {
			t.Fatalf("frame %d: counter %d, %v", n, c, err)
		}
		release()
	}
	if got, want := clock.Slept(), 11*frameInterval(15); got != want {
		t.Fatalf("12 frames at 15 fps slept %v, want %v", got, want)
	}
	y.Close()
	if _, _, err := y.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
}

func TestY4MNoLoopEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "two.y4m")
	writeY4M(t, path, patternFrames(t, 160, 120, 2), 30)
	y, err := OpenY4M(path, Y4MOptions{NoLoop: true, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	y.Read()
	y.Read()
	if _, _, err := y.Read(); err != io.EOF {
		t.Fatalf("third Read of a two-frame file = %v, want io.EOF", err)
	}
}

// A file made by ffmpeg (C420mpeg2, extension header fields) reads back
// byte for byte the same as ffmpeg's own raw output.
func TestY4MFromFFmpeg(t *testing.T) {
	dir := t.TempDir()
	y4m, raw := filepath.Join(dir, "testsrc.y4m"), filepath.Join(dir, "testsrc.yuv")
	src := []string{"-f", "lavfi", "-i", "testsrc2=size=176x144:rate=12", "-frames:v", "4", "-pix_fmt", "yuv420p"}
	ffmpeg(t, append(src, y4m)...)
	ffmpeg(t, append(src, "-f", "rawvideo", raw)...)
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	y, err := OpenY4M(y4m, Y4MOptions{Unpaced: true, NoLoop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if i := y.Info(); i.Width != 176 || i.Height != 144 || i.FPS != 12 {
		t.Fatalf("Info = %+v, want 176x144 at 12 fps", i)
	}
	var got []byte
	for {
		img, _, err := y.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		yc := img.(*image.YCbCr)
		got = append(append(append(got, yc.Y...), yc.Cb...), yc.Cr...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes differ from ffmpeg's %d raw bytes", len(got), len(want))
	}

	// And ffmpeg reads ours.
	ours := filepath.Join(dir, "ours.y4m")
	writeY4M(t, ours, patternFrames(t, 160, 120, 3), 30)
	ffmpeg(t, "-i", ours, "-f", "rawvideo", filepath.Join(dir, "ours.yuv"))
	if st, err := os.Stat(filepath.Join(dir, "ours.yuv")); err != nil || st.Size() != 3*160*120*3/2 {
		t.Fatalf("ffmpeg decoded our file to %v, %v; want %d bytes", st, err, 3*160*120*3/2)
	}
}

func TestY4MBadFiles(t *testing.T) {
	dir := t.TempDir()
	frame := bytes.Repeat([]byte{16}, 16*16*3/2)
	cases := []struct {
		name, content, want string
	}{
		{"empty", "", "not a YUV4MPEG2 file"},
		{"png", "\x89PNG\r\n\x1a\n", "not a YUV4MPEG2 file"},
		{"no size", "YUV4MPEG2 F30:1\nFRAME\n", "bad or missing size"},
		{"bad rate", "YUV4MPEG2 W16 H16 F30:0\n", "bad header field"},
		{"444", "YUV4MPEG2 W16 H16 C444\n", "colour space C444 not supported"},
		{"10-bit", "YUV4MPEG2 W16 H16 C420p10\n", "colour space C420p10 not supported"},
		{"interlaced", "YUV4MPEG2 W16 H16 It\n", "interlaced"},
		{"no frame", "YUV4MPEG2 W16 H16\n", "no complete frame"},
		{"short frame", "YUV4MPEG2 W16 H16\nFRAME\n" + string(frame[:100]), "no complete frame"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name+".y4m")
		os.WriteFile(path, []byte(c.content), 0o644)
		_, err := OpenY4M(path, Y4MOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "capture: y4m "+path) {
			t.Errorf("%s: OpenY4M = %v, want an error naming the file and saying %q", c.name, err, c.want)
		}
	}
	if _, err := OpenY4M(filepath.Join(dir, "missing.y4m"), Y4MOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}

	// A good first frame followed by a broken second one fails on Read.
	path := filepath.Join(dir, "broken.y4m")
	os.WriteFile(path, []byte("YUV4MPEG2 W16 H16\nFRAME\n"+string(frame)+"FRAME\n"+string(frame[:50])), 0o644)
	y, err := OpenY4M(path, Y4MOptions{Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if _, _, err := y.Read(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := y.Read(); err == nil || !strings.Contains(err.Error(), "frame 1 truncated") {
		t.Fatalf("second Read = %v, want frame 1 truncated", err)
	}
}

func TestY4MWriterChecksFrames(t *testing.T) {
	w, _ := NewY4MWriter(io.Discard, 32, 32, 30)
	if err := w.WriteFrame(image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)); err == nil {
		t.Error("a 16x16 frame went into a 32x32 stream")
	}
	if err := w.WriteFrame(image.NewYCbCr(image.Rect(0, 0, 32, 32), image.YCbCrSubsampleRatio444)); err == nil {
		t.Error("a 4:4:4 frame went into a 4:2:0 stream")
	}
	var b bytes.Buffer
	NewY4MWriter(&b, 32, 32, 29.97)
	if got := b.String(); got != "YUV4MPEG2 W32 H32 F2997:100 Ip A1:1 C420jpeg\n" {
		t.Errorf("header %q", got)
	}
}

// FuzzY4M feeds arbitrary files to the reader: errors are fine, panics
// and hangs are not.
func FuzzY4M(f *testing.F) {
	f.Add([]byte("YUV4MPEG2 W2 H2 F30:1 C420jpeg\nFRAME\n\x10\x10\x10\x10\x80\x80FRAME\n\x10\x10"))
	f.Add([]byte("YUV4MPEG2 W2 H2 Cmono\nFRAME\n\x10\x10\x10\x10"))
	f.Add([]byte("YUV4MPEG2 W4 H2 Ip A0:0\nFRAMEXYZ\n" + strings.Repeat("\x20", 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.y4m")
		os.WriteFile(path, data, 0o644)
		y, err := OpenY4M(path, Y4MOptions{Unpaced: true})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "capture: y4m") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		defer y.Close()
		for range 5 {
			img, _, err := y.Read()
			if err != nil {
				return
			}
			if b := img.Bounds(); b.Dx() != y.w || b.Dy() != y.h {
				t.Fatalf("frame %v, header %dx%d", b, y.w, y.h)
			}
		}
	})
}
