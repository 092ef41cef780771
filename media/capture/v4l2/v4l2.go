// Package v4l2 drives Video4Linux devices in pure Go. QueryCapabilities
// and Formats ask a node what it is without opening a stream: the camera
// picker uses them to skip codec and ISP nodes, and the encoder selection
// to find a memory-to-memory H.264 encoder such as the Raspberry Pi 4's
// /dev/video11.
//
// # Streaming
//
// [Open] gives a [Device] for the streaming ioctls, single- and
// multi-planar: formats (G/S/TRY_FMT), MMAP and DMABUF buffers
// (REQBUFS, QUERYBUF, mmap, QBUF, DQBUF, EXPBUF), STREAMON/OFF, controls
// (QUERYCTRL, G/S_CTRL, S_EXT_CTRLS), the frame interval (S_PARM), encoder
// commands and events for a drain (ENCODER_CMD, SUBSCRIBE_EVENT,
// DQEVENT), and waiting with poll(2) on the non-blocking node. All of it
// goes through the [File] seam, so tests drive a fake device
// (package v4l2test) through the same code.
//
// Everything is pure Go on golang.org/x/sys/unix; the kernel structs are
// laid out for 64-bit Linux (internal/uapi).
package v4l2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2/internal/uapi"
)

// Capability bits (V4L2_CAP_*).
const (
	CapVideoCapture       = 0x00000001
	CapVideoOutput        = 0x00000002
	CapVideoCaptureMPlane = 0x00001000
	CapVideoOutputMPlane  = 0x00002000
	CapVideoM2MMPlane     = 0x00004000
	CapVideoM2M           = 0x00008000
	CapStreaming          = 0x04000000
	CapDeviceCaps         = 0x80000000
)

// Buffer types (enum v4l2_buf_type) for Formats.
const (
	BufVideoCapture       = 1
	BufVideoOutput        = 2
	BufVideoCaptureMPlane = 9
	BufVideoOutputMPlane  = 10
)

// FourCC codes roomd cares about.
const (
	FourCCH264  = 'H' | '2'<<8 | '6'<<16 | '4'<<24
	FourCCMJPEG = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	FourCCYUYV  = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	FourCCYU12  = 'Y' | 'U'<<8 | '1'<<16 | '2'<<24 // I420
	FourCCNV12  = 'N' | 'V'<<8 | '1'<<16 | '2'<<24
)

// FourCC packs a four-character code the way V4L2 does.
func FourCC(s string) uint32 {
	var b [4]byte
	copy(b[:], s)
	return binary.LittleEndian.Uint32(b[:])
}

// FourCCString unpacks a four-character code.
func FourCCString(v uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return strings.TrimRight(string(b[:]), "\x00 ")
}

// Capabilities is what VIDIOC_QUERYCAP says about a device node.
type Capabilities struct {
	Driver, Card, BusInfo string
	Version               uint32
	// Caps describes the whole physical device, DeviceCaps this node.
	Caps, DeviceCaps uint32
}

// NodeCaps is the capability set of this node: DeviceCaps when the driver
// reports it, else Caps.
func (c Capabilities) NodeCaps() uint32 {
	if c.Caps&CapDeviceCaps != 0 {
		return c.DeviceCaps
	}
	return c.Caps
}

// IsM2M reports a memory-to-memory node (codec, scaler, ISP).
func (c Capabilities) IsM2M() bool {
	n := c.NodeCaps()
	return n&(CapVideoM2M|CapVideoM2MMPlane) != 0
}

// IsCamera reports a node that captures video and is not memory-to-memory.
func (c Capabilities) IsCamera() bool {
	n := c.NodeCaps()
	return !c.IsM2M() && n&(CapVideoCapture|CapVideoCaptureMPlane) != 0
}

// IsSinglePlanarCamera reports a camera that mediadevices' V4L2 driver can
// read (it does single-planar buffers only).
func (c Capabilities) IsSinglePlanarCamera() bool {
	return c.IsCamera() && c.NodeCaps()&CapVideoCapture != 0
}

