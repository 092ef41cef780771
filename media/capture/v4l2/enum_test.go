package v4l2

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/internal/testtool"
)

// fakeCamera answers the enumeration ioctls from tables, the way a driver
// does: EINVAL past the end of each list.
type fakeCamera struct {
	sizes     map[uint32][]frmsizeEnum
	intervals map[[3]uint32][]frmivalEnum // by fourcc, width, height
}

func (f *fakeCamera) frameSize(e *frmsizeEnum) error {
	l := f.sizes[e.PixelFormat]
	if int(e.Index) >= len(l) {
		return unix.EINVAL
	}
	i := e.Index
	*e = l[i]
	e.Index = i
	return nil
}

func (f *fakeCamera) frameInterval(e *frmivalEnum) error {
	l := f.intervals[[3]uint32{e.PixelFormat, e.Width, e.Height}]
	if int(e.Index) >= len(l) {
		return unix.EINVAL
	}
	i, w, h, pf := e.Index, e.Width, e.Height, e.PixelFormat
	*e = l[i]
	e.Index, e.Width, e.Height, e.PixelFormat = i, w, h, pf
	return nil
}

func discreteSize(w, h int) frmsizeEnum {
	return frmsizeEnum{Type: frmDiscrete, Union: [6]uint32{uint32(w), uint32(h)}}
}

func discreteRate(fps int) frmivalEnum {
	return frmivalEnum{Type: frmDiscrete, Union: [3]fract{{1, uint32(fps)}}}
}

