package v4l2m2m

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/capture/v4l2/v4l2test"
)

// start runs an Encoder on a fake bcm2835-codec.
func start(t *testing.T, fake *v4l2test.Codec, cfg Config) *Encoder {
	t.Helper()
	cfg.Device = "/dev/video11"
	cfg.Open = func(path string) (*v4l2.Device, error) {
		if fake.Closed() {
			fake.Reopen()
		}
		return v4l2.NewDevice(fake, path)
	}
	if cfg.Width == 0 {
		cfg.Width, cfg.Height = 640, 360
	}
	if cfg.FPS == 0 {
		cfg.FPS = 30
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// picture is a deterministic 4:2:0 picture that differs per n.
func picture(w, h, n int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = byte(i*7 + n)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(i+n), byte(i*3-n)
	}
	return img
}

// nalTypeList lists an access unit's NAL unit types in order.
func nalTypeList(au []byte) []int {
	var out []int
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			out = append(out, int(au[i+3]&0x1f))
			i += 2
		}
	}
	return out
}

func encode(t *testing.T, e *Encoder, img image.Image) ([]byte, bool) {
	t.Helper()
	f, key, err := e.Encode(img)
	if err != nil {
		t.Fatal(err)
	}
	return f, key
}

func TestEveryIDRCarriesSPSAndPPS(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	// A key frame every 5 frames at 30 fps.
	e := start(t, fake, Config{FPS: 30, KeyFrameInterval: time.Second / 6, BitRate: 800_000})
	for _, c := range []struct {
		name string
		id   uint32
		want int32
	}{
		{"repeat sequence header", v4l2.CIDRepeatSeqHeader, 1},
		{"I period", v4l2.CIDH264IPeriod, 5},
		{"profile", v4l2.CIDH264Profile, v4l2.H264ProfileConstrainedBaseline},
		{"level", v4l2.CIDH264Level, v4l2.H264Level31},
		{"header mode", v4l2.CIDHeaderMode, v4l2.HeaderModeJoinedWith1stFrame},
		{"bitrate", v4l2.CIDBitrate, 800_000},
		{"bitrate mode (driver default, VBR)", v4l2.CIDBitrateMode, v4l2.BitrateModeVBR},
	} {
		if got := fake.Control(c.id); got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	if num, den := fake.FrameInterval(); num != 1 || den != 30 {
		t.Errorf("frame interval %d/%d", num, den)
	}
	if u := e.Info().Unsupported; len(u) != 0 {
		t.Errorf("bcm2835-codec refused %v", u)
	}
	for n := range 12 {
		f, key := encode(t, e, picture(640, 360, n))
		types := nalTypeList(f)
		wantKey := n%5 == 0
		want := []int{1}
		if wantKey {
			want = []int{7, 8, 5}
		}
		if key != wantKey || !slices.Equal(types, want) {
			t.Fatalf("frame %d: key %v, NAL types %v; want key %v, %v", n, key, types, wantKey, want)
		}
		if !bytes.Contains(f, fmt.Appendf(nil, "frame=%d ", n)) {
			t.Fatalf("frame %d came back as %q", n, f)
		}
	}
}

func TestConstantBitrateAndDriverDefaults(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	start(t, fake, Config{CBR: true})
	if got := fake.Control(v4l2.CIDBitrateMode); got != v4l2.BitrateModeCBR {
		t.Fatalf("bitrate mode %d, want CBR", got)
	}
	// No bitrate and no key-frame interval given: the driver's defaults.
	if rate, period := fake.Control(v4l2.CIDBitrate), fake.Control(v4l2.CIDH264IPeriod); rate != 10_000_000 || period != 60 {
		t.Fatalf("bitrate %d, I period %d; want bcm2835-codec's defaults", rate, period)
	}
}

func TestForceKeyFrameOnPLI(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	e := start(t, fake, Config{KeyFrameInterval: -1})
	if got := fake.Control(v4l2.CIDH264IPeriod); got != 0x7fffffff {
		t.Fatalf("I period %d, want the largest (key frames on request)", got)
	}
	var keys []bool
	for n := range 8 {
		if n == 4 {
			e.ForceKeyFrame() // a PLI
		}
		f, key := encode(t, e, picture(640, 360, n))
		keys = append(keys, key)
		if key && !slices.Equal(nalTypeList(f), []int{7, 8, 5}) {
			t.Fatalf("forced key frame %d: NAL types %v", n, nalTypeList(f))
		}
	}
	if want := []bool{true, false, false, false, true, false, false, false}; !slices.Equal(keys, want) {
		t.Fatalf("key frames %v, want %v", keys, want)
	}
}

func TestBitrateChangesWhileStreaming(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	e := start(t, fake, Config{BitRate: 1_000_000})
	encode(t, e, picture(640, 360, 0))
	e.SetBitRate(600_000) // congestion control backs off
	f, _ := encode(t, e, picture(640, 360, 1))
	if !bytes.Contains(f, []byte("bitrate=600000")) {
		t.Fatalf("frame after SetBitRate(600000): %q", f)
	}
	e.SetBitRate(100_000_000)
	encode(t, e, picture(640, 360, 2))
	e.SetBitRate(1_000)
	encode(t, e, picture(640, 360, 3))
	var streamed []int32
	for _, c := range fake.ControlLog() {
		if c.ID == v4l2.CIDBitrate && c.Streaming {
			streamed = append(streamed, c.Value)
		}
	}
	// Out-of-range requests are clamped to the driver's 25 kb/s..25 Mb/s.
	if want := []int32{600_000, 25_000_000, 25_000}; !slices.Equal(streamed, want) {
		t.Fatalf("bitrate set while streaming %v, want %v", streamed, want)
	}
	var rates []int32
	for _, fr := range fake.Frames() {
		rates = append(rates, fr.Bitrate)
	}
	if want := []int32{1_000_000, 600_000, 25_000_000, 25_000}; !slices.Equal(rates, want) {
		t.Fatalf("frames encoded at %v, want %v", rates, want)
	}
}

// TestCopyUsesTheDriversLayout encodes a size whose rows the driver pads
// (1000 → 1024 bytes) and whose height it aligns (562 → 576), from a
// sub-image whose own stride is wider still.
func TestCopyUsesTheDriversLayout(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	e := start(t, fake, Config{Width: 1000, Height: 562})
	in := e.InputFormat()
	if in.Planes[0].BytesPerLine != 1024 || in.Height != 576 {
		t.Fatalf("input format %+v", in)
	}
	if w, h := fake.Crop(); w != 1000 || h != 562 {
		t.Fatalf("crop %dx%d, want the visible 1000x562", w, h)
	}
	big := picture(1100, 600, 3)
	src := big.SubImage(image.Rect(40, 20, 1040, 582)).(*image.YCbCr)
	f, _ := encode(t, e, src)
	got := fake.Picture()
	if got == nil || got.Rect.Dx() != 1000 || got.Rect.Dy() != 562 {
		t.Fatalf("the fake read %v", got)
	}
	for y := range 562 {
		if !bytes.Equal(got.Y[y*got.YStride:][:1000], src.Y[src.YOffset(40, 20+y):][:1000]) {
			t.Fatalf("luma row %d differs", y)
		}
	}
	for y := range 281 {
		if !bytes.Equal(got.Cb[y*got.CStride:][:500], src.Cb[src.COffset(40, 20+2*y):][:500]) ||
			!bytes.Equal(got.Cr[y*got.CStride:][:500], src.Cr[src.COffset(40, 20+2*y):][:500]) {
			t.Fatalf("chroma row %d differs", y)
		}
	}
	if want := fmt.Sprintf("sum=%08x", v4l2test.PictureSum(src)); !strings.Contains(string(f), want) {
		t.Fatalf("frame %q lacks %s", f, want)
	}
}

func TestDrainReturnsTheLastFramesThenEOS(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	fake.Latency = 2 // the encoder holds two pictures
	e := start(t, fake, Config{})
	var got []string
	for n := range 5 {
		f, _ := encode(t, e, picture(640, 360, n))
		if n < 2 && len(f) != 0 {
			t.Fatalf("frame %d came out before the pipeline filled", n)
		}
		if len(f) > 0 {
			got = append(got, frameName(f))
		}
	}
	rest, err := e.Drain()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rest {
		got = append(got, frameName(f.Data))
	}
	if want := []string{"frame=0", "frame=1", "frame=2", "frame=3", "frame=4"}; !slices.Equal(got, want) {
		t.Fatalf("frames %v, want %v", got, want)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if o, c := fake.Streaming(); o || c || fake.Mapped() != 0 || !fake.Closed() {
		t.Fatalf("after Close: streaming %v/%v, %d mapped, closed %v", o, c, fake.Mapped(), fake.Closed())
	}
	if _, _, err := e.Encode(picture(640, 360, 9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Encode after Close: %v", err)
	}
}

func frameName(f []byte) string {
	i := bytes.LastIndex(f, []byte("frame="))
	if i < 0 {
		return fmt.Sprintf("%q", f)
	}
	name, _, _ := strings.Cut(string(f[i:]), " ")
	return name
}

func TestDriverErrorMidStream(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	e := start(t, fake, Config{})
	encode(t, e, picture(640, 360, 0))
	fake.SetFail(unix.EIO)
	_, _, err := e.Encode(picture(640, 360, 1))
	if !errors.Is(err, ErrDevice) || !errors.Is(err, unix.EIO) {
		t.Fatalf("Encode on a failed device: %v", err)
	}
	t.Logf("error: %v", err)
	e.Close()
	if fake.Mapped() != 0 || !fake.Closed() {
		t.Fatalf("after Close of a failed device: %d mapped, closed %v", fake.Mapped(), fake.Closed())
	}
}

func TestHungDeviceIsAnError(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	e := start(t, fake, Config{Buffers: 3, Timeout: 50 * time.Millisecond})
	encode(t, e, picture(640, 360, 0))
	fake.SetHang(true)
	var err error
	for n := 1; n < 10 && err == nil; n++ {
		_, _, err = e.Encode(picture(640, 360, n))
	}
	if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "hung") {
		t.Fatalf("a hung encoder gave %v", err)
	}
	// No drain is waited for on a device that failed.
	if err := e.Close(); err != nil || fake.Mapped() != 0 || !fake.Closed() {
		t.Fatalf("Close after the hang: %v (%d mapped, closed %v)", err, fake.Mapped(), fake.Closed())
	}
}

// TestParameterSetsInTheirOwnBuffer: drivers that send SPS/PPS in a
// buffer before the IDR's still give one access unit per frame.
func TestParameterSetsInTheirOwnBuffer(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	fake.SeparateHeaders = true
	e := start(t, fake, Config{KeyFrameInterval: time.Second / 10})
	for n := range 7 {
		f, key := encode(t, e, picture(640, 360, n))
		want := []int{1}
		if n%3 == 0 {
			want = []int{7, 8, 5}
		}
		if got := nalTypeList(f); !slices.Equal(got, want) || key != (n%3 == 0) || frameName(f) != fmt.Sprintf("frame=%d", n) {
			t.Fatalf("frame %d: %v key %v %s, want %v", n, got, key, frameName(f), want)
		}
	}
}

// TestVicodecLikeDriver runs the FWHT debug format on a driver without
// bitrate, profile, level or header controls: they are reported, not
// fatal.
func TestVicodecLikeDriver(t *testing.T) {
	fake := v4l2test.NewCodec(v4l2test.FourCCFWHT)
	fake.Card = "vicodec-stateful-encoder"
	e := start(t, fake, Config{Compressed: v4l2test.FourCCFWHT, KeyFrameInterval: time.Second / 3, FPS: 30})
	u := strings.Join(e.Info().Unsupported, "; ")
	if !strings.Contains(u, "bitrate (no control)") {
		t.Fatalf("Unsupported = %q, want the bitrate listed", u)
	}
	if got := fake.Control(v4l2.CIDGOPSize); got != 10 {
		t.Fatalf("GOP size %d, want 10", got)
	}
	e.SetBitRate(500_000) // no control: ignored
	for n := range 3 {
		f, _ := encode(t, e, picture(640, 360, n))
		if !bytes.HasPrefix(f, []byte("OOOOFWHT frame=")) {
			t.Fatalf("FWHT frame %q", f)
		}
	}
}

func TestZeroCopyDMABUF(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	e := start(t, fake, Config{Memory: v4l2.MemoryDMABUF})
	in := e.InputFormat()
	// Two camera buffers, exported and laid out as the encoder wants.
	cam := map[int][]byte{}
	for fd := 50; fd < 52; fd++ {
		cam[fd] = make([]byte, in.Planes[0].SizeImage)
		fake.DMABufs[fd] = cam[fd]
	}
	released := map[int]int{}
	for n := range 6 {
		fd := 50 + n%2
		src := picture(640, 360, n)
		CopyI420(cam[fd], in.Planes[0].BytesPerLine, in.Height, src) // what the camera wrote
		f, key, err := e.EncodeDMABUF(DMABuf{FD: fd, Release: func() { released[fd]++ }})
		if err != nil {
			t.Fatal(err)
		}
		if key != (n == 0) || !strings.Contains(string(f), fmt.Sprintf("sum=%08x", v4l2test.PictureSum(src))) {
			t.Fatalf("frame %d (key %v): %q", n, key, f)
		}
	}
	// The synchronous fake returns each buffer by the next call; Close
	// releases what is left.
	if released[50]+released[51] < 5 {
		t.Fatalf("released %v before Close", released)
	}
	e.Close()
	if released[50] != 3 || released[51] != 3 {
		t.Fatalf("released %v, want each buffer 3 times", released)
	}
	if _, _, err := e.Encode(picture(640, 360, 0)); err == nil {
		t.Fatal("Encode on a DMABUF encoder succeeded")
	}
}

func TestNewSizeRestartsWithAKeyFrame(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	e := start(t, fake, Config{KeyFrameInterval: -1})
	encode(t, e, picture(640, 360, 0))
	encode(t, e, picture(640, 360, 1))
	f, key := encode(t, e, picture(320, 180, 2))
	if !key || !slices.Equal(nalTypeList(f), []int{7, 8, 5}) {
		t.Fatalf("first frame at the new size: key %v, %v", key, nalTypeList(f))
	}
	if in := e.InputFormat(); in.Width != 320 {
		t.Fatalf("input format after resize %+v", in)
	}
}

func TestNotAnEncoder(t *testing.T) {
	_, err := New(Config{Device: "/dev/null", Width: 640, Height: 360, FPS: 30})
	if err == nil || !errors.Is(err, v4l2.ErrNotV4L2) {
		t.Fatalf("New(/dev/null) = %v", err)
	}
	fake := v4l2test.NewCodec(0)
	if _, err := New(Config{Device: "/dev/video11", Width: 640, Height: 360}); err == nil || !strings.Contains(err.Error(), "frame rate") {
		t.Fatalf("no frame rate: %v", err)
	}
	_, err = New(Config{Device: "/dev/video11", Width: 640, Height: 360, FPS: 30, Compressed: v4l2.FourCC("VP80"),
		Open: func(p string) (*v4l2.Device, error) { return v4l2.NewDevice(fake, p) }})
	if err == nil || !strings.Contains(err.Error(), "does not produce VP80") || !fake.Closed() {
		t.Fatalf("an H.264-only device asked for VP8: %v (closed %v)", err, fake.Closed())
	}
}

// BenchmarkCopyI420 is the copy path's cost per 720p frame, which the
// DMABUF path saves: into a buffer with the same stride (one copy per
// plane) and with a different one (row by row, as from a camera whose
// rows are padded differently).
func BenchmarkCopyI420(b *testing.B) {
	const w, h = 1280, 720
	bpl := 1280 // bcm2835-codec's YU12 bytesperline at 720p (64-byte rows)
	dst := make([]byte, bpl*h*3/2)
	for _, c := range []struct {
		name string
		img  *image.YCbCr
	}{
		{"720p-same-stride", picture(w, h, 0)},
		{"720p-padded-source", picture(1344, h, 0).SubImage(image.Rect(0, 0, w, h)).(*image.YCbCr)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(w * h * 3 / 2)
			for b.Loop() {
				if CopyI420(dst, bpl, h, c.img) == 0 {
					b.Fatal("copy refused")
				}
			}
		})
	}
}
