package v4l2

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2/internal/uapi"
)

// File is an open device node as the Device drives it: the seam between
// this package and the kernel. Open gives the real one (a non-blocking file
// descriptor); v4l2test.Codec is a fake.
type File interface {
	// Ioctl issues one VIDIOC_* request; arg points at the request's
	// struct (internal/uapi: a multi-planar buffer comes as a
	// *uapi.PlaneBuffer, extended controls as a *uapi.ExtControlsArg).
	Ioctl(req uint, arg unsafe.Pointer) error
	// Mmap maps length bytes of a buffer at the offset QUERYBUF gave,
	// shared and read-write.
	Mmap(offset int64, length int) ([]byte, error)
	// Munmap undoes Mmap.
	Munmap(b []byte) error
	// Poll waits up to timeout for any of events (PollIn, PollOut,
	// PollPri) and returns those that happened; none means the time ran
	// out.
	Poll(events int16, timeout time.Duration) (int16, error)
	// Close closes the node.
	Close() error
}

// Poll events.
const (
	// PollIn: a CAPTURE buffer can be dequeued (or an error is pending).
	PollIn = unix.POLLIN
	// PollOut: an OUTPUT buffer can be dequeued.
	PollOut = unix.POLLOUT
	// PollPri: an event can be dequeued.
	PollPri = unix.POLLPRI
	// PollErr: the queue is not streaming or has no buffers.
	PollErr = unix.POLLERR
)

// Memory says who provides a buffer's memory (enum v4l2_memory).
type Memory uint32

// Memory types.
const (
	MemoryMMAP   Memory = 1
	MemoryDMABUF Memory = 4
)

func (m Memory) String() string {
	switch m {
	case MemoryMMAP:
		return "MMAP"
	case MemoryDMABUF:
		return "DMABUF"
	default:
		return fmt.Sprintf("memory %d", uint32(m))
	}
}

// Buffer flags (V4L2_BUF_FLAG_*).
const (
	FlagMapped   = 0x00000001
	FlagQueued   = 0x00000002
	FlagDone     = 0x00000004
	FlagKeyFrame = 0x00000008
	FlagPFrame   = 0x00000010
	FlagBFrame   = 0x00000020
	FlagError    = 0x00000040
	FlagLast     = 0x00100000
)

// Errors callers branch on.
var (
	// ErrNotReady means a non-blocking DQBUF or DQEVENT found nothing:
	// Wait and try again.
	ErrNotReady = errors.New("v4l2: nothing to dequeue yet")
	// ErrLastBuffer means the queue handed out its last buffer (after a
	// drain) and gives no more until it is restarted.
	ErrLastBuffer = errors.New("v4l2: queue drained (last buffer already dequeued)")
)

// osFile is a device node opened by Open.
type osFile struct{ fd int }

func (f osFile) Ioctl(req uint, arg unsafe.Pointer) error { return ioctl(f.fd, req, arg) }