func TestModesDiscrete(t *testing.T) {
	// A C920-like camera: YUYV slows down as the size grows; MJPEG keeps 30.
	cam := &fakeCamera{
		sizes: map[uint32][]frmsizeEnum{
			FourCCYUYV:  {discreteSize(640, 480), discreteSize(1280, 720)},
			FourCCMJPEG: {discreteSize(1280, 720)},
		},
		intervals: map[[3]uint32][]frmivalEnum{
			{FourCCYUYV, 640, 480}:   {discreteRate(30), discreteRate(15)},
			{FourCCYUYV, 1280, 720}:  {{Type: frmDiscrete, Union: [3]fract{{2, 15}}}, discreteRate(5)}, // 7.5 fps as 2/15
			{FourCCMJPEG, 1280, 720}: {discreteRate(30), discreteRate(24)},
		},
	}
	got, err := modesOf(cam, []Format{{FourCC: FourCCYUYV}, {FourCC: FourCCMJPEG, Compressed: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Mode{
		{FourCCYUYV, 640, 480, 30, false}, {FourCCYUYV, 640, 480, 15, false},
		{FourCCYUYV, 1280, 720, 7.5, false}, {FourCCYUYV, 1280, 720, 5, false},
		{FourCCMJPEG, 1280, 720, 30, true}, {FourCCMJPEG, 1280, 720, 24, true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("modes:\n got %v\nwant %v", got, want)
	}
	if s := got[2].String(); s != "YUYV 1280x720@7.5" {
		t.Fatalf("String = %q", s)
	}
}

func TestModesRanges(t *testing.T) {
	// A stepwise sensor (8-pixel steps from 160x120 to 1920x1080) with a
	// continuous interval range from 1/60 s to 1 s, and a format that lists
	// no intervals at all.
	step := frmsizeEnum{Type: frmStepwise, Union: [6]uint32{160, 1920, 8, 120, 1080, 8}}
	cam := &fakeCamera{
		sizes: map[uint32][]frmsizeEnum{FourCCNV12: {step}, FourCCYU12: {discreteSize(640, 480)}},
		intervals: map[[3]uint32][]frmivalEnum{
			{FourCCNV12, 1280, 720}: {{Type: frmContinuous, Union: [3]fract{{1, 60}, {1, 1}, {1, 1}}}},
		},
	}
	got, err := modesOf(cam, []Format{{FourCC: FourCCNV12}, {FourCC: FourCCYU12}})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []string
	var rates720 []float64
	for _, m := range got {
		if m.FourCC != FourCCNV12 {
			continue
		}
		if s := fmt.Sprintf("NV12 %dx%d", m.Width, m.Height); !slices.Contains(sizes, s) {
			sizes = append(sizes, s)
		}
		if m.Width == 1280 && m.Height == 720 {
			rates720 = append(rates720, m.FPS)
		}
	}
	// 960x540 is off the 8-pixel grid from 120; 1920x1080 is the range's end.
	for _, s := range []string{"NV12 640x360", "NV12 1280x720", "NV12 1920x1080"} {
		if !slices.Contains(sizes, s) {
			t.Errorf("stepwise range misses %s: %v", s, sizes)
		}
	}
	if slices.Contains(sizes, "NV12 960x540") {
		t.Errorf("960x540 is off the step grid: %v", sizes)
	}
	if want := []float64{60, 50, 30, 25, 24, 20, 15, 10, 7.5, 5}; !slices.Equal(rates720, want) {
		t.Errorf("continuous rates at 720p = %v, want %v", rates720, want)
	}
	if last := got[len(got)-1]; last != (Mode{FourCCYU12, 640, 480, 0, false}) {
		t.Errorf("a size without intervals: %v, want rate 0 (unknown)", last)
	}
}

func TestEnumIoctlNumbers(t *testing.T) {
	if vidiocEnumFrameSizes != 0xc02c564a || vidiocEnumFrameIntervals != 0xc034564b {
		t.Fatalf("ioctl numbers %#x %#x", vidiocEnumFrameSizes, vidiocEnumFrameIntervals)
	}
	if unsafe.Sizeof(frmsizeEnum{}) != 44 || unsafe.Sizeof(frmivalEnum{}) != 52 {
		t.Fatalf("struct sizes %d %d", unsafe.Sizeof(frmsizeEnum{}), unsafe.Sizeof(frmivalEnum{}))
	}
}

// The Go structs against the kernel's header, compiled with the C compiler
// cgo uses anyway.
func TestEnumStructsMatchVideodev2(t *testing.T) {
	testtool.SkipInShortMode(t, "gcc")
	const header = "/usr/include/linux/videodev2.h"
	gcc, err := exec.LookPath("gcc")
	if _, serr := os.Stat(header); err != nil || serr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("gcc (%v) or %s (%v) missing: %s", err, header, serr, testtool.InstallHint("gcc linux-libc-dev", "to check the ioctl structs"))
		}
		t.Skip("needs gcc and the kernel headers (linux-libc-dev)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "sizes.c")
	os.WriteFile(src, []byte(`#include <stdio.h>
#include <stddef.h>
#include <linux/videodev2.h>
int main(void) {
	printf("%zu %zu %zu %zu %zu %zu %lu %lu\n",
		sizeof(struct v4l2_frmsizeenum), offsetof(struct v4l2_frmsizeenum, discrete),
		offsetof(struct v4l2_frmsizeenum, reserved),
		sizeof(struct v4l2_frmivalenum), offsetof(struct v4l2_frmivalenum, discrete),
		offsetof(struct v4l2_frmivalenum, reserved),
		(unsigned long)VIDIOC_ENUM_FRAMESIZES, (unsigned long)VIDIOC_ENUM_FRAMEINTERVALS);
	return 0;
}
`), 0o644)
	bin := filepath.Join(dir, "sizes")
	if out, err := exec.Command(gcc, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var s frmsizeEnum
	var i frmivalEnum
	want := strings.Join([]string{
		utoa(unsafe.Sizeof(s)), utoa(unsafe.Offsetof(s.Union)), utoa(unsafe.Offsetof(s.Reserved)),
		utoa(unsafe.Sizeof(i)), utoa(unsafe.Offsetof(i.Union)), utoa(unsafe.Offsetof(i.Reserved)),
		utoa(uintptr(vidiocEnumFrameSizes)), utoa(uintptr(vidiocEnumFrameIntervals)),
	}, " ")
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("videodev2.h says %q, the Go structs %q", got, want)
	}
}

func utoa(v uintptr) string { return strconv.FormatUint(uint64(v), 10) }

func TestModesOfNonDevice(t *testing.T) {
	if _, err := Modes("/dev/null"); err == nil {
		t.Fatal("Modes of /dev/null succeeded")
	}
}
