// Package v4l2test has fakes of V4L2 device nodes that implement
// v4l2.File at the ioctl level, for tests of code built on package v4l2.
//
// Codec behaves the way the Raspberry Pi 4's stateful H.264 encoder
// (bcm2835-codec, /dev/video11) is documented to: multi-planar only;
// OUTPUT rows aligned to 64 bytes for YU12 and 32 for NV12 and the height
// to 16 rows; 512 KiB CAPTURE buffers up to 720p; bitrate 25 kb/s to
// 25 Mb/s in steps of 25 kb/s, changeable while streaming; SPS and PPS
// before the first IDR only, unless REPEAT_SEQ_HEADER is 1; an IDR every
// H264_I_PERIOD frames and on FORCE_KEY_FRAME; a drain (ENCODER_CMD STOP)
// that ends with an empty buffer flagged LAST and a V4L2_EVENT_EOS. It
// does not compress: each access unit's slice carries a text naming the
// frame, the bitrate and a checksum of the picture, so tests can read
// back what happened.
package v4l2test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/capture/v4l2/internal/uapi"
)

var _ v4l2.File = (*Codec)(nil)

// FourCCFWHT is vicodec's compressed format.
var FourCCFWHT = v4l2.FourCC("FWHT")

// Bitrate range of bcm2835-codec.
const (
	MinBitrate  = 25_000
	MaxBitrate  = 25_000_000
	BitrateStep = 25_000
	// CaptureBufferSize is bcm2835-codec's compressed buffer size up to
	// 720p (DEF_COMP_BUF_SIZE_720P_OR_LESS).
	CaptureBufferSize = 512 << 10
)

// Frame is what the fake encoded for one OUTPUT buffer.
type Frame struct {
	// Seq counts encoded frames from 0.
	Seq int
	// Key is an IDR; SeqHeader says SPS and PPS came with it.
	Key, SeqHeader bool
	// Bitrate is the bitrate control's value when it was encoded.
	Bitrate int32
	// Sum is the CRC-32 of the visible picture's planes (Y, then U, V).
	Sum uint32
	// Timestamp is the OUTPUT buffer's, which the CAPTURE buffer carries.
	Timestamp time.Duration
}

// ControlSet is one successful VIDIOC_S_CTRL or S_EXT_CTRLS control.
type ControlSet struct {
	ID    uint32
	Value int32
	// Streaming: both queues were streaming when it was set.
	Streaming bool
}

// Codec is a fake encoder node. Set the exported configuration fields
// before handing it to v4l2.NewDevice; read results through its methods.
type Codec struct {
	// Card is the card name QUERYCAP gives; "" means
	// "bcm2835-codec-encode".
	Card string
	// Compressed is the CAPTURE format; 0 means H.264. FourCCFWHT makes
	// it behave like vicodec's stateful encoder, which has no bitrate,
	// profile, level or sequence-header controls.
	Compressed uint32
	// Latency is how many OUTPUT buffers the encoder holds before the
	// first CAPTURE buffer comes out.
	Latency int
	// SeparateHeaders puts SPS and PPS in a CAPTURE buffer of their own
	// before the IDR's, whatever HEADER_MODE says, as some drivers do.
	SeparateHeaders bool
	// DMABufs are the dmabuf file descriptors the fake can import, as a
	// camera would have exported them (EXPBUF on this fake adds to it).
	DMABufs map[int][]byte

	mu       sync.Mutex
	queues   [2]*queue // OUTPUT, CAPTURE
	out, cap uapi.PixFormatMPlane
	ctrls    map[uint32]*ctrl
	log      []ControlSet
	frames   []Frame
	forceKey bool
	sinceIDR int
	encoded  int // frames of this context (open)
	pending  []capOut
	draining bool
	lastSent bool
	eosSub   bool
	events   []uint32
	tpf      uapi.Fract
	crop     uapi.Rect
	fail     error
	hang     bool
	picture  *image.YCbCr
	nextFD   int
	closed   bool
}

type queue struct {
	mem       uint32
	bufs      []*buf
	streaming bool
	queued    []int
	done      []int
	lastDQ    bool
}

