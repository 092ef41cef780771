// Package cammode chooses how to open a camera: which of its modes (pixel
// format, size, frame rate, as v4l2.Modes lists them) gives the configured
// size at the configured frame rate for the least CPU, and says why in a
// sentence for status.
//
// A common USB webcam gives 1280×720 at 30 fps only as MJPEG and at ~10 fps
// as YUYV (USB 2 bandwidth): ranking by pixel format alone would open it in
// YUYV at 10 fps. Choose ranks by what a mode delivers first:
//
//  1. the size nearest the configured one — the configured size, else the
//     smallest that covers it, else the largest below it;
//  2. at that size, a mode that reaches the configured frame rate;
//  3. among those, the cheapest format (H.264 passed through, when allowed,
//     costs nothing; raw YUV a copy; YUYV a conversion; MJPEG a decode) at
//     the slowest rate that still reaches the configured one;
//  4. when no mode reaches the rate, the fastest rate, then the cheapest
//     format.
package cammode

import (
	"fmt"
	"slices"
	"strings"

	"github.com/roomd/roomd/media/capture/v4l2"
)

// cost is the CPU work per frame of each format roomd can use, cheapest
// first. H.264 counts only when passed through (Want.Passthrough): decoding
// and re-encoding it would be the dearest of all.
var cost = map[uint32]int{
	v4l2.FourCCH264:     0,
	v4l2.FourCCYU12:     1,
	v4l2.FourCCNV12:     1,
	v4l2.FourCC("NV21"): 1,
	v4l2.FourCCYUYV:     2,
	v4l2.FourCC("UYVY"): 2,
	v4l2.FourCCMJPEG:    3,
	v4l2.FourCC("JPEG"): 3,
}

// Want is what the room is configured for.
type Want struct {
	Width, Height int
	FPS           float64
	// Passthrough allows the camera's own H.264 to be sent as it is.
	Passthrough bool
	// Formats, when set, are the only formats the opener can read (e.g.
	// the ones mediadevices decodes); nil means every format in the cost
	// table. H.264 is used only when Passthrough is set as well.
	Formats []uint32
}

// Choice is the mode chosen and why.
type Choice struct {
	Mode v4l2.Mode
	// Why explains the choice, e.g. "YUYV only reaches 10 fps at this
	// size".
	Why string
}

// Reason is the choice in a sentence for status, e.g. "MJPEG 1280x720 at
// 30 fps: YUYV only reaches 10 fps at this size".
func (c Choice) Reason() string { return Describe(c.Mode) + ": " + c.Why }

// FormatName is how status names a pixel format.
func FormatName(fourcc uint32) string {
	switch fourcc {
	case v4l2.FourCCMJPEG:
		return "MJPEG"
	case v4l2.FourCCH264:
		return "H.264"
	case v4l2.FourCCYU12:
		return "I420"
	}
	return v4l2.FourCCString(fourcc)
}

// Describe renders a mode for status, e.g. "MJPEG 1280x720 at 30 fps".
func Describe(m v4l2.Mode) string {
	s := fmt.Sprintf("%s %dx%d", FormatName(m.FourCC), m.Width, m.Height)
	if m.FPS > 0 {
		s += fmt.Sprintf(" at %g fps", m.FPS)
	}
	return s
}

// Choose picks the mode for want among modes; ok is false when the camera
// offers no mode roomd can use.
func Choose(modes []v4l2.Mode, want Want) (c Choice, ok bool) {
	usable := slices.DeleteFunc(slices.Clone(modes), func(m v4l2.Mode) bool { return !want.usable(m) })
	if len(usable) == 0 {
		return Choice{}, false
	}
	// 1. The size.
	size := nearestSize(usable, want)
	atSize := slices.DeleteFunc(usable, func(m v4l2.Mode) bool { return m.Width != size[0] || m.Height != size[1] })
	// 2–4. The mode at that size.
	best := atSize[0]
	for _, m := range atSize[1:] {
		if want.better(m, best) {
			best = m
		}
	}
	return Choice{Mode: best, Why: want.why(best, atSize, modes)}, true
}

