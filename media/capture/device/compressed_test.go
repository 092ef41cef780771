package device

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"slices"
	"strings"
	"testing"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/capture/cammode"
	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/capture/v4l2/v4l2test"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/passthrough"
)

// fakeH264Camera is a UVC camera that encodes H.264 (a C920-like mode
// list), delivering roomd's own clip.
func fakeH264Camera(t *testing.T) (*v4l2test.Camera, [][]byte) {
	t.Helper()
	aus, err := passthrough.EncodeClip(passthrough.ClipOptions{Frames: 20, KeyEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]bool, len(aus))
	for i, au := range aus {
		keys[i] = passthrough.IsKeyFrame(au)
	}
	return &v4l2test.Camera{
		Modes: []v4l2.Mode{
			{FourCC: v4l2.FourCCYUYV, Width: 320, Height: 180, FPS: 10},
			{FourCC: v4l2.FourCCMJPEG, Width: 320, Height: 180, FPS: 30},
			{FourCC: v4l2.FourCCH264, Width: 320, Height: 180, FPS: 30},
			{FourCC: v4l2.FourCCH264, Width: 320, Height: 180, FPS: 15},
		},
		Frames: aus, KeyFrames: keys, KeyFrameControl: true, BitrateControl: true, DropAfter: 5,
	}, aus
}