type buf struct {
	data      []byte // MMAP memory
	offset    uint32
	bytesUsed uint32
	length    uint32
	flags     uint32
	fd        int32
	maps      int
	ts        uapi.Timeval
	seq       uint32
}

type ctrl struct {
	info  uapi.QueryCtrl
	value int32
}

// NewCodec returns a fake encoder in its power-on state: OUTPUT YU12 and
// CAPTURE H.264 at 1280x720 (or the given compressed format).
func NewCodec(compressed uint32) *Codec {
	c := &Codec{Compressed: compressed, DMABufs: map[int][]byte{}, nextFD: 1000}
	if c.Compressed == 0 {
		c.Compressed = v4l2.FourCCH264
	}
	c.queues = [2]*queue{{}, {}}
	c.out = uapi.PixFormatMPlane{Width: 1280, Height: 720, PixelFormat: v4l2.FourCCYU12, NumPlanes: 1}
	c.cap = uapi.PixFormatMPlane{Width: 1280, Height: 720, PixelFormat: c.Compressed, NumPlanes: 1}
	c.fixRaw(&c.out)
	c.fixCompressed(&c.cap)
	c.tpf = uapi.Fract{Numerator: 1, Denominator: 30}
	c.ctrls = map[uint32]*ctrl{}
	add := func(id, typ uint32, name string, minV, maxV, step, def int32) {
		q := uapi.QueryCtrl{ID: id, Type: typ, Minimum: minV, Maximum: maxV, Step: step, Default: def}
		copy(q.Name[:], name)
		if typ == v4l2.CtrlTypeButton {
			q.Flags = 0x40 // V4L2_CTRL_FLAG_WRITE_ONLY
		}
		c.ctrls[id] = &ctrl{info: q, value: def}
	}
	add(v4l2.CIDForceKeyFrame, v4l2.CtrlTypeButton, "Force Key Frame", 0, 0, 0, 0)
	if c.Compressed == FourCCFWHT {
		add(v4l2.CIDGOPSize, v4l2.CtrlTypeInteger, "GOP Size", 1, 16, 1, 10)
		return c
	}
	add(v4l2.CIDBitrateMode, v4l2.CtrlTypeMenu, "Video Bitrate Mode", 0, 1, 1, v4l2.BitrateModeVBR)
	add(v4l2.CIDBitrate, v4l2.CtrlTypeInteger, "Video Bitrate", MinBitrate, MaxBitrate, BitrateStep, 10_000_000)
	add(v4l2.CIDHeaderMode, v4l2.CtrlTypeMenu, "Sequence Header Mode", 0, 1, 1, v4l2.HeaderModeJoinedWith1stFrame)
	add(v4l2.CIDRepeatSeqHeader, v4l2.CtrlTypeBoolean, "Repeat Sequence Header", 0, 1, 1, 0)
	add(v4l2.CIDH264IPeriod, v4l2.CtrlTypeInteger, "H264 I-Frame Period", 0, 0x7fffffff, 1, 60)
	add(v4l2.CIDH264Level, v4l2.CtrlTypeMenu, "H264 Level", 0, v4l2.H264Level42, 1, v4l2.H264Level40)
	add(v4l2.CIDH264Profile, v4l2.CtrlTypeMenu, "H264 Profile", 0, v4l2.H264ProfileHigh, 1, v4l2.H264ProfileHigh)
	return c
}

// SetFail makes every later ioctl but STREAMOFF and REQBUFS fail with err
// (e.g. unix.EIO), as a driver that fell over mid-stream; nil heals it.
func (c *Codec) SetFail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = err
}

// SetHang stops (or restarts) the encoder producing anything while it
// still takes buffers, as raspberrypi/linux #4906 describes.
func (c *Codec) SetHang(h bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hang = h
	c.encodeLocked()
}

// Frames lists what was encoded so far.
func (c *Codec) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// ControlLog lists every control set, in order.
func (c *Codec) ControlLog() []ControlSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ControlSet(nil), c.log...)
}

// Control is a control's current value.
func (c *Codec) Control(id uint32) int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.ctrls[id]; k != nil {
		return k.value
	}
	return 0
}

