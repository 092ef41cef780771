package v4l2test

import (
	"slices"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/capture/v4l2/internal/uapi"
)

var _ v4l2.File = (*Camera)(nil)

// The enumeration requests, _IOWR('V', 74/75, …), sizes 44 and 52.
const (
	vidiocEnumFrameSizes     = 0xc02c564a
	vidiocEnumFrameIntervals = 0xc034564b
)

// Camera is a fake single-planar UVC camera that delivers compressed
// frames (H.264 access units, JPEG pictures), the way v4l2loopback does
// with canned video written to it: every buffer dequeued carries the next
// of Frames, over and over. Set the exported fields before handing it to
// v4l2.NewDevice.
type Camera struct {
	// Card is the card name QUERYCAP gives; "" means "Fake UVC Camera".
	Card string
	// Modes are what it lists (discrete sizes and rates).
	Modes []v4l2.Mode
	// Frames are the payloads it delivers, in order, looping.
	Frames [][]byte
	// KeyFrames flags Frames that carry V4L2_BUF_FLAG_KEYFRAME.
	KeyFrames []bool
	// KeyFrameControl and BitrateControl give it
	// V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME and _BITRATE (a UVC H.264
	// camera with encoding units).
	KeyFrameControl, BitrateControl bool
	// DropAfter, when positive, skips one sequence number after that many
	// frames, as a driver does when no buffer was free.
	DropAfter int

	mu        sync.Mutex
	format    uapi.PixFormat
	interval  uapi.Fract
	bufs      [][]byte
	maps      int
	queued    []uint32
	streaming bool
	next      int    // index into Frames
	seq       uint32 // next sequence number
	delivered int
	ctrlLog   []ControlSet
	bitrate   int32
	closed    bool
}

// Format is the format S_FMT set.
func (c *Camera) Format() (fourcc uint32, width, height int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.format.PixelFormat, int(c.format.Width), int(c.format.Height)
}

// FrameInterval is what S_PARM set.
func (c *Camera) FrameInterval() (num, den uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.interval.Numerator, c.interval.Denominator
}

// ControlLog lists the controls set.
func (c *Camera) ControlLog() []ControlSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ctrlLog)
}

// Streaming says whether the capture queue is on.
func (c *Camera) Streaming() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streaming
}

// Mapped is how many buffer mappings are live.
func (c *Camera) Mapped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maps
}

// answerQueryCap fills struct v4l2_capability; nodeCaps are the node's
// device_caps.
func answerQueryCap(arg unsafe.Pointer, driver, card, bus string, nodeCaps uint32) {
	raw := (*[104]byte)(arg)
	copy(raw[0:16], driver)
	copy(raw[16:48], card)
	copy(raw[48:80], bus)
	put32(raw[84:], v4l2.CapDeviceCaps|nodeCaps)
	put32(raw[88:], nodeCaps)
}

// answerEnumFmt fills struct v4l2_fmtdesc from the list of a buffer type;
// H.264, MJPEG and FWHT are flagged compressed.
func answerEnumFmt(arg unsafe.Pointer, list func(bufType uint32) []uint32) error {
	raw := (*[64]byte)(arg)
	index, formats := get32(raw[0:]), list(get32(raw[4:]))
	if int(index) >= len(formats) {
		return unix.EINVAL
	}
	f := formats[index]
	flags := uint32(0)
	if f == v4l2.FourCCH264 || f == v4l2.FourCCMJPEG || f == FourCCFWHT {
		flags = 1
	}
	put32(raw[8:], flags)
	copy(raw[12:44], v4l2.FourCCString(f))
	put32(raw[44:], f)
	return nil
}

func (c *Camera) fourccs() []uint32 {
	var out []uint32
	for _, m := range c.Modes {
		if !slices.Contains(out, m.FourCC) {
			out = append(out, m.FourCC)
		}
	}
	return out
}

