package passthrough

import (
	"bytes"
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// encodeClip encodes n frames of the test pattern at 320x180, an IDR every
// keyEvery frames, and returns the access units.
func encodeClip(t *testing.T, n, keyEvery int, cfg codec.VideoConfig) [][]byte {
	t.Helper()
	aus, err := EncodeClip(ClipOptions{Frames: n, KeyEvery: keyEvery, MaxNALSize: cfg.MaxNALSize})
	if err != nil {
		t.Fatal(err)
	}
	return aus
}

// writeClip writes the access units as one Annex B file.
func writeClip(t *testing.T, aus [][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "camera.h264")
	if err := os.WriteFile(path, bytes.Join(aus, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSplitAccessUnits(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  codec.VideoConfig
	}{
		{"one slice per picture", codec.VideoConfig{}},
		{"sliced to 500-byte NAL units", codec.VideoConfig{MaxNALSize: 500}},
	} {
		aus := encodeClip(t, 25, 10, c.cfg)
		got := SplitAccessUnits(bytes.Join(aus, nil))
		if len(got) != len(aus) {
			t.Fatalf("%s: %d access units, want %d", c.name, len(got), len(aus))
		}
		for i := range aus {
			if !bytes.Equal(got[i], aus[i]) {
				t.Fatalf("%s: access unit %d differs (%d bytes, want %d; NAL types %v, want %v)", c.name, i,
					len(got[i]), len(aus[i]), codec.H264NALTypes(got[i]), codec.H264NALTypes(aus[i]))
			}
		}
		if c.cfg.MaxNALSize > 0 && len(codec.H264NALTypes(aus[1])) < 2 {
			t.Fatalf("%s: the clip has one slice per picture, NAL types %v", c.name, codec.H264NALTypes(aus[1]))
		}
		if !IsKeyFrame(got[0]) || IsKeyFrame(got[1]) || !IsKeyFrame(got[10]) {
			t.Fatalf("%s: key frames at 0 and 10 expected: %v %v %v", c.name, IsKeyFrame(got[0]), IsKeyFrame(got[1]), IsKeyFrame(got[10]))
		}
	}
	// Access unit delimiters, 3-byte start codes.
	aud := []byte{0, 0, 1, 0x09, 0xf0}
	p1 := []byte{0, 0, 1, 0x41, 0x9a, 1}
	p2 := []byte{0, 0, 1, 0x41, 0x9a, 2}
	stream := slices.Concat(aud, p1, aud, p2)
	got := SplitAccessUnits(stream)
	if want := [][]byte{slices.Concat(aud, p1), slices.Concat(aud, p2)}; len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
		t.Fatalf("AUD stream split into %x", got)
	}
}

// fakeEncoder stands for the software encoder Select chose: it records
// what it was given.
type fakeEncoder struct {
	mu       sync.Mutex
	pictures int
	keyReqs  int
	bitrate  int
	closed   bool
}

func (f *fakeEncoder) Encode(img image.Image) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := img.(*capture.AccessUnit); ok {
		return nil, false, errors.New("fake: got an access unit")
	}
	f.pictures++
	return []byte{0, 0, 0, 1, 0x65, 0xfa}, true, nil
}
func (f *fakeEncoder) ForceKeyFrame() { f.mu.Lock(); f.keyReqs++; f.mu.Unlock() }
func (f *fakeEncoder) SetBitRate(bps int) {
	f.mu.Lock()
	f.bitrate = bps
	f.mu.Unlock()
}
func (f *fakeEncoder) Close() error { f.closed = true; return nil }

// stepClock is a capture.Clock whose Sleep advances time at once.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) Sleep(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openClip(t *testing.T, aus [][]byte, passthrough bool) (*Camera, *stepClock) {
	t.Helper()
	clock := &stepClock{t: time.Unix(1e9, 0)}
	cam, err := OpenH264File(writeClip(t, aus), FileOptions{FPS: 30, Clock: clock, Passthrough: passthrough})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cam.Close() })
	return cam, clock
}

func h264Selection(f *fakeEncoder) codec.Selection {
	return codec.Selection{Encoder: f, Codec: codec.MimeH264, Name: "openh264", Reason: "software"}
}