// FrameInterval is what S_PARM set on the OUTPUT queue.
func (c *Codec) FrameInterval() (num, den uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tpf.Numerator, c.tpf.Denominator
}

// Crop is the visible rectangle S_SELECTION set (zero if never set).
func (c *Codec) Crop() (w, h int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.crop.Width), int(c.crop.Height)
}

// Picture is the visible part of the last OUTPUT picture encoded, read
// with the driver's own bytesperline (YU12 only).
func (c *Codec) Picture() *image.YCbCr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.picture
}

// Mapped is how many buffer planes are mapped now.
func (c *Codec) Mapped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.queues {
		for _, b := range q.bufs {
			n += b.maps
		}
	}
	return n
}

// Streaming reports whether the OUTPUT and CAPTURE queues stream.
func (c *Codec) Streaming() (output, capture bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queues[0].streaming, c.queues[1].streaming
}

// Reopen opens the node again after Close: a new context, as each open
// of a memory-to-memory node is, with fresh queues, formats and controls.
// The frame and control logs go on.
func (c *Codec) Reopen() {
	fresh := NewCodec(c.Compressed)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queues, c.out, c.cap, c.ctrls, c.tpf = fresh.queues, fresh.out, fresh.cap, fresh.ctrls, fresh.tpf
	c.crop, c.forceKey, c.draining, c.lastSent, c.eosSub, c.events = uapi.Rect{}, false, false, false, false, nil
	c.sinceIDR, c.encoded, c.pending, c.closed = 0, 0, nil, false
}

// Closed reports whether Close was called.
func (c *Codec) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func align(v, a uint32) uint32 { return (v + a - 1) / a * a }

// fixRaw applies bcm2835-codec's limits and alignment to a raw format.
func (c *Codec) fixRaw(f *uapi.PixFormatMPlane) {
	f.Width = max(32, min(f.Width, 1920))
	f.Height = align(max(32, min(f.Height, 1920)), 16)
	f.NumPlanes = 1
	switch f.PixelFormat {
	case v4l2.FourCCNV12:
		f.PlaneFmt[0].BytesPerLine = align(f.Width, 32)
	case v4l2.FourCCYUYV:
		f.PlaneFmt[0].BytesPerLine = align(f.Width*2, 64)
	default:
		f.PixelFormat = v4l2.FourCCYU12
		f.PlaneFmt[0].BytesPerLine = align(f.Width, 64)
	}
	bpl := f.PlaneFmt[0].BytesPerLine
	f.PlaneFmt[0].SizeImage = bpl * f.Height * 3 / 2
	if f.PixelFormat == v4l2.FourCCYUYV {
		f.PlaneFmt[0].SizeImage = bpl * f.Height
	}
	f.Field = 1 // V4L2_FIELD_NONE
}

func (c *Codec) fixCompressed(f *uapi.PixFormatMPlane) {
	f.Width = max(32, min(f.Width, 1920))
	f.Height = max(32, min(f.Height, 1920))
	f.PixelFormat = c.Compressed
	f.NumPlanes = 1
	f.PlaneFmt[0].BytesPerLine = 0
	f.PlaneFmt[0].SizeImage = CaptureBufferSize
	if f.Width*f.Height > 1280*720 {
		f.PlaneFmt[0].SizeImage = 768 << 10
	}
	f.Field = 1
}

func qindex(t uint32) (int, bool) {
	switch t {
	case v4l2.BufVideoOutputMPlane:
		return 0, true
	case v4l2.BufVideoCaptureMPlane:
		return 1, true
	}
	return 0, false
}

