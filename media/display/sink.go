package display

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sink shows composed pictures.
type Sink interface {
	Show(img *image.RGBA) error
	Close() error
}

// Run composes whenever the compositor has something new, at most fps
// times a second, and hands every new picture to the sinks until ctx ends
// (except the framebuffer the compositor draws on, which has it already).
// Nothing changes, nothing is drawn. A failing sink is reported once
// through onErr and skipped after. One Run per compositor.
func Run(ctx context.Context, c *Compositor, fps int, onErr func(Sink, error), sinks ...Sink) {
	if fps <= 0 {
		fps = 30
	}
	interval := time.Second / time.Duration(fps)
	pause := time.NewTimer(0)
	defer pause.Stop()
	bad := make([]bool, len(sinks))
	var shown uint64
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.Changed():
		}
		// A screen shows at most fps pictures a second; frames that come
		// faster are drawn together.
		if wait := interval - time.Since(last); wait > 0 {
			pause.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-pause.C:
			}
		}
		last = time.Now()
		v := c.draw()
		if v == shown {
			continue
		}
		shown = v
		var img *image.RGBA
		for i, s := range sinks {
			if bad[i] || c.drawsOn(s) { // drawn in place already
				continue
			}
			if img == nil {
				img, _ = c.Compose()
			}
			if err := s.Show(img); err != nil {
				bad[i] = true
				if onErr != nil {
					onErr(s, err)
				}
			}
		}
	}
}

// SnapshotHandler serves the current screen as a PNG (the simulated board's
// stand-in for an HDMI display).
func SnapshotHandler(c *Compositor) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		img, v := c.Compose()
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Frame-Version", fmt.Sprint(v))
		png.Encode(w, img)
	})
}

// Framebuffer writes pictures to a Linux framebuffer device (/dev/fb0) in
// its native pixel format (32-bit XRGB or 16-bit RGB565). A framebuffer
// that could be mapped into memory is drawn in place, without a system
// call; a 32-bit one can take the compositor's drawing directly (see
// Compositor.DrawOn).
type Framebuffer struct {
	f       io.WriterAt
	closer  io.Closer
	w, h    int
	bpp     int
	stride  int
	mem     []byte // the mapped screen, or nil: written with WriteAt
	rows    int    // rows converted and written at a time
	buf     []byte // that many rows in the device's format and stride
	tmp     []byte // RGB565 only: XRGB on the way
	scratch *image.RGBA
}

// fbVarScreeninfo mirrors the first fields of struct fb_var_screeninfo.
type fbVarScreeninfo struct {
	Xres, Yres, XresVirtual, YresVirtual, Xoffset, Yoffset, BitsPerPixel uint32
	_                                                                    [33]uint32
}

// fbFixScreeninfo mirrors struct fb_fix_screeninfo on 64-bit Linux.
type fbFixScreeninfo struct {
	ID           [16]byte
	SmemStart    uint64
	SmemLen      uint32
	Type         uint32
	TypeAux      uint32
	Visual       uint32
	Xpanstep     uint16
	Ypanstep     uint16
	Ywrapstep    uint16
	_            uint16
	LineLength   uint32
	MmioStart    uint64
	MmioLen      uint32
	Accel        uint32
	Capabilities uint16
	_            [2]uint16
}

const (
	fbioGetVScreeninfo = 0x4600
	fbioGetFScreeninfo = 0x4602
)

// OpenFramebuffer opens a framebuffer device and reads its geometry.
func OpenFramebuffer(path string) (*Framebuffer, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("display: %w (is there an HDMI framebuffer, and is roomd in the video group?)", err)
	}
	var v fbVarScreeninfo
	var fx fbFixScreeninfo
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fbioGetVScreeninfo, uintptr(unsafe.Pointer(&v))); e != 0 {
		f.Close()
		return nil, fmt.Errorf("display: %s is not a framebuffer: %w", path, e)
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fbioGetFScreeninfo, uintptr(unsafe.Pointer(&fx))); e != 0 {
		f.Close()
		return nil, fmt.Errorf("display: %s: %w", path, e)
	}
	fb, err := NewFramebuffer(f, int(v.Xres), int(v.Yres), int(v.BitsPerPixel), int(fx.LineLength))
	if err != nil {
		f.Close()
		return nil, err
	}
	fb.closer = f
	fb.mmap(f)
	return fb, nil
}

