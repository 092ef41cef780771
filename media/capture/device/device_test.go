package device

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/capture/cammode"
	"github.com/roomd/roomd/media/capture/v4l2"
)

func TestOpenCameraFailsClearlyWithoutOne(t *testing.T) {
	empty := t.TempDir()
	fakeDev := t.TempDir()
	os.WriteFile(filepath.Join(fakeDev, "video0"), nil, 0o644)

	cases := []struct {
		name string
		cfg  CameraConfig
		want string
	}{
		{"no nodes", CameraConfig{DevDir: empty}, "no " + empty + "/video* device nodes"},
		{"not v4l2", CameraConfig{DevDir: fakeDev}, "v4l2: not a V4L2 device: " + fakeDev + "/video0"},
		{"missing path", CameraConfig{Device: filepath.Join(empty, "video7")}, "video7 does not exist (camera unplugged?)"},
		{"null device", CameraConfig{Device: "/dev/null"}, "v4l2: not a V4L2 device: /dev/null"},
	}
	for _, c := range cases {
		src, err := OpenCamera(c.cfg)
		if err == nil {
			src.Close()
			t.Errorf("%s: OpenCamera succeeded", c.name)
			continue
		}
		if !errors.Is(err, ErrNoCamera) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "device: ") {
			t.Errorf("%s: OpenCamera = %q, want ErrNoCamera saying %q", c.name, err, c.want)
		}
	}
}