// Ioctl answers the requests bcm2835-codec answers.
func (c *Codec) Ioctl(req uint, arg unsafe.Pointer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return unix.EBADF
	}
	if c.fail != nil && req != uapi.VidiocStreamOff && req != uapi.VidiocReqBufs {
		return c.fail
	}
	switch req {
	case uapi.VidiocQueryCap:
		card := c.Card
		if card == "" {
			card = "bcm2835-codec-encode"
		}
		answerQueryCap(arg, "bcm2835-codec", card, "platform:bcm2835-codec", v4l2.CapStreaming|v4l2.CapVideoM2MMPlane)
		return nil
	case uapi.VidiocEnumFmt:
		return answerEnumFmt(arg, func(typ uint32) []uint32 {
			switch typ {
			case v4l2.BufVideoOutputMPlane:
				return []uint32{v4l2.FourCCYU12, v4l2.FourCCNV12, v4l2.FourCCYUYV}
			case v4l2.BufVideoCaptureMPlane:
				return []uint32{c.Compressed} // H.264 or FWHT: flagged compressed
			}
			return nil
		})
	case uapi.VidiocGFmt, uapi.VidiocSFmt, uapi.VidiocTryFmt:
		return c.format(req, (*uapi.Format)(arg))
	case uapi.VidiocReqBufs:
		return c.reqbufs((*uapi.RequestBuffers)(arg))
	case uapi.VidiocQueryBuf, uapi.VidiocQBuf, uapi.VidiocDQBuf:
		pb := (*uapi.PlaneBuffer)(arg)
		qi, ok := qindex(pb.Type)
		if !ok {
			return unix.EINVAL
		}
		switch req {
		case uapi.VidiocQueryBuf:
			return c.querybuf(qi, pb)
		case uapi.VidiocQBuf:
			return c.qbuf(qi, pb)
		default:
			return c.dqbuf(qi, pb)
		}
	case uapi.VidiocStreamOn, uapi.VidiocStreamOff:
		qi, ok := qindex(*(*uint32)(arg))
		if !ok {
			return unix.EINVAL
		}
		return c.stream(qi, req == uapi.VidiocStreamOn)
	case uapi.VidiocExpBuf:
		e := (*uapi.ExportBuffer)(arg)
		qi, ok := qindex(e.Type)
		q := c.queues[qi]
		if !ok || q.mem != uint32(v4l2.MemoryMMAP) || int(e.Index) >= len(q.bufs) || e.Plane != 0 {
			return unix.EINVAL
		}
		fd := c.nextFD
		c.nextFD++
		c.DMABufs[fd] = q.bufs[e.Index].data
		e.FD = int32(fd)
		return nil
	case uapi.VidiocQueryCtrl:
		q := (*uapi.QueryCtrl)(arg)
		k := c.ctrls[q.ID]
		if k == nil {
			return unix.EINVAL
		}
		*q = k.info
		return nil
	case uapi.VidiocGCtrl:
		ct := (*uapi.Control)(arg)
		k := c.ctrls[ct.ID]
		if k == nil {
			return unix.EINVAL
		}
		ct.Value = k.value
		return nil
	case uapi.VidiocSCtrl:
		ct := (*uapi.Control)(arg)
		v, err := c.setCtrl(ct.ID, ct.Value)
		ct.Value = v
		return err
	case uapi.VidiocSExtCtrls:
		a := (*uapi.ExtControlsArg)(arg)
		if a.Count > uapi.MaxExtControls || (a.Which != v4l2.CtrlClassCodec && a.Which != 0) {
			return unix.EINVAL
		}
		for i := range a.Count { // validate all first: all or none
			if c.ctrls[a.Controls[i].ID] == nil {
				a.ErrorIdx = i
				return unix.EINVAL
			}
		}
		for i := range a.Count {
			v, err := c.setCtrl(a.Controls[i].ID, a.Controls[i].Value)
			if err != nil {
				a.ErrorIdx = i
				return err
			}
			a.Controls[i].Value = v
		}
		return nil
	case uapi.VidiocSParm, uapi.VidiocGParm:
		p := (*uapi.StreamParm)(arg)
		if p.Type != v4l2.BufVideoOutputMPlane {
			return unix.EINVAL
		}
		if tpf := p.TimePerFrame(); req == uapi.VidiocSParm && tpf.Numerator > 0 && tpf.Denominator > 0 {
			c.tpf = *tpf
		}
		*p.Capability() = 0x1000 // V4L2_CAP_TIMEPERFRAME
		*p.TimePerFrame() = c.tpf
		return nil
	case uapi.VidiocSSelection:
		s := (*uapi.Selection)(arg)
		if (s.Type != v4l2.BufVideoOutput && s.Type != v4l2.BufVideoOutputMPlane) || s.Target != 0 {
			return unix.EINVAL
		}
		s.Rect.Width, s.Rect.Height = min(s.Rect.Width, c.out.Width), min(s.Rect.Height, c.out.Height)
		c.crop = s.Rect
		return nil
	case uapi.VidiocEncoderCmd:
		e := (*uapi.EncoderCmd)(arg)
		switch e.Cmd {
		case v4l2.EncCmdStop:
			if !c.queues[1].streaming {
				return nil // nothing to drain
			}
			c.draining = true
			c.encodeLocked()
		case v4l2.EncCmdStart:
			c.draining, c.lastSent, c.queues[1].lastDQ = false, false, false
		default:
			return unix.EINVAL
		}
		return nil
	case uapi.VidiocSubscribeEvent:
		s := (*uapi.EventSubscription)(arg)
		if s.Type != v4l2.EventEOS {
			return unix.EINVAL
		}
		c.eosSub = true
		return nil
	case uapi.VidiocDQEvent:
		e := (*uapi.Event)(arg)
		if len(c.events) == 0 {
			return unix.ENOENT
		}
		*e = uapi.Event{Type: c.events[0], Pending: uint32(len(c.events) - 1)}
		c.events = c.events[1:]
		return nil
	}
	return unix.ENOTTY
}

