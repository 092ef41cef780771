package v4l2

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mode is one way a camera can deliver pictures: a pixel format at a size
// and a frame rate.
type Mode struct {
	FourCC        uint32
	Width, Height int
	// FPS is the frame rate (1/interval). 0 means the driver lists no
	// interval for this size (some old drivers): the rate is unknown.
	FPS float64
	// Compressed is the format's VIDIOC_ENUM_FMT flag (MJPEG, H.264).
	Compressed bool
}

// String renders a mode as status shows it, e.g. "MJPG 1280x720@30".
func (m Mode) String() string {
	return fmt.Sprintf("%s %dx%d@%g", FourCCString(m.FourCC), m.Width, m.Height, m.FPS)
}

// Frame size and interval kinds (enum v4l2_frmsizetypes, v4l2_frmivaltypes).
const (
	frmDiscrete   = 1
	frmContinuous = 2
	frmStepwise   = 3
)

// frmsizeEnum is struct v4l2_frmsizeenum; the union holds either
// v4l2_frmsize_discrete (width, height) or v4l2_frmsize_stepwise (min_width,
// max_width, step_width, min_height, max_height, step_height).
type frmsizeEnum struct {
	Index       uint32
	PixelFormat uint32
	Type        uint32
	Union       [6]uint32
	Reserved    [2]uint32
}

// fract is struct v4l2_fract.
type fract struct{ Numerator, Denominator uint32 }

// frmivalEnum is struct v4l2_frmivalenum; the union holds either one
// v4l2_fract (discrete) or v4l2_frmival_stepwise (min, max, step).
type frmivalEnum struct {
	Index       uint32
	PixelFormat uint32
	Width       uint32
	Height      uint32
	Type        uint32
	Union       [3]fract
	Reserved    [2]uint32
}

const (
	frmsizeEnumSize = 44 // sizeof(struct v4l2_frmsizeenum)
	frmivalEnumSize = 52 // sizeof(struct v4l2_frmivalenum)
	// _IOWR('V', 74, struct v4l2_frmsizeenum), _IOWR('V', 75, struct v4l2_frmivalenum).
	vidiocEnumFrameSizes     uint = 0xC0000000 | frmsizeEnumSize<<16 | 'V'<<8 | 74
	vidiocEnumFrameIntervals uint = 0xC0000000 | frmivalEnumSize<<16 | 'V'<<8 | 75
)

// Compile-time checks that the Go structs have the kernel's sizes.
var (
	_ [frmsizeEnumSize - unsafe.Sizeof(frmsizeEnum{})]byte
	_ [unsafe.Sizeof(frmsizeEnum{}) - frmsizeEnumSize]byte
	_ [frmivalEnumSize - unsafe.Sizeof(frmivalEnum{})]byte
	_ [unsafe.Sizeof(frmivalEnum{}) - frmivalEnumSize]byte
)

// CommonSizes are the sizes tried within a stepwise or continuous frame
// size range (cameras that list ranges rarely deliver every step at full
// rate; these are the sizes meetings use).
var CommonSizes = [][2]int{
	{320, 180}, {320, 240}, {424, 240}, {640, 360}, {640, 480}, {800, 448}, {800, 600},
	{848, 480}, {960, 540}, {1024, 576}, {1280, 720}, {1280, 960}, {1600, 896}, {1920, 1080},
}

// commonRates are the frame rates tried within a stepwise or continuous
// interval range.
var commonRates = []float64{5, 7.5, 10, 15, 20, 24, 25, 30, 50, 60}

// enumDevice is the seam between the enumeration logic and the ioctls, so
// that tests can play a camera's answers.
type enumDevice interface {
	frameSize(e *frmsizeEnum) error     // VIDIOC_ENUM_FRAMESIZES
	frameInterval(e *frmivalEnum) error // VIDIOC_ENUM_FRAMEINTERVALS
}

// fileEnum issues the enumeration ioctls through a Device's File.
type fileEnum struct{ f File }

func (e fileEnum) frameSize(x *frmsizeEnum) error {
	return e.f.Ioctl(vidiocEnumFrameSizes, unsafe.Pointer(x))
}

func (e fileEnum) frameInterval(x *frmivalEnum) error {
	return e.f.Ioctl(vidiocEnumFrameIntervals, unsafe.Pointer(x))
}

// Modes lists every (format, size, frame rate) a capture device offers on
// its single-planar capture queue, in the driver's order: discrete sizes
// and intervals as listed, stepwise and continuous ranges sampled at
// CommonSizes and common frame rates (plus the range's ends).
func Modes(path string) ([]Mode, error) {
	d, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Modes()
}

