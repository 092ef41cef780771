package codec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/capture/v4l2/v4l2test"
)

var selectCfg = VideoConfig{Width: 320, Height: 240}

// What this machine has decides what Select must say; CI and the
// simulated board have no /dev/video11.
func TestSelectOnThisMachine(t *testing.T) {
	sel, err := Select(Preferences{}, selectCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Encoder.Close()
	t.Logf("Select: %s", sel.Reason)
	if _, err := os.Stat("/dev/video11"); os.IsNotExist(err) && len(v4l2.Devices("")) == 0 {
		want := "hardware: no V4L2 M2M H.264 encoder found (/dev/video11 missing; no other /dev/video* devices); using openh264 software (H.264)"
		if sel.Reason != want {
			t.Fatalf("Reason = %q\nwant     %q", sel.Reason, want)
		}
	}
	if sel.Codec != MimeH264 || sel.Name != "openh264" || sel.Hardware {
		t.Fatalf("Select chose %+v, want openh264 software", sel)
	}
	if f, key, err := sel.Encoder.Encode(frames(t, 320, 240, 1)[0]); err != nil || !key || len(f) == 0 {
		t.Fatalf("selected encoder: %d B, key %v, %v", len(f), key, err)
	}
}

func TestSelectReasons(t *testing.T) {
	notV4L2 := t.TempDir()
	os.WriteFile(filepath.Join(notV4L2, "video11"), nil, 0o644)
	empty := t.TempDir()
	cases := []struct {
		name  string
		prefs Preferences
		codec string
		want  string
	}{
		{"empty dev", Preferences{DevDir: empty}, MimeH264,
			"hardware: no V4L2 M2M H.264 encoder found (" + empty + "/video11 missing; no other " + empty + "/video* devices); using openh264 software (H.264)"},
		{"not a device", Preferences{DevDir: notV4L2}, MimeH264,
			"hardware: no V4L2 M2M H.264 encoder found (not a V4L2 device: " + notV4L2 + "/video11 (VIDIOC_QUERYCAP: inappropriate ioctl for device); no other " + notV4L2 + "/video* devices); using openh264 software (H.264)"},
		{"no hardware", Preferences{NoHardware: true}, MimeH264,
			"hardware: probing disabled by configuration; using openh264 software (H.264)"},
		{"unknown first", Preferences{Codecs: []string{"video/AV1", "video/h264"}, DevDir: empty}, MimeH264,
			"video/AV1: roomd has no encoder for it; hardware: no V4L2 M2M H.264 encoder found (" + empty + "/video11 missing; no other " + empty + "/video* devices); using openh264 software (H.264)"},
	}
	for _, c := range cases {
		sel, err := Select(c.prefs, selectCfg)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		sel.Encoder.Close()
		if sel.Codec != c.codec || sel.Reason != c.want {
			t.Errorf("%s: chose %s because %q\nwant %s because %q", c.name, sel.Codec, sel.Reason, c.codec, c.want)
		}
	}
	_, err := Select(Preferences{Codecs: []string{"video/AV1"}}, selectCfg)
	if err == nil || !strings.Contains(err.Error(), "codec: no usable video encoder for video/AV1") {
		t.Fatalf("AV1 only: %v", err)
	}
}

// fakeDevDir makes a /dev-like directory whose nodes open as the given
// fake encoders.
func fakeDevDir(t *testing.T, nodes map[string]*v4l2test.Codec) (string, func(string) (*v4l2.Device, error)) {
	dir := t.TempDir()
	for n := range nodes {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	return dir, func(p string) (*v4l2.Device, error) {
		fake, ok := nodes[filepath.Base(p)]
		if !ok {
			return v4l2.Open(p)
		}
		if fake.Closed() {
			fake.Reopen() // each open is a new context
		}
		return v4l2.NewDevice(fake, p)
	}
}

func TestSelectOpensTheHardwareEncoder(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	dir, open := fakeDevDir(t, map[string]*v4l2test.Codec{"video11": fake})
	sel, err := Select(Preferences{DevDir: dir, open: open}, VideoConfig{Width: 640, Height: 360, BitRate: 900_000, KeyFrameInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Encoder.Close()
	want := "using v4l2m2m hardware (H.264) on " + dir + "/video11 (bcm2835-codec-encode)"
	if !sel.Hardware || sel.Name != "v4l2m2m" || sel.Device != dir+"/video11 (bcm2835-codec-encode)" || sel.Reason != want {
		t.Fatalf("Select = %+v\nwant reason %q", sel, want)
	}
	if fake.Control(v4l2.CIDBitrateMode) != v4l2.BitrateModeCBR || fake.Control(v4l2.CIDBitrate) != 900_000 {
		t.Fatalf("bitrate mode %d, bitrate %d", fake.Control(v4l2.CIDBitrateMode), fake.Control(v4l2.CIDBitrate))
	}
	pics := frames(t, 640, 360, 3)
	f, key, err := sel.Encoder.Encode(pics[0])
	if err != nil || !key || !slices.Equal(H264NALTypes(f), []int{7, 8, 5}) {
		t.Fatalf("first frame: key %v, NAL types %v, %v", key, H264NALTypes(f), err)
	}
	sel.Encoder.SetBitRate(700_000)
	sel.Encoder.ForceKeyFrame()
	f, key, err = sel.Encoder.Encode(pics[1])
	if err != nil || !key || !slices.Equal(H264NALTypes(f), []int{7, 8, 5}) || fake.Control(v4l2.CIDBitrate) != 700_000 {
		t.Fatalf("after a PLI: key %v, NAL types %v, bitrate %d, %v", key, H264NALTypes(f), fake.Control(v4l2.CIDBitrate), err)
	}
	if r := sel.Encoder.(RuntimeFallback).FallbackReason(); r != "" {
		t.Fatalf("FallbackReason = %q on working hardware", r)
	}
}

// TestHardwareFailureFallsBackToSoftware breaks the device mid-call: the
// same Encode returns an OpenH264 key frame, and the reason names the
// device and the error.
func TestHardwareFailureFallsBackToSoftware(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	dir, open := fakeDevDir(t, map[string]*v4l2test.Codec{"video11": fake})
	sel, err := Select(Preferences{DevDir: dir, open: open}, VideoConfig{Width: 320, Height: 240})
	if err != nil || !sel.Hardware {
		t.Fatalf("%+v %v", sel, err)
	}
	defer sel.Encoder.Close()
	pics := frames(t, 320, 240, 4)
	sel.Encoder.Encode(pics[0])
	sel.Encoder.SetBitRate(400_000)
	fake.SetFail(unix.EIO)
	f, key, err := sel.Encoder.Encode(pics[1])
	if err != nil || !key || !slices.Equal(H264NALTypes(f), []int{7, 8, 5}) {
		t.Fatalf("frame after the failure: key %v, NAL types %v, %v", key, H264NALTypes(f), err)
	}
	dec, err := NewH264Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if pic, err := dec.Decode(f); err != nil || pic == nil || pic.Rect.Dx() != 320 {
		t.Fatalf("the software frame does not decode: %v", err)
	}
	reason := sel.Encoder.(RuntimeFallback).FallbackReason()
	want := "hardware encoder " + dir + "/video11 (bcm2835-codec-encode) failed (encoder device failed: "
	if !strings.HasPrefix(reason, want) || !strings.Contains(reason, "input/output error") || !strings.HasSuffix(reason, "; switched to openh264 software") {
		t.Fatalf("FallbackReason = %q", reason)
	}
	if !fake.Closed() || fake.Mapped() != 0 {
		t.Fatal("the failed device was not closed")
	}
	if f, _, err := sel.Encoder.Encode(pics[2]); err != nil || len(f) == 0 {
		t.Fatalf("software goes on: %d B, %v", len(f), err)
	}
}

func TestPacketizationMode0LeavesHardware(t *testing.T) {
	fake := v4l2test.NewCodec(0)
	dir, open := fakeDevDir(t, map[string]*v4l2test.Codec{"video11": fake})
	sel, err := Select(Preferences{DevDir: dir, open: open}, VideoConfig{Width: 320, Height: 240, MaxNALSize: 1200})
	if err != nil {
		t.Fatal(err)
	}
	sel.Encoder.Close()
	if sel.Hardware || !strings.HasPrefix(sel.Reason, "hardware: the far end takes H.264 NAL units of at most 1200 bytes") {
		t.Fatalf("MaxNALSize at start: %+v", sel)
	}

	sel, err = Select(Preferences{DevDir: dir, open: open}, VideoConfig{Width: 320, Height: 240})
	if err != nil || !sel.Hardware {
		t.Fatalf("%+v %v", sel, err)
	}
	defer sel.Encoder.Close()
	pics := frames(t, 320, 240, 2)
	sel.Encoder.Encode(pics[0])
	sel.Encoder.(NALSizeLimiter).SetMaxNALSize(600)
	f, key, err := sel.Encoder.Encode(pics[1])
	if err != nil || !key || H264LargestNAL(f) > 600 {
		t.Fatalf("after SetMaxNALSize(600): key %v, largest NAL %d, %v", key, H264LargestNAL(f), err)
	}
	if r := sel.Encoder.(RuntimeFallback).FallbackReason(); !strings.Contains(r, "packetization-mode 0") {
		t.Fatalf("FallbackReason = %q", r)
	}
}

func TestSelectSkipsDevicesItCannotDrive(t *testing.T) {
	vicodec := v4l2test.NewCodec(v4l2test.FourCCFWHT)
	vicodec.Card = "vicodec"
	dir, open := fakeDevDir(t, map[string]*v4l2test.Codec{"video3": vicodec})
	sel, err := Select(Preferences{DevDir: dir, open: open}, selectCfg)
	if err != nil {
		t.Fatal(err)
	}
	sel.Encoder.Close()
	want := "hardware: no V4L2 M2M H.264 encoder found (" + dir + "/video11 missing; " + dir + "/video3 (vicodec) is memory-to-memory but does not produce H.264); using openh264 software (H.264)"
	if sel.Hardware || sel.Reason != want {
		t.Fatalf("Reason = %q\nwant     %q", sel.Reason, want)
	}
}