func (f osFile) Mmap(offset int64, length int) ([]byte, error) {
	return unix.Mmap(f.fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func (f osFile) Munmap(b []byte) error { return unix.Munmap(b) }

func (f osFile) Poll(events int16, timeout time.Duration) (int16, error) {
	timeout = max(timeout, 0) // poll(2) takes a negative time as forever
	ms := int(timeout / time.Millisecond)
	if timeout > 0 && ms == 0 {
		ms = 1
	}
	deadline := time.Now().Add(timeout)
	for {
		pfd := []unix.PollFd{{Fd: int32(f.fd), Events: events}}
		n, err := unix.Poll(pfd, ms)
		if errors.Is(err, unix.EINTR) {
			ms = max(int(time.Until(deadline)/time.Millisecond), 0)
			continue
		}
		if err != nil || n == 0 {
			return 0, err
		}
		return pfd[0].Revents, nil
	}
}

func (f osFile) Close() error { return unix.Close(f.fd) }

// Device is an open V4L2 device node, ready for streaming ioctls. Its
// methods are not safe for concurrent use.
type Device struct {
	f    File
	path string
	caps Capabilities
}

// Open opens a device node non-blocking and asks what it is.
func Open(path string) (*Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("v4l2: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	return NewDevice(osFile{fd}, path)
}

// NewDevice drives an already open File (a fake, in tests) named path in
// messages; it closes f if VIDIOC_QUERYCAP fails.
func NewDevice(f File, path string) (*Device, error) {
	var raw [capabilitySize]byte
	if err := f.Ioctl(vidiocQueryCap, unsafe.Pointer(&raw[0])); err != nil {
		f.Close()
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return nil, fmt.Errorf("%w: %s (VIDIOC_QUERYCAP: %v)", ErrNotV4L2, path, err)
		}
		return nil, fmt.Errorf("v4l2: %s: VIDIOC_QUERYCAP: %w", path, err)
	}
	return &Device{f: f, path: path, caps: parseCapability(raw)}, nil
}

// Path is the node's path.
func (d *Device) Path() string { return d.path }

// Capabilities is what VIDIOC_QUERYCAP said.
func (d *Device) Capabilities() Capabilities { return d.caps }

// Close closes the node; buffers still mapped stay valid until unmapped.
func (d *Device) Close() error { return d.f.Close() }

// Wait blocks until one of events (PollIn, PollOut, PollPri) is ready or
// timeout passes, and returns what is ready (none on timeout).
func (d *Device) Wait(events int16, timeout time.Duration) (int16, error) {
	rev, err := d.f.Poll(events, timeout)
	if err != nil {
		return 0, fmt.Errorf("v4l2: %s: poll: %w", d.path, err)
	}
	return rev, nil
}

func (d *Device) ioctl(name string, req uint, arg unsafe.Pointer) error {
	if err := d.f.Ioctl(req, arg); err != nil {
		return fmt.Errorf("v4l2: %s: %s: %w", d.path, name, err)
	}
	return nil
}

// IsMultiPlanar reports the multi-planar buffer types.
func IsMultiPlanar(bufType uint32) bool {
	return bufType == BufVideoCaptureMPlane || bufType == BufVideoOutputMPlane
}

// Formats lists the pixel formats of one buffer queue (VIDIOC_ENUM_FMT).
func (d *Device) Formats(bufType uint32) ([]Format, error) {
	return enumFormats(d.f, d.path, bufType)
}

// PlaneFormat is one plane's layout as the driver decided it.
type PlaneFormat struct {
	// BytesPerLine is the distance between rows, padding included (0
	// for compressed formats).
	BytesPerLine int
	// SizeImage is the size the plane's buffer must have.
	SizeImage int
}

// PixFormat is a queue's format (struct v4l2_pix_format or
// v4l2_pix_format_mplane).
type PixFormat struct {
	Width, Height int
	FourCC        uint32
	Field         uint32
	Colorspace    uint32
	// Planes has one entry for single-planar queues and for multi-planar
	// queues with contiguous formats (YU12, NV12); set SizeImage to ask for
	// a compressed buffer size, leave it empty to let the driver choose.
	Planes []PlaneFormat
}

// GetFormat is VIDIOC_G_FMT.
func (d *Device) GetFormat(bufType uint32) (PixFormat, error) {
	f := uapi.Format{Type: bufType}
	if err := d.ioctl("VIDIOC_G_FMT", uapi.VidiocGFmt, unsafe.Pointer(&f)); err != nil {
		return PixFormat{}, err
	}
	return fromFormat(&f), nil
}

// SetFormat is VIDIOC_S_FMT; it returns what the driver chose, which may
// differ from what was asked (size aligned, bytesperline padded).
func (d *Device) SetFormat(bufType uint32, pf PixFormat) (PixFormat, error) {
	f := toFormat(bufType, pf)
	if err := d.ioctl("VIDIOC_S_FMT "+FourCCString(pf.FourCC), uapi.VidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return PixFormat{}, err
	}
	return fromFormat(&f), nil
}

// TryFormat is VIDIOC_TRY_FMT: what SetFormat would choose, without
// changing anything.
func (d *Device) TryFormat(bufType uint32, pf PixFormat) (PixFormat, error) {
	f := toFormat(bufType, pf)
	if err := d.ioctl("VIDIOC_TRY_FMT "+FourCCString(pf.FourCC), uapi.VidiocTryFmt, unsafe.Pointer(&f)); err != nil {
		return PixFormat{}, err
	}
	return fromFormat(&f), nil
}

func toFormat(bufType uint32, pf PixFormat) uapi.Format {
	f := uapi.Format{Type: bufType}
	if IsMultiPlanar(bufType) {
		mp := f.PixMP()
		mp.Width, mp.Height, mp.PixelFormat, mp.Field, mp.Colorspace = uint32(pf.Width), uint32(pf.Height), pf.FourCC, pf.Field, pf.Colorspace
		mp.NumPlanes = uint8(max(1, min(len(pf.Planes), uapi.MaxPlanes)))
		for i, p := range pf.Planes[:min(len(pf.Planes), uapi.MaxPlanes)] {
			mp.PlaneFmt[i].BytesPerLine, mp.PlaneFmt[i].SizeImage = uint32(p.BytesPerLine), uint32(p.SizeImage)
		}
		return f
	}
	p := f.Pix()
	p.Width, p.Height, p.PixelFormat, p.Field, p.Colorspace = uint32(pf.Width), uint32(pf.Height), pf.FourCC, pf.Field, pf.Colorspace
	if len(pf.Planes) > 0 {
		p.BytesPerLine, p.SizeImage = uint32(pf.Planes[0].BytesPerLine), uint32(pf.Planes[0].SizeImage)
	}
	return f
}

func fromFormat(f *uapi.Format) PixFormat {
	if IsMultiPlanar(f.Type) {
		mp := f.PixMP()
		pf := PixFormat{Width: int(mp.Width), Height: int(mp.Height), FourCC: mp.PixelFormat, Field: mp.Field, Colorspace: mp.Colorspace}
		for i := range min(int(mp.NumPlanes), uapi.MaxPlanes) {
			pf.Planes = append(pf.Planes, PlaneFormat{BytesPerLine: int(mp.PlaneFmt[i].BytesPerLine), SizeImage: int(mp.PlaneFmt[i].SizeImage)})
		}
		return pf
	}
	p := f.Pix()
	return PixFormat{Width: int(p.Width), Height: int(p.Height), FourCC: p.PixelFormat, Field: p.Field, Colorspace: p.Colorspace,
		Planes: []PlaneFormat{{BytesPerLine: int(p.BytesPerLine), SizeImage: int(p.SizeImage)}}}
}

// RequestBuffers is VIDIOC_REQBUFS: it asks for count buffers of the given
// memory type and returns how many the driver allocated; count 0 frees
// them (unmap first).
func (d *Device) RequestBuffers(bufType uint32, mem Memory, count int) (int, error) {
	r := uapi.RequestBuffers{Count: uint32(count), Type: bufType, Memory: uint32(mem)}
	if err := d.ioctl(fmt.Sprintf("VIDIOC_REQBUFS %d %s", count, mem), uapi.VidiocReqBufs, unsafe.Pointer(&r)); err != nil {
		return 0, err
	}
	return int(r.Count), nil
}

// Plane is one plane of a buffer.
type Plane struct {
	// BytesUsed is how much holds data; Length the plane's size.
	BytesUsed, Length int
	// Offset is the mmap offset (MMAP).
	Offset uint32
	// FD is the dmabuf file descriptor (DMABUF).
	FD int
	// DataOffset is where the data starts within the plane.
	DataOffset int
}

// Buffer is struct v4l2_buffer with its planes.
type Buffer struct {
	Index  int
	Type   uint32
	Memory Memory
	Flags  uint32
	Field  uint32
	// Timestamp is the buffer's time stamp; a memory-to-memory device
	// copies it from the OUTPUT buffer to the CAPTURE buffer made from it.
	Timestamp time.Duration
	Sequence  uint32
	// Planes has one entry for single-planar buffers.
	Planes []Plane
}

// bufferArg holds a buffer ioctl's argument, pinned while the kernel may
// follow its planes pointer.
type bufferArg struct {
	pb  *uapi.PlaneBuffer
	pin runtime.Pinner
}

func newBufferArg(b Buffer) *bufferArg {
	a := &bufferArg{pb: new(uapi.PlaneBuffer)}
	raw := &a.pb.Buffer
	raw.Index, raw.Type, raw.Memory, raw.Flags, raw.Field, raw.Sequence = uint32(b.Index), b.Type, uint32(b.Memory), b.Flags, b.Field, b.Sequence
	raw.Timestamp = uapi.Timeval{Sec: int64(b.Timestamp / time.Second), Usec: int64(b.Timestamp%time.Second) / 1000}
	if IsMultiPlanar(b.Type) {
		a.pin.Pin(a.pb)
		n := max(1, min(len(b.Planes), uapi.MaxPlanes))
		for i, p := range b.Planes[:min(len(b.Planes), uapi.MaxPlanes)] {
			rp := &a.pb.Planes[i]
			rp.BytesUsed, rp.Length, rp.DataOffset = uint32(p.BytesUsed), uint32(p.Length), uint32(p.DataOffset)
			rp.M = p.Offset
			if b.Memory == MemoryDMABUF {
				rp.M = uint32(int32(p.FD))
			}
		}
		raw.Length = uint32(n)
		raw.M = uint64(uintptr(unsafe.Pointer(&a.pb.Planes[0])))
		return a
	}
	if len(b.Planes) > 0 {
		p := b.Planes[0]
		raw.BytesUsed, raw.Length = uint32(p.BytesUsed), uint32(p.Length)
		raw.SetOffset(p.Offset)
		if b.Memory == MemoryDMABUF {
			raw.SetOffset(uint32(int32(p.FD)))
		}
	}
	return a
}

func (a *bufferArg) buffer() Buffer {
	raw := &a.pb.Buffer
	b := Buffer{Index: int(raw.Index), Type: raw.Type, Memory: Memory(raw.Memory), Flags: raw.Flags, Field: raw.Field, Sequence: raw.Sequence,
		Timestamp: time.Duration(raw.Timestamp.Sec)*time.Second + time.Duration(raw.Timestamp.Usec)*time.Microsecond}
	plane := func(bytesUsed, length, m, dataOffset uint32) Plane {
		p := Plane{BytesUsed: int(bytesUsed), Length: int(length), DataOffset: int(dataOffset), FD: -1}
		if b.Memory == MemoryDMABUF {
			p.FD = int(int32(m))
		} else {
			p.Offset = m
		}
		return p
	}
	if IsMultiPlanar(raw.Type) {
		for i := range min(int(raw.Length), uapi.MaxPlanes) {
			rp := &a.pb.Planes[i]
			b.Planes = append(b.Planes, plane(rp.BytesUsed, rp.Length, rp.M, rp.DataOffset))
		}
		return b
	}
	b.Planes = []Plane{plane(raw.BytesUsed, raw.Length, raw.Offset(), 0)}
	return b
}

// bufferIoctl issues a buffer request; arg is the PlaneBuffer for
// multi-planar types (see uapi) and its Buffer otherwise.
func (d *Device) bufferIoctl(req uint, b Buffer) (Buffer, error) {
	a := newBufferArg(b)
	defer a.pin.Unpin()
	arg := unsafe.Pointer(&a.pb.Buffer)
	if IsMultiPlanar(b.Type) {
		arg = unsafe.Pointer(a.pb)
	}
	err := d.f.Ioctl(req, arg)
	return a.buffer(), err
}

// QueryBuffer is VIDIOC_QUERYBUF: the buffer's planes with their sizes
// and mmap offsets.
func (d *Device) QueryBuffer(bufType uint32, mem Memory, index int) (Buffer, error) {
	b, err := d.bufferIoctl(uapi.VidiocQueryBuf, Buffer{Index: index, Type: bufType, Memory: mem, Planes: make([]Plane, uapi.MaxPlanes)})
	if err != nil {
		return Buffer{}, fmt.Errorf("v4l2: %s: VIDIOC_QUERYBUF %d: %w", d.path, index, err)
	}
	return b, nil
}

// Queue is VIDIOC_QBUF. For OUTPUT buffers set each plane's BytesUsed;
// for DMABUF set each plane's FD and Length.
func (d *Device) Queue(b Buffer) error {
	if _, err := d.bufferIoctl(uapi.VidiocQBuf, b); err != nil {
		return fmt.Errorf("v4l2: %s: VIDIOC_QBUF %d: %w", d.path, b.Index, err)
	}
	return nil
}

// Dequeue is VIDIOC_DQBUF on the non-blocking node: ErrNotReady when no
// buffer is done yet, ErrLastBuffer after the last buffer of a drain.
func (d *Device) Dequeue(bufType uint32, mem Memory) (Buffer, error) {
	b, err := d.bufferIoctl(uapi.VidiocDQBuf, Buffer{Type: bufType, Memory: mem, Planes: make([]Plane, uapi.MaxPlanes)})
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, unix.EAGAIN):
		return Buffer{}, ErrNotReady
	case errors.Is(err, unix.EPIPE):
		return Buffer{}, ErrLastBuffer
	default:
		return Buffer{}, fmt.Errorf("v4l2: %s: VIDIOC_DQBUF: %w", d.path, err)
	}
}

