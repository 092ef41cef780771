// Package v4l2m2m drives a V4L2 memory-to-memory stateful video encoder
// (the Raspberry Pi 4's bcm2835-codec /dev/video11, Qualcomm venus,
// MediaTek, Samsung MFC, NXP amphion; vicodec for tests) in pure Go on
// package v4l2: multi-planar queues, MMAP CAPTURE buffers, MMAP (copy) or
// DMABUF (zero copy) OUTPUT buffers.
//
// # Protocol
//
// New sets the coded format on CAPTURE, the raw format on OUTPUT (and uses
// the bytesperline and height the driver returns), the frame rate with
// S_PARM, the visible size with S_SELECTION when the driver aligned the
// height, then the codec controls; then it maps the buffers and starts
// both queues. Encode copies a picture into a free OUTPUT buffer, queues
// it, and collects the encoded frame; a bitrate change (SetBitRate) and a
// key-frame request (ForceKeyFrame) become V4L2_CID_MPEG_VIDEO_BITRATE and
// _FORCE_KEY_FRAME before the next frame. Close drains with
// V4L2_ENC_CMD_STOP (the last CAPTURE buffer is flagged LAST, and
// V4L2_EVENT_EOS arrives) before it stops the queues.
//
// # Controls
//
// A control the driver lacks or refuses (vicodec has no bitrate control)
// is listed in Info().Unsupported rather than failing the encoder: the
// caller decides whether it can live without it. Driver errors while
// streaming (an ioctl failing, a buffer flagged ERROR, no frame back
// within Config.Timeout) are returned by Encode wrapped in ErrDevice, so a
// caller can switch to a software encoder with the reason.
//
// # Zero copy
//
// With Config.Memory = v4l2.MemoryDMABUF the OUTPUT queue imports dmabuf
// file descriptors: a camera exports its MMAP buffers once
// (v4l2.Device.ExportBuffer) and hands each captured frame to
// EncodeDMABUF, which calls the frame's Release once the encoder has
// returned the buffer, so the camera can queue it again. That works only
// when the camera's format equals InputFormat (same fourcc, size and
// bytesperline); otherwise the camera falls back to Encode on its mapped
// picture, which costs one copy (BenchmarkCopyI420).
package v4l2m2m

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomd/roomd/media/capture/v4l2"
)

// fieldNone is V4L2_FIELD_NONE: progressive pictures.
const fieldNone = 1

// Errors callers branch on.
var (
	// ErrClosed is returned by Encode after Close.
	ErrClosed = errors.New("v4l2m2m: encoder closed")
	// ErrDevice wraps every failure of the device while it runs: the
	// caller should stop using the hardware encoder and say why.
	ErrDevice = errors.New("v4l2m2m: encoder device failed")
)

// Config configures an Encoder.
type Config struct {
	// Device is the encoder's node, e.g. /dev/video11.
	Device string
	// Width and Height of the pictures.
	Width, Height int
	// FPS is the frame rate given to the driver (S_PARM); it must be
	// positive.
	FPS float64
	// BitRate is the initial target in bits per second; 0 leaves the
	// driver's default.
	BitRate int
	// KeyFrameInterval is the longest time between key frames; 0 leaves
	// the driver's default period, negative means key frames only at the
	// start and on ForceKeyFrame.
	KeyFrameInterval time.Duration
	// Compressed is the coded format on the CAPTURE queue; 0 means H.264.
	// Tests on vicodec set v4l2.FourCC("FWHT").
	Compressed uint32
	// Memory is the OUTPUT queue's memory: 0 or v4l2.MemoryMMAP (Encode
	// copies each picture), or v4l2.MemoryDMABUF (EncodeDMABUF imports
	// the caller's buffers).
	Memory v4l2.Memory
	// Input is the raw format on the OUTPUT queue; 0 means YU12 (I420),
	// the only one Encode can copy. DMABUF callers may pass NV12.
	Input uint32
	// CBR asks for constant bitrate (real-time calls); false leaves the
	// driver's default mode (VBR on bcm2835-codec).
	CBR bool
	// Buffers is how many buffers each queue gets; 0 means 4.
	Buffers int
	// Timeout is how long a frame may take to come back before the
	// device counts as hung (raspberrypi/linux #4906); 0 means 1 s.
	Timeout time.Duration
	// Open opens Device; nil means v4l2.Open. Tests pass a fake.
	Open func(path string) (*v4l2.Device, error)
}