// Every access unit leaves byte for byte as the camera made it, one per
// frame interval, and the software encoder is never used.
func TestPassthroughSendsAccessUnitsUnchanged(t *testing.T) {
	aus := encodeClip(t, 40, 15, codec.VideoConfig{})
	cam, clock := openClip(t, aus, true)
	fb := &fakeEncoder{}
	sel := Use(cam, h264Selection(fb))
	if sel.Name != "camera" || !sel.Hardware || !strings.Contains(sel.Reason, "no key-frame control") || !strings.Contains(sel.Reason, "bitrate fixed by the camera") {
		t.Fatalf("selection %+v", sel)
	}
	start := clock.Now()
	for i := range len(aus) + 5 { // and round the loop
		img, release, err := cam.Read()
		if err != nil {
			t.Fatal(err)
		}
		out, key, err := sel.Encoder.Encode(img)
		release()
		if err != nil {
			t.Fatal(err)
		}
		want := aus[i%len(aus)]
		if !bytes.Equal(out, want) || key != IsKeyFrame(want) {
			t.Fatalf("access unit %d: %d bytes (key %v), want the camera's %d bytes (key %v)", i, len(out), key, len(want), IsKeyFrame(want))
		}
		if at, due := clock.Now().Sub(start), time.Duration(i)*time.Second/30; at < due-time.Millisecond || at > due+time.Millisecond {
			t.Fatalf("access unit %d at %v, due at %v", i, at, due)
		}
	}
	if fb.pictures != 0 {
		t.Fatalf("the software encoder encoded %d pictures", fb.pictures)
	}
	// OpenH264 makes Constrained Baseline at level 1.3 for 320x180.
	if i := cam.Info(); i.Width != 320 || i.Height != 180 || !strings.Contains(i.String(), "H.264 (sent as the camera encodes it, Constrained Baseline ") {
		t.Fatalf("Info = %s", i)
	}
}

// A PLI on a camera without a key-frame control waits for its next IDR,
// and status says so until it has passed; with a control, the control is
// used.
func TestKeyFrameRequest(t *testing.T) {
	aus := encodeClip(t, 30, 10, codec.VideoConfig{})
	cam, _ := openClip(t, aus, true)
	sel := Use(cam, h264Selection(&fakeEncoder{}))
	send := func() (key bool) {
		t.Helper()
		img, release, err := cam.Read()
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		out, key, err := sel.Encoder.Encode(img)
		if err != nil || len(out) == 0 {
			t.Fatalf("nothing sent: %v", err)
		}
		return key
	}
	for range 3 {
		send()
	}
	sel.Encoder.ForceKeyFrame()
	if r := cam.Info().ModeReason; !strings.Contains(r, "no key-frame control, so the far end waits for its next one") {
		t.Fatalf("after a PLI, ModeReason = %q", r)
	}
	// The camera carries on with its P frames (frames 3..9), then its IDR.
	for i := 3; i < 10; i++ {
		if send() {
			t.Fatalf("frame %d: a key frame before the camera's next", i)
		}
		if r := cam.Info().ModeReason; !strings.Contains(r, "waits for its next one") {
			t.Fatalf("frame %d: the note went away: %q", i, r)
		}
	}
	if !send() {
		t.Fatal("frame 10 is the camera's IDR")
	}
	if r := cam.Info().ModeReason; strings.Contains(r, "key frame") {
		t.Fatalf("after the IDR, ModeReason = %q", r)
	}

	// A camera with the controls.
	var asked, rate int
	src, err := capture.NewAccessUnitReplay(aus, keyFlags(aus), capture.ReplayOptions{Width: 320, Height: 180, Clock: &stepClock{}})
	if err != nil {
		t.Fatal(err)
	}
	ctl := NewCamera(src, CameraOptions{Passthrough: true, Controls: Controls{
		ForceKeyFrame: func() error { asked++; return nil },
		SetBitRate:    func(bps int) error { rate = bps; return nil },
	}})
	defer ctl.Close()
	fb := &fakeEncoder{}
	sel = Use(ctl, h264Selection(fb))
	if !strings.Contains(sel.Reason, "key frames on request through the camera's control") || !strings.Contains(sel.Reason, "bitrate through the camera's control") {
		t.Fatalf("reason %q", sel.Reason)
	}
	sel.Encoder.ForceKeyFrame()
	sel.Encoder.SetBitRate(800_000)
	if asked != 2 || rate != 800_000 || fb.bitrate != 800_000 { // once at the start, once on request
		t.Fatalf("control asked %d times, bitrate %d, fallback's %d", asked, rate, fb.bitrate)
	}
	if r := ctl.Info().ModeReason; strings.Contains(r, "waits") {
		t.Fatalf("a camera with a key-frame control: %q", r)
	}
}

func keyFlags(aus [][]byte) []bool {
	k := make([]bool, len(aus))
	for i, au := range aus {
		k[i] = IsKeyFrame(au)
	}
	return k
}

