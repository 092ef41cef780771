package hwcheck

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/codec/v4l2m2m"
)

// EncoderCheck configures CheckEncoder.
type EncoderCheck struct {
	// Camera is the V4L2 camera to capture from, e.g. /dev/video0. It must
	// deliver single-planar YU12 (I420) at Width×Height.
	Camera string
	// Encoder is the memory-to-memory encoder's node; "" means the first
	// one whose coded queue offers Compressed and whose picture queue
	// takes YU12.
	Encoder string
	// Compressed is the coded format; 0 means H.264. vicodec makes FWHT.
	Compressed uint32
	// Width, Height and FPS of the pictures; 0 means 640×480 at 30 fps
	// (vicodec's and bcm2835-codec's row and height alignment leave that
	// size as a camera gives it, so DMABUF works).
	Width, Height int
	FPS           float64
	// Frames is how many camera frames to encode; 0 means 30.
	Frames int
	// BitRate asks the encoder for this target (bit/s); 0 means 500 kbit/s.
	// A driver without the control lists it in Unsupported.
	BitRate int
	// Memory is how pictures reach the encoder: v4l2.MemoryDMABUF hands it
	// the camera's exported buffers (zero copy) when the formats match,
	// else copies; v4l2.MemoryMMAP always copies. 0 means DMABUF.
	Memory v4l2.Memory
	// Timeout bounds each wait for a camera frame; 0 means 5 s.
	Timeout time.Duration
}