func (c Config) withDefaults() Config {
	if c.Compressed == 0 {
		c.Compressed = v4l2.FourCCH264
	}
	if c.Memory == 0 {
		c.Memory = v4l2.MemoryMMAP
	}
	if c.Input == 0 {
		c.Input = v4l2.FourCCYU12
	}
	if c.Buffers <= 0 {
		c.Buffers = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Open == nil {
		c.Open = v4l2.Open
	}
	return c
}

// Info describes a running encoder for status.
type Info struct {
	// Device, Driver and Card name the node.
	Device, Driver, Card string
	// Compressed is the coded format; Memory the OUTPUT memory.
	Compressed uint32
	Memory     v4l2.Memory
	// Input is the OUTPUT format the driver chose (bytesperline, aligned
	// height).
	Input v4l2.PixFormat
	// Unsupported lists the settings the driver lacks or refused, e.g.
	// "bitrate (no control)".
	Unsupported []string
}

// Frame is one encoded frame.
type Frame struct {
	Data []byte
	Key  bool
}

// DMABuf is a picture in a dmabuf, e.g. a camera buffer exported with
// VIDIOC_EXPBUF, laid out as InputFormat says.
type DMABuf struct {
	// FD is the dmabuf file descriptor; the encoder does not close it.
	FD int
	// Length is the dmabuf's size and BytesUsed how much holds the
	// picture; 0 means the OUTPUT format's sizeimage.
	Length, BytesUsed int
	// Release, if set, is called once the encoder has handed the buffer
	// back (or will not use it), from within an Encoder method.
	Release func()
}

// Encoder is a running V4L2 M2M encoder. Encode, EncodeDMABUF, Drain and
// Close are serialised; ForceKeyFrame and SetBitRate may be called from
// any goroutine.
type Encoder struct {
	keyReq  atomic.Bool
	bitrate atomic.Int64 // pending target; 0 when applied

	mu      sync.Mutex
	cfg     Config
	dev     *v4l2.Device
	in      v4l2.PixFormat // OUTPUT format
	out     []v4l2.MappedBuffer
	outBusy []bool
	release []func() // DMABUF: per OUTPUT index
	slotFD  []int    // DMABUF: fd last queued at each index
	capb    []v4l2.MappedBuffer
	pending []byte // a parameter-set-only buffer waiting for its frame
	rate    v4l2.ControlInfo
	hasRate bool
	hasKey  bool
	info    Info
	frames  int64
	failed  bool // the device failed: no drain on Close
	closed  bool
}

// New opens the device and starts encoding at cfg's size.
func New(cfg Config) (*Encoder, error) {
	cfg = cfg.withDefaults()
	if cfg.FPS <= 0 {
		return nil, fmt.Errorf("v4l2m2m: frame rate %g must be positive", cfg.FPS)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		return nil, fmt.Errorf("v4l2m2m: picture size %dx%d must be positive and even", cfg.Width, cfg.Height)
	}
	if cfg.Memory != v4l2.MemoryMMAP && cfg.Memory != v4l2.MemoryDMABUF {
		return nil, fmt.Errorf("v4l2m2m: OUTPUT memory %s: use MMAP or DMABUF", cfg.Memory)
	}
	e := &Encoder{cfg: cfg}
	if err := e.start(); err != nil {
		return nil, err
	}
	return e, nil
}

// Info describes the encoder.
func (e *Encoder) Info() Info {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.info
	i.Unsupported = append([]string(nil), i.Unsupported...)
	return i
}

// InputFormat is the OUTPUT queue's format: a DMABUF picture must be laid
// out exactly so (fourcc, width, height, bytesperline).
func (e *Encoder) InputFormat() v4l2.PixFormat {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.in
}

// start opens and configures the device at e.cfg's size and starts both
// queues; on failure everything is undone.
func (e *Encoder) start() (err error) {
	cfg := e.cfg
	dev, err := cfg.Open(cfg.Device)
	if err != nil {
		return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
	}
	e.dev = dev
	defer func() {
		if err != nil {
			e.teardown()
		}
	}()
	caps := dev.Capabilities()
	e.info = Info{Device: cfg.Device, Driver: caps.Driver, Card: caps.Card, Compressed: cfg.Compressed, Memory: cfg.Memory}
	if caps.NodeCaps()&v4l2.CapVideoM2MMPlane == 0 {
		return fmt.Errorf("v4l2m2m: %s (%s) is %s, not a multi-planar memory-to-memory device", cfg.Device, caps.Card, caps.Describe())
	}
	const capQ, outQ = v4l2.BufVideoCaptureMPlane, v4l2.BufVideoOutputMPlane
	// The coded format first, then the raw one (the stateful encoder
	// interface's order).
	if _, err := dev.SetFormat(capQ, v4l2.PixFormat{Width: cfg.Width, Height: cfg.Height, FourCC: cfg.Compressed}); err != nil {
		return fmt.Errorf("v4l2m2m: setting the coded format %s: %w", v4l2.FourCCString(cfg.Compressed), trimPrefix(err))
	}
	in, err := dev.SetFormat(outQ, v4l2.PixFormat{Width: cfg.Width, Height: cfg.Height, FourCC: cfg.Input})
	if err != nil {
		return fmt.Errorf("v4l2m2m: setting the picture format: %w", trimPrefix(err))
	}
	if in.FourCC != cfg.Input || in.Width != cfg.Width || in.Height < cfg.Height || len(in.Planes) != 1 || in.Planes[0].BytesPerLine < cfg.Width {
		return fmt.Errorf("v4l2m2m: %s does not take %s %dx%d in one plane (it offered %s %dx%d, %d planes)",
			cfg.Device, v4l2.FourCCString(cfg.Input), cfg.Width, cfg.Height, v4l2.FourCCString(in.FourCC), in.Width, in.Height, len(in.Planes))
	}
	if cf, err := dev.GetFormat(capQ); err != nil || cf.FourCC != cfg.Compressed {
		return fmt.Errorf("v4l2m2m: %s does not produce %s (%v)", cfg.Device, v4l2.FourCCString(cfg.Compressed), err)
	}
	e.in = in
	e.info.Input = in
	if err := e.configure(); err != nil {
		return err
	}
	if e.capb, err = dev.MapBuffers(capQ, cfg.Buffers); err != nil {
		return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
	}
	n := 0
	if cfg.Memory == v4l2.MemoryMMAP {
		if e.out, err = dev.MapBuffers(outQ, cfg.Buffers); err != nil {
			return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
		}
		n = len(e.out)
	} else if n, err = dev.RequestBuffers(outQ, v4l2.MemoryDMABUF, cfg.Buffers); err != nil || n == 0 {
		return fmt.Errorf("v4l2m2m: %s takes no DMABUF pictures (%d buffers, %v); use MMAP", cfg.Device, n, err)
	}
	e.outBusy, e.release, e.slotFD = make([]bool, n), make([]func(), n), make([]int, n)
	for i := range e.slotFD {
		e.slotFD[i] = -1
	}
	if err := dev.SubscribeEvent(v4l2.EventEOS); err != nil {
		e.info.Unsupported = append(e.info.Unsupported, "end-of-stream event (LAST buffer flag only)")
	}
	for _, b := range e.capb {
		if err := dev.Queue(b.Buffer); err != nil {
			return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
		}
	}
	for _, q := range []uint32{outQ, capQ} {
		if err := dev.StreamOn(q); err != nil {
			return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
		}
	}
	e.frames, e.pending, e.failed = 0, nil, false
	return nil
}

// configure sets the frame rate, the crop and the codec controls before
// streaming; what the driver lacks or refuses goes to Unsupported.
func (e *Encoder) configure() error {
	cfg, dev := e.cfg, e.dev
	unsupported := func(what string, err error) {
		e.info.Unsupported = append(e.info.Unsupported, fmt.Sprintf("%s (%s)", what, shortReason(err)))
	}
	num, den := fpsFraction(cfg.FPS)
	if _, _, err := dev.SetFrameInterval(v4l2.BufVideoOutputMPlane, num, den); err != nil {
		if !refused(err) {
			return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
		}
		unsupported("frame rate", err)
	}
	if e.in.Height != cfg.Height || e.in.Width != cfg.Width {
		if err := dev.SetCrop(v4l2.BufVideoOutput, cfg.Width, cfg.Height); err != nil {
			if !refused(err) {
				return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
			}
			unsupported(fmt.Sprintf("crop to %dx%d", cfg.Width, cfg.Height), err)
		}
	}
	every := int32(0x7fffffff) // key frames on request only
	if cfg.KeyFrameInterval > 0 {
		every = int32(max(1, cfg.KeyFrameInterval.Seconds()*cfg.FPS+0.5))
	}
	period := []int32{every}
	if cfg.KeyFrameInterval == 0 {
		period = nil // the driver's default
	}
	type setting struct {
		what   string
		id     uint32
		values []int32 // tried in order
	}
	var settings []setting
	if cfg.CBR {
		settings = append(settings, setting{"constant bitrate mode", v4l2.CIDBitrateMode, []int32{v4l2.BitrateModeCBR}})
	}
	if cfg.Compressed == v4l2.FourCCH264 {
		settings = append(settings,
			setting{"H.264 constrained baseline profile", v4l2.CIDH264Profile, []int32{v4l2.H264ProfileConstrainedBaseline, v4l2.H264ProfileBaseline}},
			setting{"H.264 level", v4l2.CIDH264Level, []int32{h264Level(cfg.Width, cfg.Height, cfg.FPS)}},
			setting{"parameter sets with the first frame", v4l2.CIDHeaderMode, []int32{v4l2.HeaderModeJoinedWith1stFrame}},
			setting{"SPS/PPS on every IDR", v4l2.CIDRepeatSeqHeader, []int32{1}},
			setting{"key-frame period", v4l2.CIDH264IPeriod, period})
	} else {
		settings = append(settings, setting{"key-frame period", v4l2.CIDGOPSize, period})
	}
	for _, s := range settings {
		if len(s.values) == 0 {
			continue
		}
		info, err := dev.QueryControl(s.id)
		if err != nil {
			if !refused(err) {
				return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
			}
			unsupported(s.what, err)
			continue
		}
		for i, v := range s.values {
			if info.Type == v4l2.CtrlTypeInteger {
				v = info.Clamp(v)
			}
			if err = dev.SetControl(s.id, v); err == nil {
				break
			}
			if !refused(err) {
				return fmt.Errorf("v4l2m2m: %w", trimPrefix(err))
			}
			if i == len(s.values)-1 {
				unsupported(s.what, err)
			}
		}
	}
	var err error
	e.rate, err = dev.QueryControl(v4l2.CIDBitrate)
	e.hasRate = err == nil
	if !e.hasRate {
		unsupported("bitrate", err)
	} else if cfg.BitRate > 0 {
		if err := e.setBitrate(cfg.BitRate); err != nil {
			return err
		}
	}
	_, err = dev.QueryControl(v4l2.CIDForceKeyFrame)
	e.hasKey = err == nil
	if !e.hasKey {
		unsupported("forced key frames", err)
	}
	return nil
}

func (e *Encoder) setBitrate(bps int) error {
	if !e.hasRate {
		return nil
	}
	if err := e.dev.SetControl(v4l2.CIDBitrate, e.rate.Clamp(int32(min(bps, 1<<31-1)))); err != nil {
		return fmt.Errorf("%w: setting bitrate %d bit/s: %w", ErrDevice, bps, trimPrefix(err))
	}
	e.cfg.BitRate = bps
	return nil
}

// refused tells a driver's "no such control / value / feature" from a
// device failure.
func refused(err error) bool {
	return errors.Is(err, v4l2.ErrNoControl) || errors.Is(err, errRange) || errors.Is(err, errInval) || errors.Is(err, errNotty)
}

// ForceKeyFrame makes the next frame an IDR (on a PLI or FIR).
func (e *Encoder) ForceKeyFrame() { e.keyReq.Store(true) }

// SetBitRate sets the target bitrate from the next frame on, within the
// driver's range (25 kb/s to 25 Mb/s on bcm2835-codec).
func (e *Encoder) SetBitRate(bps int) {
	if bps > 0 {
		e.bitrate.Store(int64(bps))
	}
}

// Encode encodes one picture (*image.YCbCr 4:2:0 is copied row by row
// into the driver's layout; other images are converted first) and returns
// the encoded frame. An empty frame with a nil error means the device has
// not finished it yet: it comes out of a later call. A picture of a new
// size restarts the encoder at that size. Errors wrap ErrDevice or
// ErrClosed.
func (e *Encoder) Encode(img image.Image) ([]byte, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.noteFailure(e.encode(img))
}

// noteFailure remembers a device failure, after which Close does not wait
// for a drain.
func (e *Encoder) noteFailure(frame []byte, key bool, err error) ([]byte, bool, error) {
	if errors.Is(err, ErrDevice) {
		e.failed = true
	}
	return frame, key, err
}

func (e *Encoder) encode(img image.Image) ([]byte, bool, error) {
	if e.closed {
		return nil, false, ErrClosed
	}
	if e.cfg.Memory != v4l2.MemoryMMAP {
		return nil, false, fmt.Errorf("v4l2m2m: Encode needs MMAP OUTPUT buffers; this encoder takes DMABUF (EncodeDMABUF)")
	}
	yc := asYCbCr420(img)
	if sz := yc.Rect.Size(); sz.X != e.cfg.Width || sz.Y != e.cfg.Height {
		if err := e.resize(sz.X, sz.Y); err != nil {
			return nil, false, err
		}
	}
	if err := e.applyRequests(); err != nil {
		return nil, false, err
	}
	i, err := e.freeOutput()
	if err != nil {
		return nil, false, err
	}
	b := e.out[i]
	n := CopyI420(b.Data[0], e.in.Planes[0].BytesPerLine, e.in.Height, yc)
	b.Planes[0].BytesUsed = n
	if err := e.queue(i, b.Buffer); err != nil {
		return nil, false, err
	}
	return e.collect()
}

// EncodeDMABUF encodes a picture in a dmabuf laid out as InputFormat
// says, without copying it; b.Release is called once the device is done
// with it (at the latest by Close). Errors wrap ErrDevice or ErrClosed.
func (e *Encoder) EncodeDMABUF(b DMABuf) ([]byte, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.noteFailure(e.encodeDMABUF(b))
}

func (e *Encoder) encodeDMABUF(b DMABuf) ([]byte, bool, error) {
	if e.closed {
		releaseDMABuf(b)
		return nil, false, ErrClosed
	}
	if e.cfg.Memory != v4l2.MemoryDMABUF {
		releaseDMABuf(b)
		return nil, false, errors.New("v4l2m2m: EncodeDMABUF needs Config.Memory = v4l2.MemoryDMABUF")
	}
	if err := e.applyRequests(); err != nil {
		releaseDMABuf(b)
		return nil, false, err
	}
	i, err := e.freeOutput()
	if err != nil {
		releaseDMABuf(b)
		return nil, false, err
	}
	// The same fd at the same index spares the driver a new mapping.
	for j, fd := range e.slotFD {
		if fd == b.FD && !e.outBusy[j] {
			i = j
			break
		}
	}
	size := e.in.Planes[0].SizeImage
	length, used := b.Length, b.BytesUsed
	if length <= 0 {
		length = size
	}
	if used <= 0 {
		used = min(size, length)
	}
	e.release[i], e.slotFD[i] = b.Release, b.FD
	buf := v4l2.Buffer{Index: i, Type: v4l2.BufVideoOutputMPlane, Memory: v4l2.MemoryDMABUF,
		Planes: []v4l2.Plane{{FD: b.FD, Length: length, BytesUsed: used}}}
	if err := e.queue(i, buf); err != nil {
		e.releaseSlot(i)
		return nil, false, err
	}
	return e.collect()
}

func releaseDMABuf(b DMABuf) {
	if b.Release != nil {
		b.Release()
	}
}

func (e *Encoder) releaseSlot(i int) {
	if r := e.release[i]; r != nil {
		e.release[i] = nil
		r()
	}
}

// applyRequests turns pending SetBitRate and ForceKeyFrame calls into
// controls.
func (e *Encoder) applyRequests() error {
	if bps := int(e.bitrate.Swap(0)); bps > 0 && bps != e.cfg.BitRate {
		if err := e.setBitrate(bps); err != nil {
			return err
		}
	}
	if e.keyReq.Swap(false) && e.hasKey {
		if err := e.dev.SetControl(v4l2.CIDForceKeyFrame, 1); err != nil {
			return fmt.Errorf("%w: forcing a key frame: %w", ErrDevice, trimPrefix(err))
		}
	}
	return nil
}

// freeOutput returns an OUTPUT buffer index the device is not using,
// waiting up to Timeout for one to come back.
func (e *Encoder) freeOutput() (int, error) {
	deadline := time.Now().Add(e.cfg.Timeout)
	for {
		if err := e.reclaimOutputs(); err != nil {
			return 0, err
		}
		for i, busy := range e.outBusy {
			if !busy {
				return i, nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, fmt.Errorf("%w: %s has held all %d pictures for %v without returning one; the encoder hung", ErrDevice, e.cfg.Device, len(e.outBusy), e.cfg.Timeout)
		}
		rev, err := e.dev.Wait(v4l2.PollOut, left)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
		}
		if rev == 0 {
			deadline = time.Now() // a fake answers at once: one more look, then give up
		}
	}
}

// reclaimOutputs dequeues every OUTPUT buffer the device is done with.
func (e *Encoder) reclaimOutputs() error {
	for {
		b, err := e.dev.Dequeue(v4l2.BufVideoOutputMPlane, e.cfg.Memory)
		if errors.Is(err, v4l2.ErrNotReady) || errors.Is(err, v4l2.ErrLastBuffer) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
		}
		if b.Index >= 0 && b.Index < len(e.outBusy) {
			e.outBusy[b.Index] = false
			e.releaseSlot(b.Index)
		}
	}
}