func (w Want) usable(m v4l2.Mode) bool {
	if _, known := cost[m.FourCC]; !known || m.Width <= 0 || m.Height <= 0 {
		return false
	}
	if m.FourCC == v4l2.FourCCH264 && !w.Passthrough {
		return false
	}
	return w.Formats == nil || slices.Contains(w.Formats, m.FourCC)
}

func (w Want) reaches(m v4l2.Mode) bool { return m.FPS >= w.FPS-0.01 }

// better says whether a beats b at the same size.
func (w Want) better(a, b v4l2.Mode) bool {
	ra, rb := w.reaches(a), w.reaches(b)
	switch {
	case ra != rb:
		return ra
	case ra:
		if cost[a.FourCC] != cost[b.FourCC] {
			return cost[a.FourCC] < cost[b.FourCC]
		}
		if a.FPS != b.FPS {
			return a.FPS < b.FPS // no faster than needed: less bus, less work
		}
	case a.FPS != b.FPS:
		return a.FPS > b.FPS
	case cost[a.FourCC] != cost[b.FourCC]:
		return cost[a.FourCC] < cost[b.FourCC]
	}
	return a.FourCC < b.FourCC // any fixed order, so the driver's order does not matter
}

// nearestSize is the configured size when offered, else the smallest size
// that covers it (the picture can be scaled down), else the largest below
// it.
func nearestSize(modes []v4l2.Mode, want Want) [2]int {
	var cover, below [2]int
	for _, m := range modes {
		s := [2]int{m.Width, m.Height}
		switch area := m.Width * m.Height; {
		case s == [2]int{want.Width, want.Height}:
			return s
		case m.Width >= want.Width && m.Height >= want.Height:
			if cover == [2]int{} || area < cover[0]*cover[1] {
				cover = s
			}
		case area > below[0]*below[1]:
			below = s
		}
	}
	if cover != [2]int{} {
		return cover
	}
	return below
}

// why explains the choice of m among the usable modes at its size
// (atSize) and every mode the camera lists (all).
func (w Want) why(m v4l2.Mode, atSize, all []v4l2.Mode) string {
	var parts []string
	if m.Width != w.Width || m.Height != w.Height {
		parts = append(parts, fmt.Sprintf("the camera offers no %dx%d", w.Width, w.Height))
	}
	switch {
	case m.FPS == 0:
		parts = append(parts, "the camera lists no frame rates")
	case !w.reaches(m):
		parts = append(parts, fmt.Sprintf("no mode reaches %g fps at this size", w.FPS))
	}
	// The cheaper formats this one beat, by their best rate at this size.
	fastest := map[uint32]float64{}
	var order []uint32
	for _, o := range atSize {
		if cost[o.FourCC] >= cost[m.FourCC] || o.FourCC == m.FourCC {
			continue
		}
		if _, seen := fastest[o.FourCC]; !seen {
			order = append(order, o.FourCC)
		}
		fastest[o.FourCC] = max(fastest[o.FourCC], o.FPS)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		if cost[a] != cost[b] {
			return cost[a] - cost[b]
		}
		return strings.Compare(FormatName(a), FormatName(b))
	})
	for _, f := range order {
		parts = append(parts, fmt.Sprintf("%s only reaches %g fps at this size", FormatName(f), fastest[f]))
	}
	if m.FourCC == v4l2.FourCCH264 {
		parts = append(parts, "the camera's own H.264 is sent as it is (passthrough)")
	} else if !w.Passthrough && slices.ContainsFunc(all, func(o v4l2.Mode) bool { return o.FourCC == v4l2.FourCCH264 }) {
		parts = append(parts, "the camera offers H.264 but passthrough is off")
	}
	if len(parts) == 0 {
		parts = append(parts, "the cheapest mode at the configured size and rate")
	}
	return strings.Join(parts, "; ")
}