func (c *Codec) format(req uint, f *uapi.Format) error {
	qi, ok := qindex(f.Type)
	if !ok {
		return unix.EINVAL
	}
	cur := &c.out
	if qi == 1 {
		cur = &c.cap
	}
	if req == uapi.VidiocGFmt {
		*f.PixMP() = *cur
		return nil
	}
	want := *f.PixMP()
	if qi == 0 {
		c.fixRaw(&want)
	} else {
		c.fixCompressed(&want)
	}
	*f.PixMP() = want
	if req == uapi.VidiocTryFmt {
		return nil
	}
	if len(c.queues[qi].bufs) > 0 {
		return unix.EBUSY
	}
	*cur = want
	if qi == 0 { // the encoded size follows the raw one
		c.cap.Width, c.cap.Height = want.Width, want.Height
		c.fixCompressed(&c.cap)
	}
	return nil
}

func (c *Codec) reqbufs(r *uapi.RequestBuffers) error {
	qi, ok := qindex(r.Type)
	if !ok || (r.Memory != uint32(v4l2.MemoryMMAP) && r.Memory != uint32(v4l2.MemoryDMABUF)) {
		return unix.EINVAL
	}
	if qi == 1 && r.Memory != uint32(v4l2.MemoryMMAP) {
		return unix.EINVAL // CAPTURE is MMAP only
	}
	q := c.queues[qi]
	if q.streaming {
		return unix.EBUSY
	}
	if r.Count == 0 {
		for _, b := range q.bufs {
			if b.maps > 0 {
				return unix.EBUSY // still mapped
			}
		}
		c.queues[qi] = &queue{}
		r.Capabilities = 1 | 4 // MMAP, DMABUF
		return nil
	}
	if len(q.bufs) > 0 {
		return unix.EBUSY
	}
	count := max(1, min(r.Count, 32))
	size := c.out.PlaneFmt[0].SizeImage
	if qi == 1 {
		size = c.cap.PlaneFmt[0].SizeImage
	}
	q = &queue{mem: r.Memory}
	for i := range count {
		b := &buf{length: size, offset: uint32(qi)<<30 | i<<20, fd: -1}
		if r.Memory == uint32(v4l2.MemoryMMAP) {
			b.data = make([]byte, size)
		}
		q.bufs = append(q.bufs, b)
	}
	c.queues[qi] = q
	r.Count = count
	r.Capabilities = 1 | 4
	return nil
}

func (c *Codec) fill(qi int, index uint32, pb *uapi.PlaneBuffer) {
	q := c.queues[qi]
	b := q.bufs[index]
	pb.Index, pb.Memory, pb.Flags, pb.Timestamp, pb.Sequence = index, q.mem, b.flags, b.ts, b.seq
	pb.Length = 1
	p := &pb.Planes[0]
	p.BytesUsed, p.Length = b.bytesUsed, b.length
	p.M = b.offset
	if q.mem == uint32(v4l2.MemoryDMABUF) {
		p.M = uint32(b.fd)
	}
}