// StreamOn is VIDIOC_STREAMON.
func (d *Device) StreamOn(bufType uint32) error {
	t := bufType
	return d.ioctl("VIDIOC_STREAMON", uapi.VidiocStreamOn, unsafe.Pointer(&t))
}

// StreamOff is VIDIOC_STREAMOFF: it stops the queue and takes back every
// queued buffer.
func (d *Device) StreamOff(bufType uint32) error {
	t := bufType
	return d.ioctl("VIDIOC_STREAMOFF", uapi.VidiocStreamOff, unsafe.Pointer(&t))
}

// ExportBuffer is VIDIOC_EXPBUF: a dmabuf file descriptor (close-on-exec,
// read-write) for one plane of an MMAP buffer, which another device can
// take as DMABUF memory. The caller closes it.
func (d *Device) ExportBuffer(bufType uint32, index, plane int) (int, error) {
	e := uapi.ExportBuffer{Type: bufType, Index: uint32(index), Plane: uint32(plane), Flags: unix.O_CLOEXEC | unix.O_RDWR}
	if err := d.ioctl(fmt.Sprintf("VIDIOC_EXPBUF %d", index), uapi.VidiocExpBuf, unsafe.Pointer(&e)); err != nil {
		return -1, err
	}
	return int(e.FD), nil
}

