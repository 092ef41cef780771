package cammode

import (
	"testing"

	"github.com/roomd/roomd/media/capture/v4l2"
)

// modes expands "format: size@rate,rate; size@rate" lists as cameras report
// them (v4l2-ctl --list-formats-ext).
func modes(fourcc uint32, sizes map[[2]int][]float64) []v4l2.Mode {
	var out []v4l2.Mode
	for s, rates := range sizes {
		for _, r := range rates {
			out = append(out, v4l2.Mode{FourCC: fourcc, Width: s[0], Height: s[1], FPS: r, Compressed: fourcc == v4l2.FourCCMJPEG || fourcc == v4l2.FourCCH264})
		}
	}
	return out
}

func cat(lists ...[]v4l2.Mode) []v4l2.Mode {
	var out []v4l2.Mode
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var (
	// A Logitech C920 (the H.264 model): YUYV slows down with size over
	// USB 2, MJPEG and H.264 keep 30 fps.
	c920 = cat(
		modes(v4l2.FourCCYUYV, map[[2]int][]float64{
			{640, 480}: {30, 24, 20, 15, 10, 7.5, 5}, {800, 600}: {24, 20, 15, 10, 7.5, 5},
			{960, 720}: {15, 10, 7.5, 5}, {1280, 720}: {10, 7.5, 5}, {1920, 1080}: {5},
		}),
		modes(v4l2.FourCCMJPEG, map[[2]int][]float64{
			{640, 480}: {30, 24, 20, 15}, {800, 600}: {30, 24}, {960, 720}: {30, 24},
			{1280, 720}: {30, 24, 20, 15}, {1920, 1080}: {30, 24, 20, 15},
		}),
		modes(v4l2.FourCCH264, map[[2]int][]float64{
			{640, 480}: {30, 24}, {1280, 720}: {30, 24}, {1920, 1080}: {30, 24},
		}),
	)
	// A Logitech C270: no H.264, 1280x720 YUYV at 7.5 fps at best.
	c270 = cat(
		modes(v4l2.FourCCYUYV, map[[2]int][]float64{
			{640, 480}: {30, 25, 20, 15, 10, 5}, {960, 720}: {10, 5}, {1280, 720}: {7.5, 5},
		}),
		modes(v4l2.FourCCMJPEG, map[[2]int][]float64{
			{640, 480}: {30, 25, 20, 15}, {960, 720}: {30, 25}, {1280, 720}: {30, 25, 20, 15},
		}),
	)
	// A cheap YUYV-only camera.
	cheap = modes(v4l2.FourCCYUYV, map[[2]int][]float64{
		{640, 480}: {30, 15}, {1280, 720}: {10, 5}, {1920, 1080}: {5},
	})
	// An H.264 board camera that also offers NV12 at full rate at 640x360.
	h264cam = cat(
		modes(v4l2.FourCCH264, map[[2]int][]float64{{1280, 720}: {30, 60}, {1920, 1080}: {30}}),
		modes(v4l2.FourCCNV12, map[[2]int][]float64{{640, 360}: {30}, {1280, 720}: {15}}),
		modes(v4l2.FourCCMJPEG, map[[2]int][]float64{{1280, 720}: {30}}),
	)
)

// What mediadevices' camera driver can read (no H.264).
var decodable = []uint32{v4l2.FourCCYU12, v4l2.FourCCNV12, v4l2.FourCC("NV21"), v4l2.FourCCYUYV, v4l2.FourCC("UYVY"), v4l2.FourCCMJPEG}

func TestChoose(t *testing.T) {
	hd := Want{Width: 1280, Height: 720, FPS: 30, Formats: decodable}
	hdPass := Want{Width: 1280, Height: 720, FPS: 30, Passthrough: true}
	cases := []struct {
		name   string
		modes  []v4l2.Mode
		want   Want
		mode   v4l2.Mode
		reason string
	}{
		{"C920 720p30: MJPEG beats YUYV at 10", c920, hd,
			v4l2.Mode{FourCC: v4l2.FourCCMJPEG, Width: 1280, Height: 720, FPS: 30, Compressed: true},
			"MJPEG 1280x720 at 30 fps: YUYV only reaches 10 fps at this size; the camera offers H.264 but passthrough is off"},
		{"C920 720p30 with passthrough: H.264", c920, hdPass,
			v4l2.Mode{FourCC: v4l2.FourCCH264, Width: 1280, Height: 720, FPS: 30, Compressed: true},
			"H.264 1280x720 at 30 fps: the camera's own H.264 is sent as it is (passthrough)"},
		{"C920 VGA: YUYV reaches 30, cheaper than MJPEG", c920, Want{Width: 640, Height: 480, FPS: 30, Formats: decodable},
			v4l2.Mode{FourCC: v4l2.FourCCYUYV, Width: 640, Height: 480, FPS: 30},
			"YUYV 640x480 at 30 fps: the camera offers H.264 but passthrough is off"},
		{"C920 720p at 10 fps: YUYV is enough", c920, Want{Width: 1280, Height: 720, FPS: 10, Formats: decodable},
			v4l2.Mode{FourCC: v4l2.FourCCYUYV, Width: 1280, Height: 720, FPS: 10},
			"YUYV 1280x720 at 10 fps: the camera offers H.264 but passthrough is off"},
		{"C920 at 15 fps: the slowest MJPEG rate that reaches", c920, Want{Width: 1280, Height: 720, FPS: 15, Formats: decodable},
			v4l2.Mode{FourCC: v4l2.FourCCMJPEG, Width: 1280, Height: 720, FPS: 15, Compressed: true},
			"MJPEG 1280x720 at 15 fps: YUYV only reaches 10 fps at this size; the camera offers H.264 but passthrough is off"},
		{"C270 720p30", c270, hd,
			v4l2.Mode{FourCC: v4l2.FourCCMJPEG, Width: 1280, Height: 720, FPS: 30, Compressed: true},
			"MJPEG 1280x720 at 30 fps: YUYV only reaches 7.5 fps at this size"},
		{"C270 without MJPEG: the best rate at the size", c270, Want{Width: 1280, Height: 720, FPS: 30, Formats: []uint32{v4l2.FourCCYUYV}},
			v4l2.Mode{FourCC: v4l2.FourCCYUYV, Width: 1280, Height: 720, FPS: 7.5},
			"YUYV 1280x720 at 7.5 fps: no mode reaches 30 fps at this size"},
		{"cheap camera 720p30: its best rate", cheap, hd,
			v4l2.Mode{FourCC: v4l2.FourCCYUYV, Width: 1280, Height: 720, FPS: 10},
			"YUYV 1280x720 at 10 fps: no mode reaches 30 fps at this size"},
		{"cheap camera 640x360: the smallest size that covers it", cheap, Want{Width: 640, Height: 360, FPS: 30, Formats: decodable},
			v4l2.Mode{FourCC: v4l2.FourCCYUYV, Width: 640, Height: 480, FPS: 30},
			"YUYV 640x480 at 30 fps: the camera offers no 640x360"},
		{"cheap camera 4K: the largest below", cheap, Want{Width: 3840, Height: 2160, FPS: 30},
			v4l2.Mode{FourCC: v4l2.FourCCYUYV, Width: 1920, Height: 1080, FPS: 5},
			"YUYV 1920x1080 at 5 fps: the camera offers no 3840x2160; no mode reaches 30 fps at this size"},
		{"H.264 camera, passthrough: 30 not 60", h264cam, hdPass,
			v4l2.Mode{FourCC: v4l2.FourCCH264, Width: 1280, Height: 720, FPS: 30, Compressed: true},
			"H.264 1280x720 at 30 fps: the camera's own H.264 is sent as it is (passthrough)"},
		{"H.264 camera, no passthrough: MJPEG beats NV12 at 15", h264cam, hd,
			v4l2.Mode{FourCC: v4l2.FourCCMJPEG, Width: 1280, Height: 720, FPS: 30, Compressed: true},
			"MJPEG 1280x720 at 30 fps: NV12 only reaches 15 fps at this size; the camera offers H.264 but passthrough is off"},
		{"H.264 camera at 640x360: NV12 at the exact size", h264cam, Want{Width: 640, Height: 360, FPS: 30, Passthrough: true},
			v4l2.Mode{FourCC: v4l2.FourCCNV12, Width: 640, Height: 360, FPS: 30},
			"I420 640x360 at 30 fps: the cheapest mode at the configured size and rate"},
		{"rates unknown", []v4l2.Mode{{FourCC: v4l2.FourCCYU12, Width: 1280, Height: 720}}, hd,
			v4l2.Mode{FourCC: v4l2.FourCCYU12, Width: 1280, Height: 720},
			"I420 1280x720: the camera lists no frame rates"},
	}
	// NV12 is named NV12, not I420.
	cases[len(cases)-2].reason = "NV12 640x360 at 30 fps: the cheapest mode at the configured size and rate"
	for _, c := range cases {
		got, ok := Choose(c.modes, c.want)
		if !ok {
			t.Errorf("%s: no mode chosen", c.name)
			continue
		}
		if got.Mode != c.mode {
			t.Errorf("%s: mode %v, want %v", c.name, got.Mode, c.mode)
		}
		if got.Reason() != c.reason {
			t.Errorf("%s: reason\n %q\nwant %q", c.name, got.Reason(), c.reason)
		}
	}
}

func TestChooseNothingUsable(t *testing.T) {
	depth := []v4l2.Mode{{FourCC: v4l2.FourCC("Z16 "), Width: 640, Height: 480, FPS: 30}}
	if c, ok := Choose(depth, Want{Width: 640, Height: 480, FPS: 30}); ok {
		t.Fatalf("a depth camera gave %v", c)
	}
	onlyH264 := modes(v4l2.FourCCH264, map[[2]int][]float64{{1280, 720}: {30}})
	if c, ok := Choose(onlyH264, Want{Width: 1280, Height: 720, FPS: 30}); ok {
		t.Fatalf("an H.264-only camera without passthrough gave %v", c)
	}
	if _, ok := Choose(nil, Want{}); ok {
		t.Fatal("no modes, yet a choice")
	}
}

// The choice must not depend on the order the driver lists modes in.
func TestChooseIgnoresOrder(t *testing.T) {
	want := Want{Width: 1280, Height: 720, FPS: 30, Formats: decodable}
	first, _ := Choose(c920, want)
	rev := make([]v4l2.Mode, len(c920))
	for i, m := range c920 {
		rev[len(c920)-1-i] = m
	}
	if again, _ := Choose(rev, want); again != first {
		t.Fatalf("reversed list: %+v, first %+v", again, first)
	}
}
