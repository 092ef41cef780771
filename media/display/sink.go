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

// Run composes at fps and hands every new picture to the sinks until ctx
// ends. A failing sink is reported once through onErr and skipped after.
func Run(ctx context.Context, c *Compositor, fps int, onErr func(Sink, error), sinks ...Sink) {
	if fps <= 0 {
		fps = 30
	}
	t := time.NewTicker(time.Second / time.Duration(fps))
	defer t.Stop()
	bad := make([]bool, len(sinks))
	var shown uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		img, v := c.Compose()
		if v == shown {
			continue
		}
		shown = v
		for i, s := range sinks {
			if bad[i] {
				continue
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
// its native pixel format (32-bit XRGB or 16-bit RGB565).
type Framebuffer struct {
	f       io.WriterAt
	closer  io.Closer
	w, h    int
	bpp     int
	stride  int
	row     []byte
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
	return fb, nil
}

// NewFramebuffer writes to w as a framebuffer of the given geometry.
func NewFramebuffer(w io.WriterAt, width, height, bpp, stride int) (*Framebuffer, error) {
	if bpp != 32 && bpp != 16 {
		return nil, fmt.Errorf("display: %d bits per pixel not supported (32 or 16)", bpp)
	}
	if width <= 0 || height <= 0 || stride < width*bpp/8 {
		return nil, fmt.Errorf("display: bad framebuffer geometry %dx%d stride %d", width, height, stride)
	}
	return &Framebuffer{f: w, w: width, h: height, bpp: bpp, stride: stride, row: make([]byte, width*bpp/8),
		scratch: image.NewRGBA(image.Rect(0, 0, width, height))}, nil
}

// Size is the screen's size in pixels.
func (fb *Framebuffer) Size() (int, int) { return fb.w, fb.h }

// Show writes img, scaled to the screen if its size differs.
func (fb *Framebuffer) Show(img *image.RGBA) error {
	src := img
	if img.Bounds().Dx() != fb.w || img.Bounds().Dy() != fb.h {
		scale(fb.scratch, img)
		src = fb.scratch
	}
	for y := 0; y < fb.h; y++ {
		p := src.Pix[y*src.Stride : y*src.Stride+fb.w*4]
		if fb.bpp == 32 {
			for x := 0; x < fb.w; x++ {
				fb.row[x*4+0], fb.row[x*4+1], fb.row[x*4+2], fb.row[x*4+3] = p[x*4+2], p[x*4+1], p[x*4+0], 0xff
			}
		} else {
			for x := 0; x < fb.w; x++ {
				r, g, b := uint16(p[x*4]), uint16(p[x*4+1]), uint16(p[x*4+2])
				v := (r>>3)<<11 | (g>>2)<<5 | b>>3
				fb.row[x*2], fb.row[x*2+1] = byte(v), byte(v>>8)
			}
		}
		if _, err := fb.f.WriteAt(fb.row, int64(y*fb.stride)); err != nil {
			return fmt.Errorf("display: writing the framebuffer: %w", err)
		}
	}
	return nil
}

// Close closes the device.
func (fb *Framebuffer) Close() error {
	if fb.closer != nil {
		return fb.closer.Close()
	}
	return nil
}

// Recorder writes every picture as a frame of a Y4M video (4:2:0).
type Recorder struct {
	w     *bufio.Writer
	c     io.Closer
	width int
	h     int
	buf   []byte
	hdr   bool
	fps   int
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
		dst := image.NewRGBA(image.Rect(0, 0, r.width, r.h))
		scale(dst, img)
		src = dst
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

func rgbaToI420(img *image.RGBA, out []byte, w, h int) {
	ys, us, vs := out[:w*h], out[w*h:w*h+w*h/4], out[w*h+w*h/4:]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*img.Stride + x*4
			r, g, b := int(img.Pix[i]), int(img.Pix[i+1]), int(img.Pix[i+2])
			ys[y*w+x] = byte((66*r+129*g+25*b+128)>>8 + 16)
			if y%2 == 0 && x%2 == 0 {
				us[(y/2)*(w/2)+x/2] = byte((-38*r-74*g+112*b+128)>>8 + 128)
				vs[(y/2)*(w/2)+x/2] = byte((112*r-94*g-18*b+128)>>8 + 128)
			}
		}
	}
}