func (e *Encoder) queue(i int, b v4l2.Buffer) error {
	b.Field = fieldNone // drivers reject or guess V4L2_FIELD_ANY on OUTPUT
	b.Flags = 0
	b.Timestamp = time.Duration(float64(e.frames) * float64(time.Second) / e.cfg.FPS)
	if err := e.dev.Queue(b); err != nil {
		return fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
	}
	e.frames++
	e.outBusy[i] = true
	return nil
}

// collect returns the next encoded frame: it waits up to one frame
// interval while the device still has a free picture buffer (a pipelined
// encoder gives this picture back in a later call), and up to Timeout
// when it holds all of them.
func (e *Encoder) collect() ([]byte, bool, error) {
	if err := e.reclaimOutputs(); err != nil {
		return nil, false, err
	}
	wait := time.Duration(float64(time.Second) / e.cfg.FPS)
	full := e.allBusy()
	if full {
		wait = e.cfg.Timeout
	}
	deadline := time.Now().Add(wait)
	for {
		f, ok, err := e.dequeueFrame()
		if err != nil || ok {
			return f.Data, f.Key, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		rev, err := e.dev.Wait(v4l2.PollIn, left)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
		}
		if rev == 0 {
			break
		}
	}
	if full {
		return nil, false, fmt.Errorf("%w: %s returned no frame within %v while holding all %d pictures; the encoder hung", ErrDevice, e.cfg.Device, wait, len(e.outBusy))
	}
	return nil, false, nil
}

