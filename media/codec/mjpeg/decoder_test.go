package mjpeg

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/codec/mjpeg/jpegstream"
)

// TurboJPEG's subsampling codes, as compress takes them.
const (
	sub444 = iota
	sub422
	sub420
	subGray
	sub440
	sub411
)

var subNames = map[int]string{sub444: "444", sub422: "422", sub420: "420", subGray: "gray", sub440: "440", sub411: "411"}

// scene is a camera-like test picture: smooth gradients in all three
// channels (so Cb and Cr differ and a swapped or misaligned chroma plane
// shows) with a few sharp edges and fine stripes.
func scene(w, h int) *image.RGBA { return picture(w, h, true) }

// picture draws scene, or only its gradients without edges: where
// libyuv's bilinear filter and the test's box filter part ways (4:1:1 and
// 4:4:0 scale chroma up in one direction), edges would hide in the noise.
func picture(w, h int, edges bool) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			r := uint8(255 * x / w)
			g := uint8(255 * y / h)
			b := uint8(128 + 100*math.Sin(float64(x+y)/40))
			if !edges {
				img.SetRGBA(x, y, color.RGBA{r, g, b, 255})
				continue
			}
			if (x/64+y/48)%5 == 0 {
				r, g = 240, 30
			}
			if x > w/2 && x < w/2+40 && y%4 < 2 {
				r, g, b = 20, 20, 20
			}
			img.SetRGBA(x, y, color.RGBA{r, g, b, 255})
		}
	}
	return img
}

func mustCompress(t testing.TB, w, h, sub int) []byte {
	t.Helper()
	b, err := compress(scene(w, h), sub, 90)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newDecoder(t testing.TB) *Decoder {
	t.Helper()
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// compareWithGo decodes data with image/jpeg and checks got against it:
// the same luma (IDCTs differ by a level or two) and 4:2:0 chroma that is
// the mean of Go's chroma over each 2×2 block of pixels.
func compareWithGo(t *testing.T, got *image.YCbCr, data []byte, chromaTol float64) {
	t.Helper()
	ref, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/jpeg cannot decode the reference: %v", err)
	}
	if got.SubsampleRatio != image.YCbCrSubsampleRatio420 || got.Rect != ref.Bounds() {
		t.Fatalf("decoded %v %v, want 4:2:0 %v", got.SubsampleRatio, got.Rect, ref.Bounds())
	}
	w, h := got.Rect.Dx(), got.Rect.Dy()
	var lumaMax, chromaSum float64
	chromaMax := 0.0
	for y := range h {
		for x := range w {
			var ry uint8
			switch r := ref.(type) {
			case *image.YCbCr:
				ry = r.Y[r.YOffset(x, y)]
			case *image.Gray:
				ry = r.Pix[r.PixOffset(x, y)]
			default:
				t.Fatalf("image/jpeg gave %T", ref)
			}
			lumaMax = math.Max(lumaMax, math.Abs(float64(got.Y[got.YOffset(x, y)])-float64(ry)))
		}
	}
	for cy := range (h + 1) / 2 {
		for cx := range (w + 1) / 2 {
			var cb, cr, n float64
			for y := 2 * cy; y < min(2*cy+2, h); y++ {
				for x := 2 * cx; x < min(2*cx+2, w); x++ {
					b, r := 128.0, 128.0
					if yc, ok := ref.(*image.YCbCr); ok {
						o := yc.COffset(x, y)
						b, r = float64(yc.Cb[o]), float64(yc.Cr[o])
					}
					cb, cr, n = cb+b, cr+r, n+1
				}
			}
			o := got.COffset(2*cx, 2*cy)
			db := math.Abs(float64(got.Cb[o]) - cb/n)
			dr := math.Abs(float64(got.Cr[o]) - cr/n)
			chromaSum += db + dr
			chromaMax = math.Max(chromaMax, math.Max(db, dr))
		}
	}
	chromaMean := chromaSum / float64(2*((w+1)/2)*((h+1)/2))
	if lumaMax > 3 || chromaMean > chromaTol/4 || chromaMax > chromaTol {
		t.Fatalf("differs from image/jpeg: luma max %.0f (want ≤ 3), chroma mean %.2f (want ≤ %.2f) max %.1f (want ≤ %.0f)",
			lumaMax, chromaMean, chromaTol/4, chromaMax, chromaTol)
	}
}

func TestDecodeEverySubsamplingToI420(t *testing.T) {
	d := newDecoder(t)
	for _, tc := range []struct {
		sub   int
		w, h  int
		edges bool    // 4:1:1 and 4:4:0 are checked on gradients only (see picture)
		tol   float64 // chroma, against a box filter
	}{
		{sub422, 1280, 720, true, 4},
		{sub420, 640, 360, true, 4},
		{sub444, 320, 240, true, 4},
		{subGray, 320, 240, true, 0},
		{sub440, 320, 240, false, 8},
		{sub411, 320, 240, false, 8},
		{sub422, 322, 242, true, 4}, // partial MCUs
		{sub420, 34, 18, true, 4},
	} {
		t.Run(fmt.Sprintf("%s-%dx%d", subNames[tc.sub], tc.w, tc.h), func(t *testing.T) {
			data, err := compress(picture(tc.w, tc.h, tc.edges), tc.sub, 90)
			if err != nil {
				t.Fatal(err)
			}
			img, err := d.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			compareWithGo(t, img, data, tc.tol)
		})
	}
}

func TestOddSizesAreRefused(t *testing.T) {
	d := newDecoder(t)
	for _, size := range [][2]int{{33, 18}, {34, 17}, {321, 241}} {
		_, err := d.Decode(mustCompress(t, size[0], size[1], sub422))
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "odd picture size") {
			t.Fatalf("%dx%d: err = %v, want ErrUnsupported for an odd size", size[0], size[1], err)
		}
	}
}

