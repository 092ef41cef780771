package codec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/media/capture/v4l2"
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
