package mjpeg_test

import (
	"bytes"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec/mjpeg"
)

// TestMJPEGFileThroughTurboJPEG is the benchmark's MJPEG camera end to end:
// a Y4M of the test pattern turned into 4:2:2 MJPEG by ffmpeg (as a UVC
// camera sends it), played by capture.OpenMJPEG through libjpeg-turbo, with
// every frame's counter read back in order.
func TestMJPEGFileThroughTurboJPEG(t *testing.T) {
	testtool.SkipInShortMode(t, "ffmpeg")
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found: %s", testtool.InstallHint("ffmpeg", "it turns the test pattern into MJPEG"))
	}
	dir := t.TempDir()
	p, err := capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var y4m bytes.Buffer
	w, err := capture.NewY4MWriter(&y4m, 640, 360, 30)
	if err != nil {
		t.Fatal(err)
	}
	const frames = 6
	for range frames {
		img, release, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		err = w.WriteFrame(img.(*image.YCbCr))
		release()
		if err != nil {
			t.Fatal(err)
		}
	}
	in, out := filepath.Join(dir, "pattern.y4m"), filepath.Join(dir, "camera.mjpeg")
	if err := os.WriteFile(in, y4m.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "-hide_banner", "-loglevel", "error", "-y", "-i", in,
		"-c:v", "mjpeg", "-pix_fmt", "yuvj422p", "-q:v", "3", "-f", "mjpeg", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}

	dec, err := mjpeg.New()
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenMJPEG(out, capture.MJPEGOptions{Unpaced: true, Decoder: dec})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := range frames + 2 {
		img, release, err := src.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		yc := img.(*image.YCbCr)
		if yc.SubsampleRatio != image.YCbCrSubsampleRatio420 || yc.Rect.Dx() != 640 || yc.Rect.Dy() != 360 {
			t.Fatalf("frame %d is %v %v, want 640x360 4:2:0", i, yc.SubsampleRatio, yc.Rect)
		}
		n, err := capture.ReadPatternCounter(img)
		release()
		if err != nil || int(n) != i%frames {
			t.Fatalf("frame %d: counter %d, %v; want %d", i, n, err, i%frames)
		}
	}
	if s := dec.Stats(); s.Frames < frames+2 || s.Corrupt != 0 {
		t.Fatalf("decoder stats %+v", s)
	}
}