// MappedBuffer is an MMAP buffer with its planes mapped.
type MappedBuffer struct {
	Buffer
	// Data holds each plane's mapping.
	Data [][]byte
}

// MapBuffers requests count MMAP buffers on a queue, queries and maps
// them. Release them with UnmapBuffers.
func (d *Device) MapBuffers(bufType uint32, count int) ([]MappedBuffer, error) {
	n, err := d.RequestBuffers(bufType, MemoryMMAP, count)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("v4l2: %s: VIDIOC_REQBUFS gave no buffers; is another program using the device?", d.path)
	}
	out := make([]MappedBuffer, 0, n)
	for i := range n {
		b, err := d.QueryBuffer(bufType, MemoryMMAP, i)
		if err == nil {
			mb := MappedBuffer{Buffer: b}
			for _, p := range b.Planes {
				m, merr := d.f.Mmap(int64(p.Offset), p.Length)
				if merr != nil {
					err = fmt.Errorf("v4l2: %s: mmap buffer %d (%d bytes): %w", d.path, i, p.Length, merr)
					break
				}
				mb.Data = append(mb.Data, m)
			}
			out = append(out, mb)
		}
		if err != nil {
			d.UnmapBuffers(bufType, out)
			return nil, err
		}
	}
	return out, nil
}

// UnmapBuffers unmaps buffers from MapBuffers and frees the queue's
// buffers (REQBUFS 0); the queue must be stopped.
func (d *Device) UnmapBuffers(bufType uint32, bufs []MappedBuffer) error {
	var errs []error
	for _, b := range bufs {
		for _, m := range b.Data {
			if err := d.f.Munmap(m); err != nil {
				errs = append(errs, fmt.Errorf("v4l2: %s: munmap: %w", d.path, err))
			}
		}
	}
	if _, err := d.RequestBuffers(bufType, MemoryMMAP, 0); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