func (c EncoderCheck) withDefaults() EncoderCheck {
	if c.Compressed == 0 {
		c.Compressed = v4l2.FourCCH264
	}
	if c.Width == 0 || c.Height == 0 {
		c.Width, c.Height = 640, 480
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.Frames == 0 {
		c.Frames = 30
	}
	if c.BitRate == 0 {
		c.BitRate = 500_000
	}
	if c.Memory == 0 {
		c.Memory = v4l2.MemoryDMABUF
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	return c
}

// EncoderReport is what CheckEncoder saw.
type EncoderReport struct {
	Camera       string `json:"camera"`
	CameraFormat string `json:"camera_format"`
	Encoder      string `json:"encoder"`
	Compressed   string `json:"compressed"`
	// Memory is "dmabuf" when the camera's buffers went to the encoder
	// without a copy, "mmap" when each picture was copied; MemoryNote says
	// why DMABUF was not used when it was asked for.
	Memory     string `json:"memory"`
	MemoryNote string `json:"memory_note,omitempty"`
	FramesIn   int    `json:"frames_in"`
	FramesOut  int    `json:"frames_out"`
	Bytes      int    `json:"bytes"`
	KeyFrames  int    `json:"key_frames"`
	// FirstBytes is the start of the first encoded frame, in hex (an FWHT
	// frame starts with its header's magic, H.264 with a start code).
	FirstBytes string `json:"first_bytes"`
	// Unsupported lists the settings the encoder's driver lacks or refused.
	Unsupported []string `json:"unsupported"`
	// Drained is how many frames the drain (V4L2_ENC_CMD_STOP) gave back;
	// Drain is "ok" or the drain's error.
	Drained int    `json:"drained"`
	Drain   string `json:"drain"`
	Elapsed string `json:"elapsed"`
	// Error is the first failure; the counts say how far it got.
	Error string `json:"error,omitempty"`
}

// CheckEncoder captures frames from a camera and encodes them through a
// V4L2 memory-to-memory encoder with roomd's encoder (package v4l2m2m),
// then drains it. A failure is in the report's Error (and returned), with
// the counts of what worked before it.
func CheckEncoder(c EncoderCheck) (EncoderReport, error) {
	c = c.withDefaults()
	rep := EncoderReport{Camera: c.Camera, Compressed: v4l2.FourCCString(c.Compressed), Unsupported: []string{}}
	start := time.Now()
	err := checkEncoder(c, &rep)
	rep.Elapsed = time.Since(start).Round(time.Millisecond).String()
	if err != nil {
		rep.Error = err.Error()
	}
	return rep, err
}

func checkEncoder(c EncoderCheck, rep *EncoderReport) error {
	if c.Encoder == "" {
		p, err := FindEncoder("", c.Compressed)
		if err != nil {
			return err
		}
		c.Encoder = p
	}
	rep.Encoder = c.Encoder
	cam, err := openCamera(c)
	if err != nil {
		return err
	}
	defer cam.close()
	rep.Camera = fmt.Sprintf("%s (%s)", c.Camera, cam.dev.Capabilities().Card)
	rep.CameraFormat = fmt.Sprintf("%s %dx%d bytesperline %d", v4l2.FourCCString(cam.format.FourCC), cam.format.Width, cam.format.Height, cam.format.Planes[0].BytesPerLine)

	cfg := v4l2m2m.Config{Device: c.Encoder, Width: c.Width, Height: c.Height, FPS: c.FPS, BitRate: c.BitRate,
		Compressed: c.Compressed, Memory: c.Memory, CBR: true, Timeout: c.Timeout}
	enc, err := v4l2m2m.New(cfg)
	if err == nil && c.Memory == v4l2.MemoryDMABUF {
		if note := sameLayout(cam.format, enc.InputFormat()); note != "" {
			rep.MemoryNote = note
			enc.Close()
			cfg.Memory = v4l2.MemoryMMAP
			enc, err = v4l2m2m.New(cfg)
		} else if xerr := cam.export(); xerr != nil {
			rep.MemoryNote = xerr.Error()
			enc.Close()
			cfg.Memory = v4l2.MemoryMMAP
			enc, err = v4l2m2m.New(cfg)
		}
	}
	if err != nil {
		return fmt.Errorf("hwcheck: %w", err)
	}
	defer enc.Close()
	info := enc.Info()
	rep.Encoder = fmt.Sprintf("%s (%s)", info.Device, info.Card)
	rep.Unsupported = append(rep.Unsupported, info.Unsupported...)
	rep.Memory = "mmap"
	if cfg.Memory == v4l2.MemoryDMABUF {
		rep.Memory = "dmabuf"
	}
	count := func(frame []byte, key bool) {
		if len(frame) == 0 {
			return
		}
		if rep.FramesOut == 0 {
			rep.FirstBytes = hex.EncodeToString(frame[:min(8, len(frame))])
		}
		rep.FramesOut++
		rep.Bytes += len(frame)
		if key || (c.Compressed == fourCCFWHT && fwhtIntra(frame)) {
			rep.KeyFrames++
		}
	}
	if err := cam.start(); err != nil {
		return err
	}
	// The encoder hands a dmabuf back (Release) in a later call or on
	// Close; the camera buffer is queued again then.
	var requeue error
	for rep.FramesIn < c.Frames {
		b, err := cam.next(c.Timeout)
		if err != nil {
			return err
		}
		rep.FramesIn++
		var frame []byte
		var key bool
		if cfg.Memory == v4l2.MemoryDMABUF {
			frame, key, err = enc.EncodeDMABUF(v4l2m2m.DMABuf{FD: cam.fds[b.Index], BytesUsed: b.Planes[0].BytesUsed,
				Release: func() {
					if qerr := cam.dev.Queue(b); qerr != nil && requeue == nil {
						requeue = fmt.Errorf("hwcheck: requeueing camera buffer %d: %w", b.Index, qerr)
					}
				}})
			if err == nil {
				err = requeue
			}
		} else {
			frame, key, err = enc.Encode(cam.picture(b))
			if qerr := cam.dev.Queue(b); err == nil && qerr != nil {
				err = fmt.Errorf("hwcheck: requeueing camera buffer %d: %w", b.Index, qerr)
			}
		}
		if err != nil {
			return err
		}
		count(frame, key)
	}
	frames, err := enc.Drain()
	rep.Drained = len(frames)
	for _, f := range frames {
		count(f.Data, f.Key)
	}
	if err != nil {
		rep.Drain = err.Error()
		return err
	}
	rep.Drain = "ok"
	if rep.FramesOut != rep.FramesIn {
		return fmt.Errorf("hwcheck: %d pictures in, %d frames out after the drain", rep.FramesIn, rep.FramesOut)
	}
	return nil
}

// fourCCFWHT is vicodec's coded format.
const fourCCFWHT = 'F' | 'W'<<8 | 'H'<<16 | 'T'<<24

// fwhtIntra reports an FWHT frame coded without reference to another
// (V4L2_FWHT_FL_I_FRAME in its header's big-endian flags at byte 20):
// vicodec does not flag key frames on its buffers.
func fwhtIntra(frame []byte) bool {
	return len(frame) >= 24 && binary.BigEndian.Uint32(frame[20:24])&(1<<10) != 0
}

// sameLayout says why a camera buffer cannot be the encoder's picture as
// is, or "" if it can.
func sameLayout(cam, enc v4l2.PixFormat) string {
	if cam.FourCC != enc.FourCC || cam.Width != enc.Width || cam.Height != enc.Height ||
		len(enc.Planes) != 1 || cam.Planes[0].BytesPerLine != enc.Planes[0].BytesPerLine {
		bpl := 0
		if len(enc.Planes) > 0 {
			bpl = enc.Planes[0].BytesPerLine
		}
		return fmt.Sprintf("camera gives %s %dx%d bytesperline %d, encoder takes %s %dx%d bytesperline %d: copying",
			v4l2.FourCCString(cam.FourCC), cam.Width, cam.Height, cam.Planes[0].BytesPerLine,
			v4l2.FourCCString(enc.FourCC), enc.Width, enc.Height, bpl)
	}
	return ""
}

// FindEncoder returns the first memory-to-memory node under devDir ("" is
// /dev) whose coded queue offers compressed and whose picture queue takes
// YU12.
func FindEncoder(devDir string, compressed uint32) (string, error) {
	for _, n := range Probe(devDir).Nodes {
		if n.Role == RoleEncoder && hasFormat(n.Capture, compressed) && hasFormat(n.Output, v4l2.FourCCYU12) {
			return n.Path, nil
		}
	}
	return "", fmt.Errorf("hwcheck: no memory-to-memory encoder from YU12 to %s found; run roomd --probe to see the devices", v4l2.FourCCString(compressed))
}

func hasFormat(list []string, fourcc uint32) bool {
	want := v4l2.FourCCString(fourcc)
	for _, f := range list {
		if f == want || f == want+" (compressed)" {
			return true
		}
	}
	return false
}

// camera is a single-planar V4L2 capture stream with MMAP buffers.
type camera struct {
	dev       *v4l2.Device
	format    v4l2.PixFormat
	bufs      []v4l2.MappedBuffer
	fds       []int // exported dmabufs, one per buffer
	streaming bool
}

func openCamera(c EncoderCheck) (*camera, error) {
	dev, err := v4l2.Open(c.Camera)
	if err != nil {
		return nil, fmt.Errorf("hwcheck: camera: %w", err)
	}
	cam := &camera{dev: dev}
	fail := func(err error) (*camera, error) {
		cam.close()
		return nil, fmt.Errorf("hwcheck: camera %s: %w", c.Camera, err)
	}
	if !dev.Capabilities().IsSinglePlanarCamera() {
		return fail(fmt.Errorf("it is %s, not a single-planar camera", dev.Capabilities().Describe()))
	}
	f, err := dev.SetFormat(v4l2.BufVideoCapture, v4l2.PixFormat{Width: c.Width, Height: c.Height, FourCC: v4l2.FourCCYU12})
	if err != nil {
		return fail(err)
	}
	if f.FourCC != v4l2.FourCCYU12 || f.Width != c.Width || f.Height != c.Height || len(f.Planes) != 1 {
		return fail(fmt.Errorf("it gives %s %dx%d, not YU12 %dx%d", v4l2.FourCCString(f.FourCC), f.Width, f.Height, c.Width, c.Height))
	}
	cam.format = f
	num, den := uint32(1000), uint32(c.FPS*1000+0.5)
	if _, _, err := dev.SetFrameInterval(v4l2.BufVideoCapture, num, den); err != nil {
		return fail(err)
	}
	if cam.bufs, err = dev.MapBuffers(v4l2.BufVideoCapture, 6); err != nil {
		return fail(err)
	}
	return cam, nil
}

// export makes a dmabuf of every buffer (VIDIOC_EXPBUF).
func (c *camera) export() error {
	for i := range c.bufs {
		fd, err := c.dev.ExportBuffer(v4l2.BufVideoCapture, i, 0)
		if err != nil {
			return fmt.Errorf("camera buffers cannot be exported (%v): copying", err)
		}
		c.fds = append(c.fds, fd)
	}
	return nil
}

func (c *camera) start() error {
	for _, b := range c.bufs {
		if err := c.dev.Queue(b.Buffer); err != nil {
			return fmt.Errorf("hwcheck: camera: %w", err)
		}
	}
	if err := c.dev.StreamOn(v4l2.BufVideoCapture); err != nil {
		return fmt.Errorf("hwcheck: camera: %w", err)
	}
	c.streaming = true
	return nil
}

// next waits for the next filled buffer; the caller queues it again.
func (c *camera) next(timeout time.Duration) (v4l2.Buffer, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, err := c.dev.Dequeue(v4l2.BufVideoCapture, v4l2.MemoryMMAP)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, v4l2.ErrNotReady) {
			return v4l2.Buffer{}, fmt.Errorf("hwcheck: camera: %w", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return v4l2.Buffer{}, fmt.Errorf("hwcheck: camera %s gave no frame within %s", c.dev.Path(), timeout)
		}
		if _, err := c.dev.Wait(v4l2.PollIn, left); err != nil {
			return v4l2.Buffer{}, fmt.Errorf("hwcheck: camera: %w", err)
		}
	}
}

// picture is buffer b's I420 picture (no copy; valid until b is queued).
func (c *camera) picture(b v4l2.Buffer) *image.YCbCr {
	data := c.bufs[b.Index].Data[0]
	bpl, w, h := c.format.Planes[0].BytesPerLine, c.format.Width, c.format.Height
	ySize, cSize := bpl*h, (bpl/2)*(h/2)
	return &image.YCbCr{
		Y: data[:ySize], Cb: data[ySize : ySize+cSize], Cr: data[ySize+cSize : ySize+2*cSize],
		YStride: bpl, CStride: bpl / 2, SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect: image.Rect(0, 0, w, h),
	}
}

func (c *camera) close() {
	if c.streaming {
		c.dev.StreamOff(v4l2.BufVideoCapture)
	}
	for _, fd := range c.fds {
		unix.Close(fd)
	}
	if c.bufs != nil {
		c.dev.UnmapBuffers(v4l2.BufVideoCapture, c.bufs)
	}
	c.dev.Close()
}