func (c *Camera) sizes(fourcc uint32) [][2]int {
	var out [][2]int
	for _, m := range c.Modes {
		if s := [2]int{m.Width, m.Height}; m.FourCC == fourcc && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (c *Camera) bufSize() int {
	n := 64 << 10
	for _, f := range c.Frames {
		n = max(n, len(f))
	}
	return n
}

// Ioctl answers the requests a capture program makes.
func (c *Camera) Ioctl(req uint, arg unsafe.Pointer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return unix.EBADF
	}
	switch req {
	case uapi.VidiocQueryCap:
		card := c.Card
		if card == "" {
			card = "Fake UVC Camera"
		}
		answerQueryCap(arg, "uvcvideo", card, "usb-0000:01:00.0-1", v4l2.CapStreaming|v4l2.CapVideoCapture)
	case uapi.VidiocEnumFmt:
		return answerEnumFmt(arg, func(typ uint32) []uint32 {
			if typ != v4l2.BufVideoCapture {
				return nil
			}
			return c.fourccs()
		})
	case vidiocEnumFrameSizes:
		raw := (*[44]byte)(arg)
		sizes := c.sizes(get32(raw[4:]))
		index := get32(raw[0:])
		if int(index) >= len(sizes) {
			return unix.EINVAL
		}
		put32(raw[8:], 1) // discrete
		put32(raw[12:], uint32(sizes[index][0]))
		put32(raw[16:], uint32(sizes[index][1]))
	case vidiocEnumFrameIntervals:
		raw := (*[52]byte)(arg)
		index, f, w, h := get32(raw[0:]), get32(raw[4:]), int(get32(raw[8:])), int(get32(raw[12:]))
		var rates []float64
		for _, m := range c.Modes {
			if m.FourCC == f && m.Width == w && m.Height == h && m.FPS > 0 {
				rates = append(rates, m.FPS)
			}
		}
		if int(index) >= len(rates) {
			return unix.EINVAL
		}
		put32(raw[16:], 1) // discrete
		put32(raw[20:], 1000)
		put32(raw[24:], uint32(rates[index]*1000+0.5))
	case uapi.VidiocGFmt, uapi.VidiocSFmt, uapi.VidiocTryFmt:
		f := (*uapi.Format)(arg)
		if f.Type != v4l2.BufVideoCapture {
			return unix.EINVAL
		}
		p := f.Pix()
		if req == uapi.VidiocGFmt {
			*p = c.format
			return nil
		}
		if req == uapi.VidiocSFmt && len(c.bufs) > 0 {
			return unix.EBUSY
		}
		if !slices.Contains(c.fourccs(), p.PixelFormat) {
			p.PixelFormat = c.fourccs()[0]
		}
		if s := c.sizes(p.PixelFormat); !slices.Contains(s, [2]int{int(p.Width), int(p.Height)}) {
			p.Width, p.Height = uint32(s[0][0]), uint32(s[0][1])
		}
		p.BytesPerLine, p.SizeImage = 0, uint32(c.bufSize())
		if req == uapi.VidiocSFmt {
			c.format = *p
		}
	case uapi.VidiocSParm:
		sp := (*uapi.StreamParm)(arg)
		if sp.Type != v4l2.BufVideoCapture {
			return unix.EINVAL
		}
		c.interval = *sp.TimePerFrame()
	case uapi.VidiocReqBufs:
		r := (*uapi.RequestBuffers)(arg)
		if r.Type != v4l2.BufVideoCapture || r.Memory != uint32(v4l2.MemoryMMAP) {
			return unix.EINVAL
		}
		if c.streaming || (r.Count == 0 && c.maps > 0) || (r.Count > 0 && len(c.bufs) > 0) {
			return unix.EBUSY
		}
		c.bufs, c.queued = nil, nil
		for range min(r.Count, 8) {
			c.bufs = append(c.bufs, make([]byte, c.bufSize()))
		}
		r.Count = uint32(len(c.bufs))
	case uapi.VidiocQueryBuf, uapi.VidiocQBuf, uapi.VidiocDQBuf:
		return c.buffer(req, (*uapi.Buffer)(arg))
	case uapi.VidiocStreamOn, uapi.VidiocStreamOff:
		if *(*uint32)(arg) != v4l2.BufVideoCapture || len(c.bufs) == 0 {
			return unix.EINVAL
		}
		c.streaming = req == uapi.VidiocStreamOn
		if !c.streaming {
			c.queued = nil
		}
	case uapi.VidiocQueryCtrl:
		q := (*uapi.QueryCtrl)(arg)
		switch {
		case q.ID == v4l2.CIDForceKeyFrame && c.KeyFrameControl:
			*q = uapi.QueryCtrl{ID: q.ID, Type: v4l2.CtrlTypeButton}
		case q.ID == v4l2.CIDBitrate && c.BitrateControl:
			*q = uapi.QueryCtrl{ID: q.ID, Type: v4l2.CtrlTypeInteger, Minimum: 100_000, Maximum: 8_000_000, Step: 1, Default: 2_000_000}
		default:
			return unix.EINVAL
		}
	case uapi.VidiocSCtrl:
		ct := (*uapi.Control)(arg)
		switch {
		case ct.ID == v4l2.CIDForceKeyFrame && c.KeyFrameControl:
		case ct.ID == v4l2.CIDBitrate && c.BitrateControl:
			ct.Value = max(100_000, min(ct.Value, 8_000_000))
			c.bitrate = ct.Value
		default:
			return unix.EINVAL
		}
		c.ctrlLog = append(c.ctrlLog, ControlSet{ID: ct.ID, Value: ct.Value, Streaming: c.streaming})
	default:
		return unix.ENOTTY
	}
	return nil
}

func (c *Camera) buffer(req uint, b *uapi.Buffer) error {
	if b.Type != v4l2.BufVideoCapture || b.Memory != uint32(v4l2.MemoryMMAP) {
		return unix.EINVAL
	}
	switch req {
	case uapi.VidiocQueryBuf, uapi.VidiocQBuf:
		if int(b.Index) >= len(c.bufs) {
			return unix.EINVAL
		}
		b.Length = uint32(len(c.bufs[b.Index]))
		b.SetOffset(b.Index << 20)
		if req == uapi.VidiocQBuf {
			if slices.Contains(c.queued, b.Index) {
				return unix.EINVAL
			}
			c.queued = append(c.queued, b.Index)
		}
		return nil
	}
	if !c.streaming {
		return unix.EINVAL
	}
	if len(c.queued) == 0 || len(c.Frames) == 0 {
		return unix.EAGAIN
	}
	i := c.queued[0]
	c.queued = c.queued[1:]
	idx := c.next % len(c.Frames)
	f, key := c.Frames[idx], idx < len(c.KeyFrames) && c.KeyFrames[idx]
	c.next++
	n := copy(c.bufs[i], f)
	b.Index, b.BytesUsed, b.Length, b.Sequence, b.Flags = i, uint32(n), uint32(len(c.bufs[i])), c.seq, v4l2.FlagMapped
	if key {
		b.Flags |= v4l2.FlagKeyFrame
	}
	b.SetOffset(i << 20)
	c.seq++
	c.delivered++
	if c.DropAfter > 0 && c.delivered == c.DropAfter {
		c.seq++ // one frame lost in the driver
	}
	return nil
}

// Mmap maps a buffer by the offset QUERYBUF gave.
func (c *Camera) Mmap(offset int64, length int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := int(offset >> 20)
	if offset&(1<<20-1) != 0 || i >= len(c.bufs) || length > len(c.bufs[i]) {
		return nil, unix.EINVAL
	}
	c.maps++
	return c.bufs[i][:length:length], nil
}

// Munmap undoes Mmap.
func (c *Camera) Munmap([]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maps == 0 {
		return unix.EINVAL
	}
	c.maps--
	return nil
}

// Poll says a buffer is ready whenever one is queued while streaming
// (the camera never runs dry); it does not wait.
func (c *Camera) Poll(events int16, timeout time.Duration) (int16, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.streaming {
		return v4l2.PollErr, nil
	}
	if events&v4l2.PollIn != 0 && len(c.queued) > 0 && len(c.Frames) > 0 {
		return v4l2.PollIn, nil
	}
	return 0, nil
}

// Close closes the fake node.
func (c *Camera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return unix.EBADF
	}
	c.closed = true
	return nil
}