func TestDecodeAllocatesNothingAfterTheFirstFrame(t *testing.T) {
	for _, sub := range []int{sub422, sub420} {
		d := newDecoder(t)
		data := mustCompress(t, 640, 480, sub)
		first, err := d.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		var again *image.YCbCr
		allocs := testing.AllocsPerRun(20, func() {
			if again, err = d.Decode(data); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 && !raceEnabled {
			t.Errorf("%s: Decode allocates %.1f times per frame, want 0", subNames[sub], allocs)
		}
		if again != first {
			t.Errorf("%s: Decode returned a new picture instead of reusing its own", subNames[sub])
		}
	}
}

func TestDecodeIntoUsesDstWhenItFits(t *testing.T) {
	d := newDecoder(t)
	data := mustCompress(t, 320, 240, sub422)
	dst := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	got, err := d.DecodeInto(dst, data)
	if err != nil || got != dst {
		t.Fatalf("DecodeInto(fitting dst) = %p, %v; want dst %p", got, err, dst)
	}
	compareWithGo(t, got, data, 4)
	for _, bad := range []*image.YCbCr{
		nil,
		image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio420),
		image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio422),
		image.NewYCbCr(image.Rect(10, 10, 330, 250), image.YCbCrSubsampleRatio420),
	} {
		got, err := d.DecodeInto(bad, data)
		if err != nil || got == nil || got == bad || got.Rect != image.Rect(0, 0, 320, 240) {
			t.Fatalf("DecodeInto(unfitting %v) = %v, %v; want a new 320x240 picture", bad, got, err)
		}
	}
}

func TestCorruptFramesFailCleanlyAndTheNextFrameDecodes(t *testing.T) {
	d := newDecoder(t)
	good := mustCompress(t, 640, 480, sub422)
	for cut := 0; cut < len(good)-1; cut += 1 + len(good)/50 {
		_, err := d.Decode(good[:cut])
		if !errors.Is(err, ErrCorrupt) || !errors.Is(err, jpegstream.ErrTruncated) {
			t.Fatalf("frame cut at %d of %d bytes: err = %v, want ErrCorrupt and ErrTruncated", cut, len(good), err)
		}
	}
	damaged := bytes.Clone(good)
	sos := bytes.Index(damaged, []byte{0xFF, 0xDA})
	for i := sos + 20; i < len(damaged)-2; i += 7 {
		damaged[i] = 0xFF // markers in the middle of the entropy-coded data
	}
	if _, err := d.Decode(damaged); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged entropy data: err = %v, want ErrCorrupt", err)
	}
	if _, err := d.Decode([]byte("not a jpeg at all")); !errors.Is(err, ErrCorrupt) || !errors.Is(err, jpegstream.ErrMalformed) {
		t.Fatalf("not a JPEG: err = %v, want ErrCorrupt and ErrMalformed", err)
	}
	img, err := d.Decode(good)
	if err != nil {
		t.Fatalf("a good frame after corrupt ones: %v", err)
	}
	compareWithGo(t, img, good, 4)
	if s := d.Stats(); s.Frames != 1 || s.Corrupt < 10 {
		t.Fatalf("Stats = %+v, want 1 frame and every corrupt one counted", s)
	}
}

func TestSlightDamageIsShownAndCounted(t *testing.T) {
	d := newDecoder(t)
	good := mustCompress(t, 320, 240, sub422)
	// Some cameras pad the entropy-coded data before EOI; libjpeg-turbo
	// warns and decodes the picture.
	padded := append(append(bytes.Clone(good[:len(good)-2]), 0, 0, 0, 0), 0xFF, 0xD9)
	img, err := d.Decode(padded)
	if err != nil {
		t.Fatal(err)
	}
	compareWithGo(t, img, good, 4)
	s := d.Stats()
	if s.Warnings != 1 || !strings.Contains(s.LastWarning, "extraneous") {
		t.Fatalf("Stats = %+v, want one warning about extraneous bytes", s)
	}
}