func (e *Encoder) allBusy() bool {
	for _, b := range e.outBusy {
		if !b {
			return false
		}
	}
	return true
}

// dequeueFrame takes one encoded frame if the device has one; a buffer of
// parameter sets only is kept for the frame that follows it.
func (e *Encoder) dequeueFrame() (Frame, bool, error) {
	for {
		b, err := e.dev.Dequeue(v4l2.BufVideoCaptureMPlane, v4l2.MemoryMMAP)
		if errors.Is(err, v4l2.ErrNotReady) || errors.Is(err, v4l2.ErrLastBuffer) {
			return Frame{}, false, nil
		}
		if err != nil {
			return Frame{}, false, fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
		}
		f, ok, err := e.take(b)
		if err != nil || ok {
			return f, ok, err
		}
	}
}

// take copies a dequeued CAPTURE buffer's frame and gives the buffer back.
func (e *Encoder) take(b v4l2.Buffer) (Frame, bool, error) {
	if b.Index < 0 || b.Index >= len(e.capb) || len(b.Planes) == 0 {
		return Frame{}, false, fmt.Errorf("%w: %s returned CAPTURE buffer %d of %d", ErrDevice, e.cfg.Device, b.Index, len(e.capb))
	}
	if b.Flags&v4l2.FlagError != 0 {
		b.Flags = 0
		e.dev.Queue(b)
		return Frame{}, false, fmt.Errorf("%w: %s flagged encoded frame %d as corrupt", ErrDevice, e.cfg.Device, b.Sequence)
	}
	p := b.Planes[0]
	data := e.capb[b.Index].Data[0]
	start, end := min(p.DataOffset, len(data)), min(p.BytesUsed, len(data))
	var out []byte
	if end > start {
		out = make([]byte, 0, len(e.pending)+end-start)
		out = append(append(out, e.pending...), data[start:end]...)
	}
	if b.Flags&v4l2.FlagLast == 0 {
		flags := b.Flags
		b.Flags = 0
		err := e.dev.Queue(b)
		b.Flags = flags
		if err != nil {
			return Frame{}, false, fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
		}
	}
	if len(out) == 0 {
		return Frame{}, false, nil
	}
	if e.cfg.Compressed == v4l2.FourCCH264 && !hasSlice(out) {
		e.pending = out // SPS/PPS in a buffer of their own
		return Frame{}, false, nil
	}
	e.pending = nil
	key := b.Flags&v4l2.FlagKeyFrame != 0
	if e.cfg.Compressed == v4l2.FourCCH264 {
		key = key || hasIDR(out)
	}
	return Frame{Data: out, Key: key}, true, nil
}