// The privacy slate (any picture of roomd's own) goes to the software
// encoder as a key frame; back on the camera, nothing is sent until the
// camera's next IDR. A gap in the camera's sequence (a frame-rate cap) does
// the same.
func TestSlateAndGapsWaitForTheCamerasKeyFrame(t *testing.T) {
	aus := encodeClip(t, 30, 10, codec.VideoConfig{})
	fb := &fakeEncoder{}
	enc := Use(NewCamera(nil, CameraOptions{Passthrough: true}), h264Selection(fb)).Encoder
	if _, ok := enc.(*Encoder); !ok {
		t.Fatalf("Use did not switch: %T", enc)
	}
	au := func(i int, seq uint64) *capture.AccessUnit {
		return &capture.AccessUnit{Data: aus[i], Key: IsKeyFrame(aus[i]), Seq: seq, Width: 320, Height: 180}
	}
	sent := func(img image.Image) bool {
		t.Helper()
		out, _, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		return len(out) > 0
	}
	if !sent(au(0, 0)) || !sent(au(1, 1)) {
		t.Fatal("the camera's first frames were not sent")
	}
	slate := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	if !sent(slate) || fb.pictures != 1 || fb.keyReqs != 1 {
		t.Fatalf("slate: fallback encoded %d, key requests %d", fb.pictures, fb.keyReqs)
	}
	for i := 2; i < 10; i++ {
		if sent(au(i, uint64(i))) {
			t.Fatalf("frame %d sent before the camera's key frame", i)
		}
	}
	if !sent(au(10, 10)) || !sent(au(11, 11)) {
		t.Fatal("the camera's key frame and the next were not sent")
	}
	// Frame 12 dropped on the way: 13 refers to it.
	if sent(au(13, 13)) {
		t.Fatal("a frame after a gap was sent")
	}
	if !sent(au(20, 20)) {
		t.Fatal("the key frame after the gap was not sent")
	}
	// VP8 negotiated: the camera is decoded instead.
	cam, _ := openClip(t, aus, true)
	vp8 := codec.Selection{Encoder: fb, Codec: codec.MimeVP8, Name: "libvpx"}
	if got := Use(cam, vp8); got.Encoder != fb {
		t.Fatal("passthrough chosen for VP8")
	}
}

// Without passthrough (not allowed, or not H.264) the camera's stream is
// decoded into pictures any encoder takes.
func TestCameraDecodesWithoutPassthrough(t *testing.T) {
	aus := encodeClip(t, 12, 10, codec.VideoConfig{})
	cam, _ := openClip(t, aus, false)
	fb := &fakeEncoder{}
	if sel := Use(cam, h264Selection(fb)); sel.Encoder != fb {
		t.Fatal("passthrough used although not allowed")
	}
	for i := range 12 {
		img, release, err := cam.Read()
		if err != nil {
			t.Fatal(err)
		}
		yc, ok := img.(*image.YCbCr)
		if !ok || yc.Rect != image.Rect(0, 0, 320, 180) {
			t.Fatalf("picture %d: %T %v", i, img, img.Bounds())
		}
		release()
	}
	if r := cam.Info().ModeReason; !strings.Contains(r, "decoded") {
		t.Fatalf("ModeReason = %q", r)
	}
}

func TestOpenH264FileRefuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.h264")
	os.WriteFile(garbage, []byte("this is not H.264"), 0o644)
	for _, p := range []string{filepath.Join(dir, "missing.h264"), garbage} {
		if cam, err := OpenH264File(p, FileOptions{}); err == nil {
			cam.Close()
			t.Errorf("%s opened", p)
		} else if !strings.HasPrefix(err.Error(), "passthrough: ") {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// A frame-rate cap between the camera and the encoder (the fleet's caps,
// which drop pictures) leaves access units that refer to dropped ones: the
// camera is decoded and re-encoded from then on, and status says why. The
// privacy slate, which also stands in for access units, does not count.
func TestDroppedAccessUnitsSwitchToTranscoding(t *testing.T) {
	aus := encodeClip(t, 40, 10, codec.VideoConfig{})
	cam, _ := openClip(t, aus, true)
	fb := &fakeEncoder{}
	enc := Use(cam, h264Selection(fb)).Encoder
	next := func() image.Image {
		t.Helper()
		img, release, err := cam.Read()
		if err != nil {
			t.Fatal(err)
		}
		release()
		return img
	}
	for i := range 4 {
		if out, _, err := enc.Encode(next()); err != nil || len(out) == 0 {
			t.Fatalf("frame %d not sent: %v", i, err)
		}
	}
	// Privacy: the gate reads an access unit and hands on the slate.
	next()
	if _, _, err := enc.Encode(image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ { // back on the camera: nothing until its next IDR
		img := next()
		if _, ok := img.(*capture.AccessUnit); !ok {
			t.Fatal("the slate switched the camera to decoding")
		}
		if out, _, _ := enc.Encode(img); len(out) != 0 {
			t.Fatalf("frame %d sent before the camera's key frame", i)
		}
	}
	if out, key, _ := enc.Encode(next()); len(out) == 0 || !key {
		t.Fatal("the camera's key frame after privacy was not sent")
	}
	// A cap that passes every other access unit.
	next()
	if out, _, _ := enc.Encode(next()); len(out) != 0 {
		t.Fatal("an access unit after a dropped one was sent")
	}
	if r := cam.Info().ModeReason; !strings.Contains(r, "decoded and re-encoded instead") {
		t.Fatalf("ModeReason = %q", r)
	}
	before := fb.pictures
	img := next()
	if _, ok := img.(*image.YCbCr); !ok {
		t.Fatalf("after the switch the camera gives %T, want pictures", img)
	}
	if _, _, err := enc.Encode(img); err != nil || fb.pictures != before+1 {
		t.Fatalf("the software encoder got %d pictures (%v)", fb.pictures-before, err)
	}
}