func (c *Codec) querybuf(qi int, pb *uapi.PlaneBuffer) error {
	q := c.queues[qi]
	if int(pb.Index) >= len(q.bufs) || pb.Memory != q.mem || pb.Length < 1 {
		return unix.EINVAL
	}
	c.fill(qi, pb.Index, pb)
	return nil
}

func (c *Codec) qbuf(qi int, pb *uapi.PlaneBuffer) error {
	q := c.queues[qi]
	if int(pb.Index) >= len(q.bufs) || pb.Memory != q.mem || pb.Length != 1 {
		return unix.EINVAL
	}
	b := q.bufs[pb.Index]
	if b.flags&(v4l2.FlagQueued|v4l2.FlagDone) != 0 {
		return unix.EINVAL
	}
	p := &pb.Planes[0]
	if qi == 0 {
		if q.mem == uint32(v4l2.MemoryDMABUF) {
			data, ok := c.DMABufs[int(int32(p.M))]
			if !ok {
				return unix.EBADF
			}
			if uint32(len(data)) < c.out.PlaneFmt[0].SizeImage {
				return unix.EINVAL // too small for the format
			}
			b.fd, b.data, b.length = int32(p.M), data, uint32(len(data))
		}
		if p.BytesUsed == 0 || p.BytesUsed > b.length {
			p.BytesUsed = b.length
		}
		b.bytesUsed = p.BytesUsed
		b.ts = pb.Timestamp
	}
	b.flags = v4l2.FlagQueued
	q.queued = append(q.queued, int(pb.Index))
	c.encodeLocked()
	c.fill(qi, pb.Index, pb)
	return nil
}

func (c *Codec) dqbuf(qi int, pb *uapi.PlaneBuffer) error {
	q := c.queues[qi]
	if !q.streaming {
		return unix.EINVAL
	}
	if len(q.done) == 0 {
		if q.lastDQ {
			return unix.EPIPE
		}
		return unix.EAGAIN
	}
	i := q.done[0]
	q.done = q.done[1:]
	b := q.bufs[i]
	if b.flags&v4l2.FlagLast != 0 {
		q.lastDQ = true
	}
	c.fill(qi, uint32(i), pb)
	pb.Flags &^= v4l2.FlagDone
	b.flags = 0
	return nil
}

func (c *Codec) stream(qi int, on bool) error {
	q := c.queues[qi]
	if on {
		if len(q.bufs) == 0 {
			return unix.EINVAL
		}
		q.streaming = true
		c.encodeLocked()
		return nil
	}
	q.streaming, q.queued, q.done, q.lastDQ = false, nil, nil, false
	for _, b := range q.bufs {
		b.flags = 0
	}
	if qi == 1 {
		c.draining, c.lastSent, c.pending = false, false, nil
	}
	return nil
}

func (c *Codec) setCtrl(id uint32, v int32) (int32, error) {
	k := c.ctrls[id]
	if k == nil {
		return v, unix.EINVAL
	}
	switch k.info.Type {
	case v4l2.CtrlTypeInteger:
		// The control framework clamps integers and rounds them to the
		// step.
		v = max(k.info.Minimum, min(v, k.info.Maximum))
		if s := k.info.Step; s > 1 {
			v = k.info.Minimum + (v-k.info.Minimum+s/2)/s*s
		}
	case v4l2.CtrlTypeMenu, v4l2.CtrlTypeBoolean:
		if v < k.info.Minimum || v > k.info.Maximum {
			return v, unix.ERANGE
		}
	}
	streaming := c.queues[0].streaming && c.queues[1].streaming
	if id != v4l2.CIDBitrate && id != v4l2.CIDForceKeyFrame && streaming {
		return v, unix.EBUSY // only bitrate and key frames change while streaming
	}
	if id == v4l2.CIDForceKeyFrame {
		c.forceKey = true
	} else {
		k.value = v
	}
	c.log = append(c.log, ControlSet{ID: id, Value: v, Streaming: streaming})
	return v, nil
}