// Drain ends the stream: V4L2_ENC_CMD_STOP, then every frame still in the
// device until the buffer flagged LAST (or V4L2_EVENT_EOS). The encoder
// takes no more pictures afterwards; Close it.
func (e *Encoder) Drain() ([]Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	return e.drain()
}

func (e *Encoder) drain() ([]Frame, error) {
	if err := e.dev.EncoderCommand(v4l2.EncCmdStop); err != nil {
		if refused(err) {
			return nil, nil // a driver without ENCODER_CMD: nothing to wait for
		}
		return nil, fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
	}
	var frames []Frame
	eos := false
	deadline := time.Now().Add(e.cfg.Timeout)
	for {
		b, err := e.dev.Dequeue(v4l2.BufVideoCaptureMPlane, v4l2.MemoryMMAP)
		switch {
		case errors.Is(err, v4l2.ErrLastBuffer):
			return frames, nil
		case errors.Is(err, v4l2.ErrNotReady) && eos:
			return frames, nil // the event came after the last buffer
		case errors.Is(err, v4l2.ErrNotReady):
			left := time.Until(deadline)
			if left <= 0 {
				return frames, fmt.Errorf("%w: %s did not finish draining within %v", ErrDevice, e.cfg.Device, e.cfg.Timeout)
			}
			rev, err := e.dev.Wait(v4l2.PollIn|v4l2.PollPri, left)
			if err != nil {
				return frames, fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
			}
			if rev&v4l2.PollPri != 0 {
				ev, err := e.dev.DequeueEvent()
				eos = err == nil && ev.Type == v4l2.EventEOS
			}
			if rev == 0 {
				deadline = time.Now()
			}
			continue
		case err != nil:
			return frames, fmt.Errorf("%w: %w", ErrDevice, trimPrefix(err))
		}
		last := b.Flags&v4l2.FlagLast != 0
		f, ok, err := e.take(b)
		if err != nil {
			return frames, err
		}
		if ok {
			frames = append(frames, f)
		}
		if last {
			return frames, nil
		}
	}
}