// mmap maps the visible screen of f; on failure the framebuffer is
// written with WriteAt instead.
func (fb *Framebuffer) mmap(f *os.File) {
	mem, err := unix.Mmap(int(f.Fd()), 0, (fb.h-1)*fb.stride+fb.w*fb.bpp/8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err == nil {
		fb.mem = mem
	}
}

// NewFramebuffer writes to w as a framebuffer of the given geometry.
func NewFramebuffer(w io.WriterAt, width, height, bpp, stride int) (*Framebuffer, error) {
	if bpp != 32 && bpp != 16 {
		return nil, fmt.Errorf("display: %d bits per pixel not supported (32 or 16)", bpp)
	}
	if width <= 0 || height <= 0 || stride < width*bpp/8 {
		return nil, fmt.Errorf("display: bad framebuffer geometry %dx%d stride %d", width, height, stride)
	}
	// A band of rows at a time keeps the buffer small (a whole 720p
	// screen would be 3.5 MiB) and the system calls few.
	rows := min(height, max(1, fbBand/stride))
	return &Framebuffer{f: w, w: width, h: height, bpp: bpp, stride: stride, rows: rows}, nil
}

// CreateFramebufferFile makes a regular file that stands for a width×height
// XRGB8888 framebuffer (the simulated board's screen, and a benchmark's),
// mapped as the device's is: pictures take exactly the device's path.
func CreateFramebufferFile(path string, width, height int) (*Framebuffer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("display: %w", err)
	}
	fb, err := NewFramebuffer(f, width, height, 32, width*4)
	if err == nil {
		err = f.Truncate(int64(width * 4 * height))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("display: %w", err)
	}
	fb.closer = f
	fb.mmap(f)
	return fb, nil
}

// canvas returns the mapped screen as a raw 32-bit canvas (B, G, R, X
// bytes), or nil when it cannot be drawn on directly.
func (fb *Framebuffer) canvas() *image.RGBA {
	if fb.mem == nil || fb.bpp != 32 {
		return nil
	}
	return &image.RGBA{Pix: fb.mem, Stride: fb.stride, Rect: image.Rect(0, 0, fb.w, fb.h)}
}

// Size is the screen's size in pixels.
func (fb *Framebuffer) Size() (int, int) { return fb.w, fb.h }

// Show writes img, scaled to the screen if its size differs.
func (fb *Framebuffer) Show(img *image.RGBA) error {
	src := img
	if img.Bounds().Dx() != fb.w || img.Bounds().Dy() != fb.h {
		if fb.scratch == nil {
			fb.scratch = image.NewRGBA(image.Rect(0, 0, fb.w, fb.h))
		}
		scale(fb.scratch, img)
		src = fb.scratch
	}
	if fb.mem != nil && fb.bpp == 32 {
		rgbaToXRGB(fb.mem, fb.stride, src)
		return nil
	}
	if fb.bpp == 16 && fb.tmp == nil {
		fb.tmp = make([]byte, fb.w*fb.rows*4)
	}
	if fb.mem == nil && fb.buf == nil {
		fb.buf = make([]byte, (fb.rows-1)*fb.stride+fb.w*fb.bpp/8)
	}
	for y := 0; y < fb.h; y += fb.rows {
		band := src.SubImage(image.Rect(0, y, fb.w, min(y+fb.rows, fb.h))).(*image.RGBA)
		n := band.Rect.Dy()
		out := fb.buf
		if fb.mem != nil {
			out = fb.mem[y*fb.stride:]
		}
		if fb.bpp == 32 {
			rgbaToXRGB(out, fb.stride, band)
		} else {
			rgbaToRGB565(out, fb.stride, band, fb.tmp)
		}
		if fb.mem != nil {
			continue
		}
		if _, err := fb.f.WriteAt(fb.buf[:(n-1)*fb.stride+fb.w*fb.bpp/8], int64(y*fb.stride)); err != nil {
			return fmt.Errorf("display: writing the framebuffer: %w", err)
		}
	}
	return nil
}

// fbBand is about how many bytes Framebuffer.Show converts and writes at
// a time.
const fbBand = 256 << 10

// Close unmaps and closes the device.
func (fb *Framebuffer) Close() error {
	if fb.mem != nil {
		unix.Munmap(fb.mem)
		fb.mem = nil
	}
	if fb.closer != nil {
		return fb.closer.Close()
	}
	return nil
}

// Recorder writes every picture as a frame of a Y4M video (4:2:0).
type Recorder struct {
	w       *bufio.Writer
	c       io.Closer
	width   int
	h       int
	buf     []byte
	hdr     bool
	fps     int
	scratch *image.RGBA
}

// NewRecorder records to path at the given size and nominal frame rate.
func NewRecorder(path string, width, height, fps int) (*Recorder, error) {
	if width%2 != 0 || height%2 != 0 {
		return nil, fmt.Errorf("display: recording needs even dimensions, not %dx%d", width, height)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("display: %w", err)
	}
	return &Recorder{w: bufio.NewWriterSize(f, 1<<20), c: f, width: width, h: height, fps: fps,
		buf: make([]byte, width*height*3/2)}, nil
}

// Show appends one frame.
func (r *Recorder) Show(img *image.RGBA) error {
	if !r.hdr {
		fmt.Fprintf(r.w, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420\n", r.width, r.h, r.fps)
		r.hdr = true
	}
	src := img
	if img.Bounds().Dx() != r.width || img.Bounds().Dy() != r.h {
		if r.scratch == nil {
			r.scratch = image.NewRGBA(image.Rect(0, 0, r.width, r.h))
		}
		scale(r.scratch, img)
		src = r.scratch
	}
	rgbaToI420(src, r.buf, r.width, r.h)
	r.w.WriteString("FRAME\n")
	_, err := r.w.Write(r.buf)
	return err
}

// Close flushes and closes the file.
func (r *Recorder) Close() error {
	err := r.w.Flush()
	if cerr := r.c.Close(); err == nil {
		err = cerr
	}
	return err
}