// encodeLocked turns queued OUTPUT buffers into CAPTURE buffers while
// both queues stream, then ends a drain.
func (c *Codec) encodeLocked() {
	out, capq := c.queues[0], c.queues[1]
	if !out.streaming || !capq.streaming || c.hang {
		return
	}
	for {
		c.flushLocked()
		if len(c.pending) > 0 || len(capq.queued) == 0 || len(out.queued) == 0 || (len(out.queued) <= c.Latency && !c.draining) {
			break
		}
		oi := out.queued[0]
		out.queued = out.queued[1:]
		ob := out.bufs[oi]
		c.encodeOne(ob)
		ob.flags = v4l2.FlagDone
		out.done = append(out.done, oi)
	}
	if c.draining && !c.lastSent && len(out.queued) == 0 && len(c.pending) == 0 && len(capq.queued) > 0 {
		ci := capq.queued[0]
		capq.queued = capq.queued[1:]
		cb := capq.bufs[ci]
		cb.bytesUsed, cb.flags = 0, v4l2.FlagDone|v4l2.FlagLast
		capq.done = append(capq.done, ci)
		c.lastSent = true
		if c.eosSub {
			c.events = append(c.events, v4l2.EventEOS)
		}
	}
}

// capOut is a CAPTURE buffer's worth of output waiting for a buffer.
type capOut struct {
	data  []byte
	flags uint32
	ts    uapi.Timeval
	seq   uint32
}

// flushLocked fills queued CAPTURE buffers with pending output.
func (c *Codec) flushLocked() {
	capq := c.queues[1]
	for len(c.pending) > 0 && len(capq.queued) > 0 {
		p := c.pending[0]
		c.pending = c.pending[1:]
		ci := capq.queued[0]
		capq.queued = capq.queued[1:]
		cb := capq.bufs[ci]
		cb.bytesUsed = uint32(copy(cb.data, p.data))
		cb.flags, cb.ts, cb.seq = v4l2.FlagDone|p.flags, p.ts, p.seq
		if int(cb.bytesUsed) < len(p.data) {
			cb.flags |= v4l2.FlagError
		}
		capq.done = append(capq.done, ci)
	}
}

func (c *Codec) encodeOne(ob *buf) {
	seq := len(c.frames)
	period := int(c.ctrls[v4l2.CIDH264IPeriod].valueOr(0))
	if c.Compressed == FourCCFWHT {
		period = int(c.ctrls[v4l2.CIDGOPSize].valueOr(0))
	}
	first := c.encoded == 0
	c.encoded++
	key := first || c.forceKey || (period > 0 && c.sinceIDR >= period)
	c.forceKey = false
	if key {
		c.sinceIDR = 0
	}
	c.sinceIDR++
	f := Frame{Seq: seq, Key: key, Bitrate: c.ctrls[v4l2.CIDBitrate].valueOr(0), Timestamp: time.Duration(ob.ts.Sec)*time.Second + time.Duration(ob.ts.Usec)*time.Microsecond}
	f.Sum = c.readPicture(ob.data[:ob.bytesUsed])
	flags := uint32(v4l2.FlagPFrame)
	if key {
		flags = v4l2.FlagKeyFrame
	}
	emit := func(au []byte) {
		c.pending = append(c.pending, capOut{data: au, flags: flags, ts: ob.ts, seq: uint32(seq)})
	}
	text := fmt.Sprintf("frame=%d bitrate=%d sum=%08x", seq, f.Bitrate, f.Sum)
	if c.Compressed == FourCCFWHT {
		emit(append([]byte("OOOOFWHT "), text...))
		c.frames = append(c.frames, f)
		return
	}
	var au []byte
	if key && (first || c.ctrls[v4l2.CIDRepeatSeqHeader].valueOr(0) == 1) {
		f.SeqHeader = true
		au = append(au, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f) // SPS, constrained baseline 3.1
		au = append(au, fmt.Sprintf("sps frame=%d", seq)...)
		au = append(au, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80) // PPS
		if c.SeparateHeaders {
			emit(au)
			au = nil
		}
	}
	nal := byte(0x41) // non-IDR slice, nal_ref_idc 2
	if key {
		nal = 0x65 // IDR slice, nal_ref_idc 3
	}
	au = append(au, 0, 0, 0, 1, nal)
	emit(append(au, text...))
	c.frames = append(c.frames, f)
}