// resize restarts the encoder at a new picture size, with a key frame.
func (e *Encoder) resize(w, h int) error {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("v4l2m2m: picture size %dx%d must be positive and even", w, h)
	}
	e.drain()
	e.teardown()
	e.cfg.Width, e.cfg.Height = w, h
	if err := e.start(); err != nil {
		e.closed = true
		return fmt.Errorf("%w: restarting at %dx%d: %w", ErrDevice, w, h, err)
	}
	return nil
}

// Close drains the device (the frames still in it are dropped), stops
// both queues, unmaps and frees the buffers and closes the node. It is
// idempotent.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var err error
	if !e.failed {
		_, err = e.drain()
	}
	return errors.Join(err, e.teardown())
}

// teardown stops and frees whatever start set up.
func (e *Encoder) teardown() error {
	if e.dev == nil {
		return nil
	}
	var errs []error
	for _, q := range []uint32{v4l2.BufVideoOutputMPlane, v4l2.BufVideoCaptureMPlane} {
		if err := e.dev.StreamOff(q); err != nil && !refused(err) {
			errs = append(errs, err)
		}
	}
	for i := range e.release {
		e.releaseSlot(i)
	}
	if e.capb != nil {
		errs = append(errs, e.dev.UnmapBuffers(v4l2.BufVideoCaptureMPlane, e.capb))
	}
	if e.out != nil {
		errs = append(errs, e.dev.UnmapBuffers(v4l2.BufVideoOutputMPlane, e.out))
	} else if e.outBusy != nil {
		_, err := e.dev.RequestBuffers(v4l2.BufVideoOutputMPlane, v4l2.MemoryDMABUF, 0)
		errs = append(errs, err)
	}
	errs = append(errs, e.dev.Close())
	e.dev, e.capb, e.out, e.outBusy, e.release, e.slotFD = nil, nil, nil, nil, nil, nil
	return errors.Join(errs...)
}