// Describe renders the node's kind for messages, e.g. "memory-to-memory
// (multi-planar)".
func (c Capabilities) Describe() string {
	n := c.NodeCaps()
	switch {
	case n&CapVideoM2MMPlane != 0:
		return "memory-to-memory (multi-planar)"
	case n&CapVideoM2M != 0:
		return "memory-to-memory"
	case n&CapVideoCapture != 0:
		return "video capture"
	case n&CapVideoCaptureMPlane != 0:
		return "video capture (multi-planar)"
	case n&(CapVideoOutput|CapVideoOutputMPlane) != 0:
		return "video output"
	default:
		return fmt.Sprintf("no video capture (caps %#x)", n)
	}
}

const (
	capabilitySize = 104
	fmtdescSize    = 64
	// _IOR('V', 0, struct v4l2_capability) and _IOWR('V', 2, struct v4l2_fmtdesc).
	vidiocQueryCap = uapi.VidiocQueryCap
	vidiocEnumFmt  = uapi.VidiocEnumFmt
)

// ErrNotV4L2 means the path exists but is not a V4L2 device.
var ErrNotV4L2 = errors.New("v4l2: not a V4L2 device")

// QueryCapabilities opens path and asks what it is.
func QueryCapabilities(path string) (Capabilities, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return Capabilities{}, fmt.Errorf("v4l2: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	var raw [capabilitySize]byte
	if err := ioctl(fd, vidiocQueryCap, unsafe.Pointer(&raw[0])); err != nil {
		// ENOTTY from the kernel; ENOSYS from qemu-user, which passes on no
		// V4L2 ioctls.
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return Capabilities{}, fmt.Errorf("%w: %s (VIDIOC_QUERYCAP: %v)", ErrNotV4L2, path, err)
		}
		return Capabilities{}, fmt.Errorf("v4l2: %s: VIDIOC_QUERYCAP: %w", path, err)
	}
	return parseCapability(raw), nil
}

func parseCapability(raw [capabilitySize]byte) Capabilities {
	str := func(b []byte) string {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}
	return Capabilities{
		Driver:     str(raw[0:16]),
		Card:       str(raw[16:48]),
		BusInfo:    str(raw[48:80]),
		Version:    binary.NativeEndian.Uint32(raw[80:]),
		Caps:       binary.NativeEndian.Uint32(raw[84:]),
		DeviceCaps: binary.NativeEndian.Uint32(raw[88:]),
	}
}

// Format is one entry of VIDIOC_ENUM_FMT.
type Format struct {
	FourCC      uint32
	Description string
	Compressed  bool
}

// Formats lists the pixel formats of one buffer queue of the device, e.g.
// BufVideoCaptureMPlane of an encoder lists what it can produce.
func Formats(path string, bufType uint32) ([]Format, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("v4l2: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(fd)
	return enumFormats(osFile{fd}, path, bufType)
}

func enumFormats(f File, path string, bufType uint32) ([]Format, error) {
	var out []Format
	for i := uint32(0); i < 256; i++ {
		var raw [fmtdescSize]byte
		binary.NativeEndian.PutUint32(raw[0:], i)
		binary.NativeEndian.PutUint32(raw[4:], bufType)
		if err := f.Ioctl(vidiocEnumFmt, unsafe.Pointer(&raw[0])); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // end of the list
			}
			return out, fmt.Errorf("v4l2: %s: VIDIOC_ENUM_FMT: %w", path, err)
		}
		desc := raw[12:44]
		if j := bytes.IndexByte(desc, 0); j >= 0 {
			desc = desc[:j]
		}
		out = append(out, Format{
			FourCC:      binary.NativeEndian.Uint32(raw[44:]),
			Description: string(desc),
			Compressed:  binary.NativeEndian.Uint32(raw[8:])&1 != 0,
		})
	}
	return out, nil
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		default:
			return errno
		}
	}
}

// Devices lists dir's /dev/videoN nodes in numeric order; dir "" means
// /dev.
func Devices(dir string) []string {
	if dir == "" {
		dir = "/dev"
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "video*"))
	num := func(p string) int {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "video"))
		if err != nil {
			return 1 << 30
		}
		return n
	}
	sort.Slice(paths, func(i, j int) bool { return num(paths[i]) < num(paths[j]) })
	return paths
}