// On a machine without cameras (CI, the simulated board) the default
// camera must fail with ErrNoCamera, not panic; with cameras it must work.
func TestOpenDefaultCamera(t *testing.T) {
	var cams []string
	for _, p := range v4l2.Devices("") {
		if c, err := v4l2.QueryCapabilities(p); err == nil && c.IsSinglePlanarCamera() {
			cams = append(cams, p)
		}
	}
	src, err := OpenCamera(CameraConfig{Width: 640, Height: 480, FPS: 15})
	if len(cams) == 0 {
		if !errors.Is(err, ErrNoCamera) {
			t.Fatalf("no camera on this machine, yet OpenCamera = %v, want ErrNoCamera", err)
		}
		t.Logf("as expected: %v", err)
		if got := Cameras(""); len(got) != 0 {
			t.Fatalf("Cameras lists %v on a machine without cameras", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("cameras %v present, OpenCamera = %v", cams, err)
	}
	defer src.Close()
	if i := src.Info(); i.Kind != "camera" || i.Device == "" || i.Width == 0 {
		t.Fatalf("Info = %+v", i)
	}
}

func TestOpenMicrophoneFailsClearly(t *testing.T) {
	_, err := OpenMicrophone(MicrophoneConfig{Device: "no-such-microphone-0xdeadbeef"})
	if !errors.Is(err, ErrNoMicrophone) || !strings.HasPrefix(err.Error(), "device: ") {
		t.Fatalf("unknown microphone: %v, want ErrNoMicrophone", err)
	}
	_, noSnd := os.Stat("/dev/snd")
	if !errors.Is(noSnd, os.ErrNotExist) || os.Getenv("PULSE_SERVER") != "" {
		return // this machine may have a microphone; nothing more to insist on
	}
	src, err := OpenMicrophone(MicrophoneConfig{})
	if err == nil {
		src.Close()
		t.Fatalf("no /dev/snd, yet a microphone opened: %v", src.Info())
	}
	if !errors.Is(err, ErrNoMicrophone) || !strings.Contains(err.Error(), "null device") {
		t.Fatalf("no /dev/snd: OpenMicrophone = %q, want ErrNoMicrophone naming miniaudio's null device", err)
	}
	t.Logf("as expected: %v", err)
	if got := Microphones(); len(got) != 0 {
		t.Fatalf("Microphones lists %v without /dev/snd", got)
	}
}

// A camera wrapped for reconnection keeps the stream going on a machine
// without one, and says why in its Info.
func TestReconnectingCameraWithoutCamera(t *testing.T) {
	dir := t.TempDir()
	r := capture.NewReconnectingVideo(func() (capture.VideoSource, error) {
		return OpenCamera(CameraConfig{DevDir: dir})
	}, capture.ReconnectOptions{Width: 320, Height: 240, FPS: 100, RetryEvery: time.Hour})
	defer r.Close()
	for range 3 {
		img, _, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != 320 {
			t.Fatalf("placeholder is %v", img.Bounds())
		}
	}
	if p := r.Info().Problem; !strings.Contains(p, "no "+dir+"/video* device nodes") {
		t.Fatalf("Info().Problem = %q", p)
	}
}

func TestPickVideoProp(t *testing.T) {
	mode := func(w, h int, f frame.Format, fps float32) prop.Media {
		return prop.Media{Video: prop.Video{Width: w, Height: h, FrameFormat: f, FrameRate: fps}}
	}
	props := []prop.Media{
		mode(1920, 1080, frame.FormatMJPEG, 30),
		mode(1280, 720, frame.FormatMJPEG, 30),
		mode(1280, 720, frame.FormatYUYV, 10),
		mode(1280, 720, frame.FormatYUYV, 30),
		mode(640, 480, frame.FormatYUYV, 30),
		mode(640, 480, frame.FormatZ16, 30),
	}
	cases := []struct {
		cfg  CameraConfig
		want prop.Media
	}{
		{CameraConfig{Width: 1280, Height: 720, FPS: 30}, props[3]},
		{CameraConfig{Width: 1920, Height: 1080, FPS: 30}, props[0]},
		{CameraConfig{Width: 640, Height: 360, FPS: 30}, props[4]},
		{CameraConfig{Width: 1280, Height: 720, FPS: 10}, props[2]},
	}
	for _, c := range cases {
		got, ok := pickVideoProp(props, c.cfg)
		if !ok || got.Video != c.want.Video {
			t.Errorf("pick for %+v = %+v, want %+v", c.cfg, got.Video, c.want.Video)
		}
	}
	if _, ok := pickVideoProp([]prop.Media{mode(640, 480, frame.FormatZ16, 30)}, CameraConfig{Width: 640, Height: 480, FPS: 30}); ok {
		t.Error("a depth-only camera was accepted")
	}
}

// The driver's list of modes decides, not mediadevices' guesses: a C270-like
// camera opens in MJPEG at 720p30 rather than YUYV at 7.5 fps.
func TestPropFromChoice(t *testing.T) {
	modes := []v4l2.Mode{
		{FourCC: v4l2.FourCCYUYV, Width: 1280, Height: 720, FPS: 7.5},
		{FourCC: v4l2.FourCCYUYV, Width: 640, Height: 480, FPS: 30},
		{FourCC: v4l2.FourCCMJPEG, Width: 1280, Height: 720, FPS: 30, Compressed: true},
		{FourCC: v4l2.FourCCMJPEG, Width: 1280, Height: 720, FPS: 15, Compressed: true},
		{FourCC: v4l2.FourCCH264, Width: 1280, Height: 720, FPS: 30, Compressed: true},
	}
	cfg := CameraConfig{Width: 1280, Height: 720, FPS: 30}
	c, chosen := cammode.Choose(modes, cfg.want())
	p, why, ok := propFromChoice(c, chosen, nil, nil, cfg)
	want := prop.Video{Width: 1280, Height: 720, FrameFormat: frame.FormatMJPEG, FrameRate: 30}
	if !ok || p.Video != want {
		t.Fatalf("prop = %+v (%v), want %+v", p.Video, ok, want)
	}
	if want := "YUYV only reaches 7.5 fps at this size; the camera offers H.264 but passthrough is off"; why != want {
		t.Fatalf("why = %q, want %q", why, want)
	}
	// No modes listed: mediadevices' list, ranked by format, and status says so.
	props := []prop.Media{{Video: prop.Video{Width: 1280, Height: 720, FrameFormat: frame.FormatYUYV, FrameRate: 10}}}
	p, why, ok = propFromChoice(cammode.Choice{}, false, errors.New("v4l2: /dev/video0: VIDIOC_ENUM_FRAMESIZES: EIO"), props, cfg)
	if !ok || p.Video != props[0].Video || !strings.Contains(why, "EIO") {
		t.Fatalf("fallback: %+v %q %v", p.Video, why, ok)
	}
}