// Modes lists the device's modes (see the function Modes).
func (d *Device) Modes() ([]Mode, error) {
	formats, err := d.Formats(BufVideoCapture)
	if err != nil {
		return nil, err
	}
	modes, err := modesOf(fileEnum{d.f}, formats)
	if err != nil {
		return modes, fmt.Errorf("v4l2: %s: %w", d.path, err)
	}
	return modes, nil
}

// modesOf enumerates the sizes and intervals of each format.
func modesOf(d enumDevice, formats []Format) ([]Mode, error) {
	var out []Mode
	for _, f := range formats {
		sizes, err := frameSizes(d, f.FourCC)
		if err != nil {
			return out, err
		}
		for _, s := range sizes {
			rates, err := frameRates(d, f.FourCC, s[0], s[1])
			if err != nil {
				return out, err
			}
			if len(rates) == 0 {
				rates = []float64{0}
			}
			for _, r := range rates {
				out = append(out, Mode{FourCC: f.FourCC, Width: s[0], Height: s[1], FPS: r, Compressed: f.Compressed})
			}
		}
	}
	return out, nil
}

// maxEnum bounds every enumeration: a driver that never says EINVAL must
// not hang roomd.
const maxEnum = 256

// frameSizes lists the sizes of one format.
func frameSizes(d enumDevice, fourcc uint32) ([][2]int, error) {
	var out [][2]int
	for i := uint32(0); i < maxEnum; i++ {
		e := frmsizeEnum{Index: i, PixelFormat: fourcc}
		if err := d.frameSize(&e); err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
				return out, nil // end of the list, or a driver without the ioctl
			}
			return out, fmt.Errorf("VIDIOC_ENUM_FRAMESIZES %s: %w", FourCCString(fourcc), err)
		}
		switch e.Type {
		case frmDiscrete:
			out = append(out, [2]int{int(e.Union[0]), int(e.Union[1])})
		case frmStepwise, frmContinuous:
			// Only index 0 is valid for ranges.
			return append(out, sizesInRange(e)...), nil
		}
	}
	return out, nil
}

// sizesInRange picks CommonSizes that lie on a stepwise grid, plus the
// largest size.
func sizesInRange(e frmsizeEnum) [][2]int {
	minW, maxW, stepW := int(e.Union[0]), int(e.Union[1]), max(int(e.Union[2]), 1)
	minH, maxH, stepH := int(e.Union[3]), int(e.Union[4]), max(int(e.Union[5]), 1)
	if e.Type == frmContinuous {
		stepW, stepH = 1, 1
	}
	var out [][2]int
	for _, s := range CommonSizes {
		w, h := s[0], s[1]
		if w < minW || w > maxW || h < minH || h > maxH || (w-minW)%stepW != 0 || (h-minH)%stepH != 0 {
			continue
		}
		out = append(out, s)
	}
	if last := [2]int{maxW, maxH}; len(out) == 0 || out[len(out)-1] != last {
		out = append(out, last)
	}
	return out
}

// frameRates lists the frame rates of one format at one size, fastest
// first for ranges, in the driver's order for discrete lists.
func frameRates(d enumDevice, fourcc uint32, w, h int) ([]float64, error) {
	var out []float64
	for i := uint32(0); i < maxEnum; i++ {
		e := frmivalEnum{Index: i, PixelFormat: fourcc, Width: uint32(w), Height: uint32(h)}
		if err := d.frameInterval(&e); err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
				return out, nil
			}
			return out, fmt.Errorf("VIDIOC_ENUM_FRAMEINTERVALS %s %dx%d: %w", FourCCString(fourcc), w, h, err)
		}
		switch e.Type {
		case frmDiscrete:
			if r := e.Union[0].fps(); r > 0 {
				out = append(out, r)
			}
		case frmStepwise, frmContinuous:
			return append(out, ratesInRange(e)...), nil
		}
	}
	return out, nil
}

// fps is the frame rate of an interval in seconds; 0 for a zero fraction.
func (f fract) fps() float64 {
	if f.Numerator == 0 || f.Denominator == 0 {
		return 0
	}
	return float64(f.Denominator) / float64(f.Numerator)
}

// ratesInRange picks the common frame rates within an interval range,
// fastest first, and the fastest rate of the range itself.
func ratesInRange(e frmivalEnum) []float64 {
	// The shortest interval is the fastest rate.
	fastest, slowest := e.Union[0].fps(), e.Union[1].fps()
	if fastest < slowest {
		fastest, slowest = slowest, fastest
	}
	if fastest == 0 {
		return nil
	}
	out := []float64{fastest}
	for i := len(commonRates) - 1; i >= 0; i-- {
		r := commonRates[i]
		if r < fastest && r >= slowest {
			out = append(out, r)
		}
	}
	return out
}