// withoutHuffmanTables drops the DHT segments before SOS, as many MJPEG
// cameras do (their frames rely on the standard tables of JPEG Annex K).
func withoutHuffmanTables(t *testing.T, b []byte) []byte {
	t.Helper()
	out := append([]byte{}, b[:2]...)
	i := 2
	for b[i+1] != 0xDA {
		n := 2 + (int(b[i+2])<<8 | int(b[i+3]))
		if b[i+1] != 0xC4 {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if len(out) == i {
		t.Fatal("the test picture has no DHT segment to drop")
	}
	return append(out, b[i:]...)
}

func TestDecodesFramesWithoutHuffmanTables(t *testing.T) {
	d := newDecoder(t)
	full := mustCompress(t, 640, 480, sub422) // TurboJPEG codes with the standard tables
	img, err := d.Decode(withoutHuffmanTables(t, full))
	if err != nil {
		t.Fatal(err)
	}
	compareWithGo(t, img, full, 4)
}

func TestHugeHeaderIsRefusedBeforeAllocating(t *testing.T) {
	d := newDecoder(t)
	data := mustCompress(t, 64, 64, sub420)
	sof := bytes.Index(data, []byte{0xFF, 0xC0})
	if sof < 0 {
		t.Fatal("no SOF0 marker in the test picture")
	}
	data[sof+5], data[sof+6] = 0xC3, 0x50 // height 50000
	data[sof+7], data[sof+8] = 0xC3, 0x50 // width 50000
	if _, err := d.Decode(data); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("50000x50000 header: err = %v, want ErrUnsupported", err)
	}
}

func TestCloseIsIdempotentAndStopsDecode(t *testing.T) {
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Decode(mustCompress(t, 16, 16, sub420)); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("Decode after Close: err = %v, want codec.ErrClosed", err)
	}
}

func TestDecodesImageJPEGOutput(t *testing.T) {
	d := newDecoder(t)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, scene(320, 180), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	img, err := d.Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	compareWithGo(t, img, b.Bytes(), 4)
}

// ffmpegMJPEG has ffmpeg's mjpeg encoder write frames of its test source
// in pixFmt (yuvj422p: a UVC camera's usual 4:2:2) and returns the file.
func ffmpegMJPEG(t testing.TB, w, h, frames int, pixFmt string) []byte {
	t.Helper()
	testtool.SkipInShortMode(t, "ffmpeg")
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found: %s", testtool.InstallHint("ffmpeg", "its mjpeg encoder makes camera-like test frames"))
	}
	path := filepath.Join(t.TempDir(), "camera.mjpeg")
	out, err := exec.Command(bin, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h), "-frames:v", fmt.Sprint(frames),
		"-pix_fmt", pixFmt, "-q:v", "3", "-f", "mjpeg", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodesFFmpegCameraFrames(t *testing.T) {
	stream := ffmpegMJPEG(t, 1280, 720, 3, "yuvj422p")
	d := newDecoder(t)
	frames := 0
	for len(stream) > 0 {
		skip, n, err := jpegstream.Next(stream)
		if err != nil || skip != 0 {
			t.Fatalf("frame %d: skip %d, %v", frames, skip, err)
		}
		img, err := d.Decode(stream[:n])
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		compareWithGo(t, img, stream[:n], 4)
		stream = stream[n:]
		frames++
	}
	if frames != 3 {
		t.Fatalf("decoded %d frames, want 3", frames)
	}
}

// FuzzDecode feeds damaged and arbitrary frames: the decoder must never
// crash, must fail with ErrCorrupt or ErrUnsupported, and must return a
// whole 4:2:0 picture when it does not fail.
func FuzzDecode(f *testing.F) {
	for _, sub := range []int{sub422, sub420, sub444, subGray, sub440, sub411} {
		f.Add(mustCompress(f, 48, 32, sub))
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, scene(40, 24), &jpeg.Options{Quality: 75}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	if !testing.Short() {
		if s := ffmpegMJPEG(f, 64, 48, 1, "yuvj422p"); len(s) > 0 {
			f.Add(s)
		}
	}
	d := newDecoder(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := d.Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error wraps neither ErrCorrupt nor ErrUnsupported: %v", err)
			}
			return
		}
		w, h := img.Rect.Dx(), img.Rect.Dy()
		if img.SubsampleRatio != image.YCbCrSubsampleRatio420 || w <= 0 || h <= 0 || w > MaxWidth || h > MaxHeight ||
			len(img.Y) < w*h || len(img.Cb) < ((w+1)/2)*((h+1)/2) || len(img.Cr) != len(img.Cb) {
			t.Fatalf("bad picture %v %v, planes %d/%d/%d", img.SubsampleRatio, img.Rect, len(img.Y), len(img.Cb), len(img.Cr))
		}
	})
}