// roomd's own capture of a camera's H.264: the mode cammode chooses is set,
// every access unit comes out as the camera made it, a frame the driver
// dropped shows as a gap, and the encoding controls reach the camera while
// it is open.
func TestCompressedCameraH264(t *testing.T) {
	cam, aus := fakeH264Camera(t)
	d, err := v4l2.NewDevice(cam, "/dev/video9")
	if err != nil {
		t.Fatal(err)
	}
	modes, err := d.Modes()
	if err != nil {
		t.Fatal(err)
	}
	cfg := CameraConfig{Width: 320, Height: 180, FPS: 30, Passthrough: true}
	c, ok := cammode.Choose(modes, cfg.want())
	if !ok || c.Mode.FourCC != v4l2.FourCCH264 || c.Mode.FPS != 30 {
		t.Fatalf("choice %+v from %v", c, modes)
	}
	var ctl EncoderControls
	src, err := startCompressed(d, c.Mode, capture.Info{Kind: "camera", Device: "/dev/video9", ModeReason: c.Why}, &ctl)
	if err != nil {
		t.Fatal(err)
	}
	if f, w, h := cam.Format(); f != v4l2.FourCCH264 || w != 320 || h != 180 {
		t.Fatalf("S_FMT %s %dx%d", v4l2.FourCCString(f), w, h)
	}
	if num, den := cam.FrameInterval(); num != 1000 || den != 30000 {
		t.Fatalf("S_PARM %d/%d", num, den)
	}
	if i := src.Info(); i.Format != "H.264" || i.Width != 320 || i.FPS != 30 || !strings.Contains(i.String(), "passthrough") {
		t.Fatalf("Info %s", i)
	}
	var seqs []uint64
	for i := range 12 {
		img, release, err := src.Read()
		if err != nil {
			t.Fatal(err)
		}
		au := img.(*capture.AccessUnit)
		if !bytes.Equal(au.Data, aus[i]) || au.Key != passthrough.IsKeyFrame(aus[i]) || au.Bounds() != image.Rect(0, 0, 320, 180) {
			t.Fatalf("access unit %d: %d bytes key %v, want %d bytes", i, len(au.Data), au.Key, len(aus[i]))
		}
		seqs = append(seqs, au.Seq)
		release()
	}
	if want := []uint64{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12}; !slices.Equal(seqs, want) {
		t.Fatalf("sequence %v, want the driver's gap after 5: %v", seqs, want)
	}
	if err := ctl.ForceKeyFrame(); err != nil {
		t.Fatal(err)
	}
	if err := ctl.SetBitRate(20_000_000); err != nil {
		t.Fatal(err)
	}
	log := cam.ControlLog()
	if len(log) != 2 || log[0].ID != v4l2.CIDForceKeyFrame || log[1].ID != v4l2.CIDBitrate || log[1].Value != 8_000_000 || !log[1].Streaming {
		t.Fatalf("controls set %+v, want a key frame and the bitrate clamped to the camera's 8 Mbit/s", log)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if cam.Streaming() || cam.Mapped() != 0 {
		t.Fatalf("after Close: streaming %v, %d mappings", cam.Streaming(), cam.Mapped())
	}
	if err := ctl.ForceKeyFrame(); !errors.Is(err, passthrough.ErrNoControl) {
		t.Fatalf("controls of a closed camera: %v", err)
	}
	if _, _, err := src.Read(); !errors.Is(err, capture.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

// The whole passthrough path on roomd's own capture: the encoder sends the
// camera's access units unchanged, and a PLI becomes the camera's
// FORCE_KEY_FRAME.
func TestCompressedCameraPassthrough(t *testing.T) {
	cam, aus := fakeH264Camera(t)
	cam.DropAfter = 0
	d, err := v4l2.NewDevice(cam, "/dev/video9")
	if err != nil {
		t.Fatal(err)
	}
	var ctl EncoderControls
	src, err := startCompressed(d, v4l2.Mode{FourCC: v4l2.FourCCH264, Width: 320, Height: 180, FPS: 30}, capture.Info{Kind: "camera"}, &ctl)
	if err != nil {
		t.Fatal(err)
	}
	pc := passthrough.NewCamera(src, passthrough.CameraOptions{Passthrough: true, Controls: passthrough.Controls{ForceKeyFrame: ctl.ForceKeyFrame, SetBitRate: ctl.SetBitRate}})
	defer pc.Close()
	sel := passthrough.Use(pc, codec.Selection{Encoder: nopEncoder{}, Codec: codec.MimeH264, Name: "openh264"})
	for i := range 15 {
		img, release, err := pc.Read()
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := sel.Encoder.Encode(img)
		release()
		if err != nil || !bytes.Equal(out, aus[i]) {
			t.Fatalf("access unit %d: %d bytes (%v), want %d", i, len(out), err, len(aus[i]))
		}
	}
	sel.Encoder.ForceKeyFrame()
	n := 0
	for _, c := range cam.ControlLog() {
		if c.ID == v4l2.CIDForceKeyFrame {
			n++
		}
	}
	if n != 2 { // at the start, and on the PLI
		t.Fatalf("FORCE_KEY_FRAME set %d times: %+v", n, cam.ControlLog())
	}
}

type nopEncoder struct{}

func (nopEncoder) Encode(image.Image) ([]byte, bool, error) { return nil, false, errors.New("nop") }
func (nopEncoder) ForceKeyFrame()                           {}
func (nopEncoder) SetBitRate(int)                           {}
func (nopEncoder) Close() error                             { return nil }

// An MJPEG camera captured by roomd itself is decoded by libjpeg-turbo to
// I420; a damaged frame is skipped.
func TestCompressedCameraMJPEG(t *testing.T) {
	pic := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	for i := range pic.Y {
		pic.Y[i] = byte(i)
	}
	var good bytes.Buffer
	if err := jpeg.Encode(&good, pic, nil); err != nil {
		t.Fatal(err)
	}
	cam := &v4l2test.Camera{
		Modes:  []v4l2.Mode{{FourCC: v4l2.FourCCMJPEG, Width: 320, Height: 180, FPS: 30}},
		Frames: [][]byte{good.Bytes(), []byte("not a JPEG"), good.Bytes()},
	}
	d, err := v4l2.NewDevice(cam, "/dev/video9")
	if err != nil {
		t.Fatal(err)
	}
	src, err := startCompressed(d, cam.Modes[0], capture.Info{Kind: "camera"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for range 4 {
		img, release, err := src.Read()
		if err != nil {
			t.Fatal(err)
		}
		yc, ok := img.(*image.YCbCr)
		if !ok || yc.Rect != pic.Rect || yc.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			t.Fatalf("frame %T %v", img, img.Bounds())
		}
		release()
	}
	if src.Info().Format != "MJPEG" {
		t.Fatalf("Info %+v", src.Info())
	}
	// Nothing but damage: an error, so that the camera is reopened.
	cam2 := &v4l2test.Camera{Modes: cam.Modes, Frames: [][]byte{[]byte("not a JPEG")}}
	d2, _ := v4l2.NewDevice(cam2, "/dev/video9")
	bad, err := startCompressed(d2, cam.Modes[0], capture.Info{Kind: "camera", Device: "/dev/video9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, _, err := bad.Read(); err == nil || !strings.Contains(err.Error(), "damaged frames in a row") {
		t.Fatalf("a camera sending garbage: %v", err)
	}
}