func (k *ctrl) valueOr(def int32) int32 {
	if k == nil {
		return def
	}
	return k.value
}

// readPicture reads the visible picture of a YU12 OUTPUT buffer with the
// driver's layout, keeps it for Picture, and returns its checksum.
func (c *Codec) readPicture(data []byte) uint32 {
	if c.out.PixelFormat != v4l2.FourCCYU12 {
		return crc32.ChecksumIEEE(data)
	}
	w, h := int(c.out.Width), int(c.out.Height)
	if c.crop.Width > 0 {
		w, h = int(c.crop.Width), int(c.crop.Height)
	}
	bpl, ah := int(c.out.PlaneFmt[0].BytesPerLine), int(c.out.Height)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	cw, ch := (w+1)/2, (h+1)/2
	uOff, vOff := bpl*ah, bpl*ah+bpl/2*ah/2
	if len(data) < vOff+bpl/2*ah/2 {
		return 0
	}
	for y := range h {
		copy(img.Y[y*img.YStride:][:w], data[y*bpl:])
	}
	for y := range ch {
		copy(img.Cb[y*img.CStride:][:cw], data[uOff+y*bpl/2:])
		copy(img.Cr[y*img.CStride:][:cw], data[vOff+y*bpl/2:])
	}
	c.picture = img
	return PictureSum(img)
}

// PictureSum is the checksum Frame.Sum holds for a picture: CRC-32 of its
// visible Y, Cb and Cr rows.
func PictureSum(img *image.YCbCr) uint32 {
	h := crc32.NewIEEE()
	r := img.Rect
	cw := (r.Dx() + 1) / 2
	for y := r.Min.Y; y < r.Max.Y; y++ {
		h.Write(img.Y[img.YOffset(r.Min.X, y):][:r.Dx()])
	}
	for _, plane := range [][]byte{img.Cb, img.Cr} {
		for y := r.Min.Y; y < r.Max.Y; y += 2 {
			h.Write(plane[img.COffset(r.Min.X, y):][:cw])
		}
	}
	return h.Sum32()
}

// Mmap maps a buffer by the offset QUERYBUF gave.
func (c *Codec) Mmap(offset int64, length int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range c.queues {
		for _, b := range q.bufs {
			if int64(b.offset) == offset && b.data != nil {
				if length > len(b.data) {
					return nil, unix.EINVAL
				}
				b.maps++
				return b.data[:length:length], nil
			}
		}
	}
	return nil, unix.EINVAL
}

// Munmap undoes Mmap.
func (c *Codec) Munmap(m []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range c.queues {
		for _, b := range q.bufs {
			if b.maps > 0 && len(m) > 0 && &b.data[0] == &m[0] {
				b.maps--
				return nil
			}
		}
	}
	return unix.EINVAL
}

// Poll answers at once with what is ready; when nothing is, it returns
// none as if timeout had passed, without waiting.
func (c *Codec) Poll(events int16, timeout time.Duration) (int16, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var rev int16
	out, capq := c.queues[0], c.queues[1]
	if events&v4l2.PollIn != 0 && capq.streaming && (len(capq.done) > 0 || capq.lastDQ) {
		rev |= v4l2.PollIn
	}
	if events&v4l2.PollOut != 0 && out.streaming && len(out.done) > 0 {
		rev |= v4l2.PollOut
	}
	if events&v4l2.PollPri != 0 && len(c.events) > 0 {
		rev |= v4l2.PollPri
	}
	if !out.streaming && !capq.streaming && len(c.events) == 0 {
		rev |= v4l2.PollErr
	}
	return rev, nil
}

// Close closes the fake node.
func (c *Codec) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return unix.EBADF
	}
	c.closed = true
	return nil
}

func put32(b []byte, v uint32) { binary.NativeEndian.PutUint32(b, v) }
func get32(b []byte) uint32    { return binary.NativeEndian.Uint32(b) }
