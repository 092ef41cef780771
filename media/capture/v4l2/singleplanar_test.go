package v4l2

import (
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2/internal/uapi"
)

// recorder is a File that keeps copies of the structs it was handed and
// answers like a single-planar UVC camera.
type recorder struct {
	fmt uapi.Format
	buf uapi.Buffer
}

func (r *recorder) Ioctl(req uint, arg unsafe.Pointer) error {
	switch req {
	case vidiocQueryCap:
		raw := (*[capabilitySize]byte)(arg)
		copy(raw[16:], "UVC Camera")
		raw[84] = CapVideoCapture
	case uapi.VidiocSFmt:
		f := (*uapi.Format)(arg)
		r.fmt = *f
		p := f.Pix()
		p.BytesPerLine, p.SizeImage = p.Width*2, p.Width*2*p.Height // YUYV
	case uapi.VidiocQBuf:
		r.buf = *(*uapi.Buffer)(arg)
	case uapi.VidiocDQBuf:
		b := (*uapi.Buffer)(arg)
		b.Index, b.BytesUsed, b.Length, b.Flags = 3, 1000, 4096, FlagDone
		b.SetOffset(0x3000)
		b.Timestamp = uapi.Timeval{Sec: 2, Usec: 500}
	}
	return nil
}

func (r *recorder) Mmap(int64, int) ([]byte, error)          { return nil, nil }
func (r *recorder) Munmap([]byte) error                      { return nil }
func (r *recorder) Poll(int16, time.Duration) (int16, error) { return 0, nil }
func (r *recorder) Close() error                             { return nil }

func TestSinglePlanarStructs(t *testing.T) {
	r := &recorder{}
	d, err := NewDevice(r, "/dev/video0")
	if err != nil || !d.Capabilities().IsSinglePlanarCamera() {
		t.Fatalf("%+v %v", d, err)
	}
	got, err := d.SetFormat(BufVideoCapture, PixFormat{Width: 640, Height: 480, FourCC: FourCCYUYV})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.fmt.Pix(); r.fmt.Type != BufVideoCapture || p.Width != 640 || p.Height != 480 || p.PixelFormat != FourCCYUYV {
		t.Fatalf("S_FMT sent %+v", *p)
	}
	if len(got.Planes) != 1 || got.Planes[0].BytesPerLine != 1280 || got.Planes[0].SizeImage != 1280*480 {
		t.Fatalf("S_FMT returned %+v", got)
	}
	if err := d.Queue(Buffer{Index: 1, Type: BufVideoCapture, Memory: MemoryDMABUF, Planes: []Plane{{FD: 42, Length: 8192}}}); err != nil {
		t.Fatal(err)
	}
	if r.buf.Index != 1 || r.buf.Memory != uint32(MemoryDMABUF) || r.buf.Offset() != 42 || r.buf.Length != 8192 {
		t.Fatalf("QBUF sent %+v", r.buf)
	}
	b, err := d.Dequeue(BufVideoCapture, MemoryMMAP)
	if err != nil {
		t.Fatal(err)
	}
	if b.Index != 3 || len(b.Planes) != 1 || b.Planes[0].BytesUsed != 1000 || b.Planes[0].Offset != 0x3000 || b.Timestamp != 2*time.Second+500*time.Microsecond {
		t.Fatalf("DQBUF gave %+v", b)
	}
}

// TestPollWaitsOnTheDescriptor runs the real File's poll on a pipe: it
// times out with nothing to read, and reports input once there is some.
func TestPollWaitsOnTheDescriptor(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	r, w := osFile{p[0]}, osFile{p[1]}
	defer r.Close()
	defer w.Close()
	start := time.Now()
	if rev, err := r.Poll(PollIn, 20*time.Millisecond); err != nil || rev != 0 {
		t.Fatalf("empty pipe: %#x %v", rev, err)
	}
	if waited := time.Since(start); waited < 15*time.Millisecond {
		t.Fatalf("poll returned after %v, before its timeout", waited)
	}
	if rev, err := r.Poll(PollIn, -time.Second); err != nil || rev != 0 {
		t.Fatalf("negative timeout: %#x %v (must not wait forever)", rev, err)
	}
	unix.Write(p[1], []byte{1})
	if rev, err := r.Poll(PollIn|PollPri, time.Second); err != nil || rev&PollIn == 0 {
		t.Fatalf("pipe with data: %#x %v", rev, err)
	}
}
