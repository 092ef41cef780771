package capture

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// goJPEGDecoder is a JPEGDecoder on image/jpeg, converting to 4:2:0 by
// taking every other chroma row: slow, but enough to test the source.
type goJPEGDecoder struct {
	decoded, reused int
	closed          bool
}

func (g *goJPEGDecoder) DecodeInto(dst *image.YCbCr, b []byte) (*image.YCbCr, error) {
	if g.closed {
		return nil, errors.New("decoder closed")
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	src, ok := img.(*image.YCbCr)
	if !ok {
		return nil, errors.New("not YCbCr")
	}
	r := src.Rect
	if dst != nil && dst.Rect == r && dst.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		g.reused++
	} else {
		dst = image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(dst.Y[dst.YOffset(r.Min.X, y):], src.Y[src.YOffset(r.Min.X, y):src.YOffset(r.Max.X-1, y)+1])
		for x := r.Min.X; x < r.Max.X; x++ {
			dst.Cb[dst.COffset(x, y)] = src.Cb[src.COffset(x, y)]
			dst.Cr[dst.COffset(x, y)] = src.Cr[src.COffset(x, y)]
		}
	}
	g.decoded++
	return dst, nil
}

func (g *goJPEGDecoder) Close() error { g.closed = true; return nil }

// mjpegFrames encodes n pattern frames as JPEG pictures.
func mjpegFrames(t *testing.T, w, h, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range patternFrames(t, w, h, n) {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, f, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

func writeMJPEG(t *testing.T, pics ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "camera.mjpeg")
	if err := os.WriteFile(path, bytes.Join(pics, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readCounters reads n frames and returns their pattern counters, or -1
// for a Read that failed.
func readCounters(t *testing.T, src VideoSource, n int) []int {
	t.Helper()
	var out []int
	for range n {
		img, release, err := src.Read()
		if err != nil {
			out = append(out, -1)
			continue
		}
		c, err := ReadPatternCounter(img)
		release()
		if err != nil {
			t.Fatalf("frame %d: %v", len(out), err)
		}
		out = append(out, int(c))
	}
	return out
}

func TestMJPEGPlaysPicturesInOrderPacedAndLoops(t *testing.T) {
	pics := mjpegFrames(t, 320, 240, 4)
	// A camera's EXIF thumbnail is a whole JPEG inside APP1: its end
	// marker must not end the picture.
	thumb := pics[3]
	n := len(thumb) + 2 + 6
	app1 := append([]byte{0xFF, 0xE1, byte(n >> 8), byte(n)}, append([]byte("Exif\x00\x00"), thumb...)...)
	pics[1] = append(append(append([]byte{}, pics[1][:2]...), app1...), pics[1][2:]...)
	path := writeMJPEG(t, pics...)

	clock := newFakeClock()
	dec := &goJPEGDecoder{}
	m, err := OpenMJPEG(path, MJPEGOptions{FPS: 15, Clock: clock, Decoder: dec})
	if err != nil {
		t.Fatal(err)
	}
	if i := m.Info(); i.Width != 320 || i.Height != 240 || i.FPS != 15 || i.Kind != "mjpeg" || i.Format != "MJPEG" || i.Device != path {
		t.Fatalf("Info = %+v", i)
	}
	got := readCounters(t, m, 10)
	want := []int{0, 1, 2, 3, 0, 1, 2, 3, 0, 1}
	if !slices.Equal(got, want) {
		t.Fatalf("counters = %v, want %v", got, want)
	}
	if slept, want := clock.Slept(), 9*frameInterval(15); slept < want-time.Millisecond || slept > want+time.Millisecond {
		t.Fatalf("slept %v for 10 frames at 15 fps, want %v", slept, want)
	}
	if dec.reused < 8 {
		t.Fatalf("decoded into a returned buffer %d times of %d, want buffers reused", dec.reused, dec.decoded)
	}
	if err := m.Close(); err != nil || !dec.closed {
		t.Fatalf("Close = %v, decoder closed %v; want the decoder closed with the source", err, dec.closed)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, _, err := m.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}
}

func TestMJPEGNoLoopEndsWithEOF(t *testing.T) {
	path := writeMJPEG(t, mjpegFrames(t, 160, 120, 2)...)
	m, err := OpenMJPEG(path, MJPEGOptions{NoLoop: true, Unpaced: true, Decoder: &goJPEGDecoder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	readCounters(t, m, 2)
	if _, _, err := m.Read(); err != io.EOF {
		t.Fatalf("Read past the end = %v, want io.EOF", err)
	}
}

func TestMJPEGDamageCostsOneReadAndIsReported(t *testing.T) {
	pics := mjpegFrames(t, 160, 120, 4)
	truncated := pics[1][:len(pics[1])/2] // a picture whose end never came
	path := writeMJPEG(t, pics[0], truncated, pics[2], []byte("\x00\x00junk"), pics[3], pics[0][:100])
	m, err := OpenMJPEG(path, MJPEGOptions{Unpaced: true, Decoder: &goJPEGDecoder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	var errs []string
	var counters []int
	for range 6 {
		img, release, err := m.Read()
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		c, _ := ReadPatternCounter(img)
		release()
		counters = append(counters, int(c))
	}
	if !slices.Equal(counters, []int{0, 2, 3}) {
		t.Fatalf("good pictures read: %v, want [0 2 3]", counters)
	}
	joined := strings.Join(errs, "\n")
	for _, want := range []string{
		"damaged bytes before picture 1 skipped",
		"damaged bytes before picture 2 skipped",
		"last picture truncated (100 bytes",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors %q do not report %q", errs, want)
		}
	}
	// Then it loops on.
	if got := readCounters(t, m, 1); got[0] != 0 {
		t.Fatalf("after the damaged end: %v, want picture 0 again", got)
	}
}

func TestOpenMJPEGRefusesUnplayableFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mjpeg")
	text := filepath.Join(dir, "text.mjpeg")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(text, []byte(strings.Repeat("not a picture\n", 100)), 0o644)
	for _, tc := range []struct {
		name, path string
		opts       MJPEGOptions
		want       string
	}{
		{"missing file", filepath.Join(dir, "nope.mjpeg"), MJPEGOptions{}, "no such file"},
		{"empty file", empty, MJPEGOptions{}, "no JPEG picture"},
		{"text", text, MJPEGOptions{}, "no JPEG picture"},
		{"bad rate", empty, MJPEGOptions{FPS: 1000}, "frame rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := &goJPEGDecoder{}
			tc.opts.Decoder = dec
			_, err := OpenMJPEG(tc.path, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if !dec.closed {
				t.Fatal("the decoder was not closed after a failed open")
			}
		})
	}
	if _, err := OpenMJPEG(empty, MJPEGOptions{}); err == nil || !strings.Contains(err.Error(), "no JPEG decoder") {
		t.Fatalf("no decoder: err = %v", err)
	}
}

// The benchmark's camera stand-in: a Y4M turned into MJPEG by ffmpeg.
func TestMJPEGPlaysFFmpegOutput(t *testing.T) {
	dir := t.TempDir()
	y4m := filepath.Join(dir, "pattern.y4m")
	writeY4M(t, y4m, patternFrames(t, 320, 240, 5), 30)
	out := filepath.Join(dir, "pattern.mjpeg")
	ffmpeg(t, "-i", y4m, "-c:v", "mjpeg", "-q:v", "2", "-f", "mjpeg", out)
	m, err := OpenMJPEG(out, MJPEGOptions{Unpaced: true, Decoder: &goJPEGDecoder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := readCounters(t, m, 7); !slices.Equal(got, []int{0, 1, 2, 3, 4, 0, 1}) {
		t.Fatalf("counters = %v", got)
	}
}
