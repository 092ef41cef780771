package callsetup

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/roomdconfig"
	"github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/passthrough"
	"github.com/roomd/roomd/room"
)

// simMedia is the simulated board's [media] table, small.
func simMedia(t *testing.T) roomdconfig.Media {
	t.Helper()
	c, err := roomdconfig.Parse([]byte("[board]\nprofile = \"sim\"\n[media]\nwidth = 320\nheight = 180\nfps = 10\ncodecs = [\"VP8\"]\nhardware_encoder = false\ndisplay_width = 320\ndisplay_height = 180\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	return c.Media
}

func build(t *testing.T, m roomdconfig.Media) (*Parts, error) {
	t.Helper()
	var mic, camera media.Gate
	return New(Options{Media: m, Display: "Fjord", Mic: &mic, Camera: &camera, Report: func(room.Report) {}})
}

// The simulated board's screen is a file of the display's size, drawn on
// while Run runs; a recording gets frames too; both close when Run ends.
func TestSimulatedScreenAndRecording(t *testing.T) {
	dir := t.TempDir()
	m := simMedia(t)
	if m.Video != "pattern" || m.Audio != "tone" || m.Speaker != "off" || m.Framebuffer != "" {
		t.Fatalf("the sim defaults changed: %+v", m)
	}
	m.Framebuffer = "file:" + filepath.Join(dir, "fb")
	m.Record = filepath.Join(dir, "screen.y4m")
	p, err := build(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Failed) != 0 || p.Engine == nil || p.Mixer == nil || p.Compositor == nil {
		t.Fatalf("parts %+v", p)
	}
	if fi, err := os.Stat(filepath.Join(dir, "fb")); err != nil || fi.Size() != 320*180*4 {
		t.Fatalf("screen file: %v, %v; want 320x180 XRGB8888", fi, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	// The screen is drawn when it changes: a notice changes it.
	p.Compositor.SetNotice([]string{"1234", "Code to pair"}, time.Now().Add(time.Minute))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "fb")); err == nil && slices.ContainsFunc(b, func(x byte) bool { return x != 0 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing drawn on the screen file while running")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
	b, err := os.ReadFile(m.Record)
	if err != nil || !bytes.HasPrefix(b, []byte("YUV4MPEG2 W320 H180")) || !bytes.Contains(b, []byte("\nFRAME\n")) {
		t.Fatalf("recording starts %q (%v); want a 320x180 Y4M with a frame, flushed when Run ended", b[:min(len(b), 40)], err)
	}
}

// A display that cannot open is reported and the room runs without it; a
// recording that cannot be made is an error, as it was asked for by name.
func TestOutputsThatCannotOpen(t *testing.T) {
	m := simMedia(t)
	m.Framebuffer = filepath.Join(t.TempDir(), "no-such-fb")
	p, err := build(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Failed) != 1 || p.Failed[0].Name != "display" || p.Failed[0].State != "failed" || p.Failed[0].Reason == "" {
		t.Fatalf("failed outputs %+v, want the display with its reason", p.Failed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Run(ctx) // nothing to draw on: returns with its context

	m = simMedia(t)
	m.Record = filepath.Join(t.TempDir(), "no", "dir", "screen.y4m")
	if _, err := build(t, m); err == nil || !strings.Contains(err.Error(), "no") {
		t.Fatalf("recording into a missing directory: err %v", err)
	}
}

func TestMimeTypes(t *testing.T) {
	got := mimeTypes([]string{"VP8", "h264"})
	if len(got) != 2 || got[0] != codec.MimeVP8 || got[1] != codec.MimeH264 {
		t.Fatalf("mimeTypes = %q", got)
	}
}

// media.video = "h264:PATH" is a camera that encodes H.264, played from the
// file at media.fps; media.camera_passthrough says whether its stream may be
// sent as it is.
func TestSimH264Camera(t *testing.T) {
	path := filepath.Join(t.TempDir(), "camera.h264")
	if err := passthrough.WriteClip(path, passthrough.ClipOptions{Frames: 10}); err != nil {
		t.Fatal(err)
	}
	for _, allow := range []bool{true, false} {
		c, err := roomdconfig.Parse(fmt.Appendf(nil, "[board]\nprofile = \"sim\"\n[media]\nvideo = \"h264:%s\"\nfps = 15\ncamera_passthrough = %v\n", path, allow), "test")
		if err != nil {
			t.Fatal(err)
		}
		var gate media.Gate
		src, err := videoSource(c.Media, &gate, nil)()
		if err != nil {
			t.Fatal(err)
		}
		i := src.Info()
		if i.Device != path || i.Width != 320 || i.Height != 180 || i.FPS != 15 || i.Format != "H.264" {
			t.Fatalf("Info = %+v", i)
		}
		fake := codec.Selection{Codec: codec.MimeH264, Name: "openh264"}
		if sel := passthrough.Use(src, fake); (sel.Name == "camera") != allow {
			t.Fatalf("camera_passthrough = %v, yet the encoder is %q", allow, sel.Name)
		}
		src.Close()
	}
}

// media.video = "mjpeg:PATH" is an MJPEG camera played from the file,
// decoded to I420 pictures.
func TestSimMJPEGCamera(t *testing.T) {
	pic := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	var file bytes.Buffer
	for range 3 {
		if err := jpeg.Encode(&file, pic, nil); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "camera.mjpeg")
	os.WriteFile(path, file.Bytes(), 0o644)
	c, err := roomdconfig.Parse(fmt.Appendf(nil, "[board]\nprofile = \"sim\"\n[media]\nvideo = \"mjpeg:%s\"\nfps = 15\n", path), "test")
	if err != nil {
		t.Fatal(err)
	}
	var gate media.Gate
	src, err := videoSource(c.Media, &gate, nil)()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	img, release, err := src.Read()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if yc, ok := img.(*image.YCbCr); !ok || yc.Rect != pic.Rect {
		t.Fatalf("frame %T %v", img, img.Bounds())
	}
}