// CopyI420 copies a 4:2:0 picture into a YU12 buffer whose rows are
// bytesPerLine apart (chroma rows half that) and whose planes are height
// rows tall (the driver's aligned height), and returns the bytes used.
// Rows past the picture repeat its last row, so an encoder that codes the
// aligned height sees no garbage.
func CopyI420(dst []byte, bytesPerLine, height int, img *image.YCbCr) int {
	r := img.Rect
	w, h := r.Dx(), r.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	cbpl, cheight := bytesPerLine/2, height/2
	ySize, cSize := bytesPerLine*height, cbpl*cheight
	if len(dst) < ySize+2*cSize || w > bytesPerLine || h > height {
		return 0
	}
	copyPlane(dst[:ySize], bytesPerLine, height, img.Y[img.YOffset(r.Min.X, r.Min.Y):], img.YStride, w, h)
	cOff := img.COffset(r.Min.X, r.Min.Y)
	copyPlane(dst[ySize:ySize+cSize], cbpl, cheight, img.Cb[cOff:], img.CStride, cw, ch)
	copyPlane(dst[ySize+cSize:ySize+2*cSize], cbpl, cheight, img.Cr[cOff:], img.CStride, cw, ch)
	return ySize + 2*cSize
}

func copyPlane(dst []byte, dstStride, dstRows int, src []byte, srcStride, w, h int) {
	if dstStride == srcStride && len(src) >= h*srcStride {
		copy(dst, src[:h*srcStride]) // one block when the strides agree
	} else {
		for y := range h {
			copy(dst[y*dstStride:y*dstStride+w], src[y*srcStride:])
		}
	}
	last := dst[(h-1)*dstStride:][:dstStride]
	for y := h; y < dstRows; y++ {
		copy(dst[y*dstStride:], last)
	}
}

// asYCbCr420 returns img as 4:2:0 YCbCr, converting other images (slowly:
// cameras give YCbCr already).
func asYCbCr420(img image.Image) *image.YCbCr {
	if yc, ok := img.(*image.YCbCr); ok && yc.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		return yc
	}
	r := img.Bounds()
	out := image.NewYCbCr(image.Rect(0, 0, r.Dx(), r.Dy()), image.YCbCrSubsampleRatio420)
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			c := color.YCbCrModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.YCbCr)
			out.Y[out.YOffset(x, y)] = c.Y
			if x%2 == 0 && y%2 == 0 {
				out.Cb[out.COffset(x, y)], out.Cr[out.COffset(x, y)] = c.Cb, c.Cr
			}
		}
	}
	return out
}

// fpsFraction is the time per frame for S_PARM, e.g. 1/30 or 1001/30000.
func fpsFraction(fps float64) (uint32, uint32) {
	if fps == float64(int(fps)) {
		return 1, uint32(fps)
	}
	return 1000, uint32(fps*1000 + 0.5)
}

// h264Level is the lowest level for the size and rate, and at least 3.1
// (the profile-level-id 42e01f roomd offers).
func h264Level(w, h int, fps float64) int32 {
	mbs := ((w + 15) / 16) * ((h + 15) / 16)
	rate := float64(mbs) * fps
	switch {
	case mbs <= 3600 && rate <= 108000:
		return v4l2.H264Level31
	case mbs <= 5120 && rate <= 216000:
		return v4l2.H264Level32
	case mbs <= 8192 && rate <= 245760:
		return v4l2.H264Level40
	default:
		return v4l2.H264Level42
	}
}

// hasSlice reports whether an Annex B buffer holds a coded slice (NAL
// types 1 to 5) rather than parameter sets only.
func hasSlice(au []byte) bool { return nalTypes(au)&(1<<1|1<<2|1<<3|1<<4|1<<5) != 0 }

// hasIDR reports an IDR slice.
func hasIDR(au []byte) bool { return nalTypes(au)&(1<<5) != 0 }

// nalTypes is a bit set of the NAL unit types after each start code.
func nalTypes(au []byte) uint32 {
	var set uint32
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			set |= 1 << (au[i+3] & 0x1f)
			i += 2
		}
	}
	return set
}
