package mjpeg

/*
#cgo pkg-config: libturbojpeg
#cgo LDFLAGS: -lyuv
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>
#include <libyuv/scale.h>

// One picture's decode: TurboJPEG writes the luma plane straight into the
// I420 picture and the chroma planes either there too (4:2:0 JPEGs) or, in
// the JPEG's own subsampling, into scratch planes that libyuv then scales
// to 4:2:0 (dstu != NULL).
typedef struct {
	tjhandle tj;
	const unsigned char *jpeg;
	unsigned long len;
	int w, h;
	unsigned char *planes[3];
	int strides[3];
	int cw, ch; // scratch chroma plane size
	unsigned char *dstu, *dstv;
	int dststride, dstcw, dstch;
	// header, then result
	int subsamp, colorspace;
	int rv, code;
	// libjpeg-turbo keeps its last message per thread: copied here on the
	// thread that made it.
	char msg[200]; // JMSG_LENGTH_MAX
} roomd_mjpeg;

static roomd_mjpeg *roomd_mjpeg_new(void) {
	roomd_mjpeg *d = calloc(1, sizeof *d);
	if (d == NULL) {
		return NULL;
	}
	d->tj = tjInitDecompress();
	if (d->tj == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static void roomd_mjpeg_keep_message(roomd_mjpeg *d) {
	snprintf(d->msg, sizeof d->msg, "%s", tjGetErrorStr2(d->tj));
}

// Reads the picture's size, subsampling and colour space into d.
static int roomd_mjpeg_header(roomd_mjpeg *d, const unsigned char *jpeg, unsigned long len) {
	int rv = tjDecompressHeader3(d->tj, jpeg, len, &d->w, &d->h, &d->subsamp, &d->colorspace);
	if (rv != 0) {
		roomd_mjpeg_keep_message(d);
	}
	return rv;
}

// Decodes d->jpeg as set up by Go, on a cthread.
void roomd_mjpeg_job(void *p) {
	roomd_mjpeg *d = p;
	d->rv = tjDecompressToYUVPlanes(d->tj, d->jpeg, d->len, d->planes, d->w, d->strides, d->h, 0);
	d->code = -1;
	if (d->rv != 0) {
		d->code = tjGetErrorCode(d->tj);
		roomd_mjpeg_keep_message(d);
	}
	d->jpeg = NULL;
	if (d->code == TJERR_FATAL || d->dstu == NULL) {
		return;
	}
	ScalePlane(d->planes[1], d->strides[1], d->cw, d->ch, d->dstu, d->dststride, d->dstcw, d->dstch, kFilterBilinear);
	ScalePlane(d->planes[2], d->strides[2], d->cw, d->ch, d->dstv, d->dststride, d->dstcw, d->dstch, kFilterBilinear);
}

static void roomd_mjpeg_free(roomd_mjpeg *d) {
	tjDestroy(d->tj);
	free(d);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"unsafe"

	"github.com/roomd/roomd/internal/cthread"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/codec/mjpeg/jpegstream"
)

var (
	// ErrCorrupt means a frame is not a decodable JPEG picture (truncated,
	// damaged or not a JPEG at all): drop it and wait for the next. Errors
	// for truncated frames also wrap jpegstream.ErrTruncated.
	ErrCorrupt = errors.New("mjpeg: corrupt JPEG frame")
	// ErrUnsupported means a well-formed picture roomd cannot use: CMYK, an
	// unknown subsampling, or larger than MaxWidth×MaxHeight.
	ErrUnsupported = errors.New("mjpeg: unsupported JPEG picture")
)

// MaxWidth and MaxHeight bound the pictures Decode accepts, so that a
// damaged header cannot make the decoder allocate gigabytes: 4K UHD fits.
const (
	MaxWidth  = 4096
	MaxHeight = 4096
)

// Decoder decodes JPEG pictures (a camera's MJPEG frames) to I420 with
// libjpeg-turbo, on a C thread of its own named "codec-mjpeg-dec". It keeps
// its buffers from frame to frame: after the first frame of a size, Decode
// allocates nothing. It is safe for concurrent use, one frame at a time.
type Decoder struct {
	mu      sync.Mutex
	d       *C.roomd_mjpeg // nil after Close
	th      *cthread.Thread
	img     *image.YCbCr // Decode's picture
	scratch []byte       // chroma planes in the JPEG's own subsampling
	pin     runtime.Pinner
	stats   Stats
}

// Stats counts what a Decoder has seen, for status and tests.
type Stats struct {
	// Frames is how many frames were decoded into a picture.
	Frames uint64
	// Corrupt is how many frames were dropped as corrupt or unsupported.
	Corrupt uint64
	// Warnings is how many decoded frames libjpeg-turbo found slightly
	// damaged (e.g. extra bytes before EOI, as some cameras send); they are
	// still shown. LastWarning is the last such message.
	Warnings    uint64
	LastWarning string
}

var _ codec.VideoDecoder = (*Decoder)(nil)

// New returns a Decoder. Close it to stop its thread and free libjpeg-turbo's
// state.
func New() (*Decoder, error) {
	th, err := cthread.New("codec-mjpeg-dec")
	if err != nil {
		return nil, fmt.Errorf("mjpeg: creating the decoder: %w", err)
	}
	d := C.roomd_mjpeg_new()
	if d == nil {
		th.Close()
		return nil, errors.New("mjpeg: creating the decoder: libjpeg-turbo could not allocate a decompressor (out of memory?)")
	}
	return &Decoder{d: d, th: th}, nil
}

// Decode decodes one JPEG picture to I420. The picture belongs to the
// decoder and stays valid until the next Decode or Close; use DecodeInto to
// keep several. Bytes after the picture's EOI marker are ignored.
func (d *Decoder) Decode(jpeg []byte) (*image.YCbCr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	img, err := d.decode(d.img, jpeg)
	if img != nil {
		d.img = img
	}
	return img, err
}

// DecodeInto decodes one JPEG picture into dst when dst is a 4:2:0 picture
// of the JPEG's size with its origin at (0, 0), or else into a new picture,
// and returns the picture written. dst may be nil.
func (d *Decoder) DecodeInto(dst *image.YCbCr, jpeg []byte) (*image.YCbCr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.decode(dst, jpeg)
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Close stops the decoder's thread and frees libjpeg-turbo's state; Decode
// then returns codec.ErrClosed. It is idempotent.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d == nil {
		return nil
	}
	err := d.th.Close() // after the call in progress, which holds d.mu anyway
	C.roomd_mjpeg_free(d.d)
	d.d = nil
	d.img, d.scratch = nil, nil
	return err
}

func (d *Decoder) decode(dst *image.YCbCr, jpeg []byte) (*image.YCbCr, error) {
	if d.d == nil {
		return nil, fmt.Errorf("mjpeg: decode: %w", codec.ErrClosed)
	}
	img, err := d.decodeFrame(dst, jpeg)
	if err != nil {
		d.stats.Corrupt++
		return nil, err
	}
	d.stats.Frames++
	return img, nil
}

func (d *Decoder) decodeFrame(dst *image.YCbCr, jpeg []byte) (*image.YCbCr, error) {
	n, err := jpegstream.Length(jpeg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	jpeg = jpeg[:n]
	c := d.d
	if C.roomd_mjpeg_header(c, (*C.uchar)(unsafe.Pointer(&jpeg[0])), C.ulong(len(jpeg))) != 0 {
		return nil, fmt.Errorf("%w: reading the header: %s", ErrCorrupt, d.lastError())
	}
	w, h, sub := int(c.w), int(c.h), c.subsamp
	switch {
	case w <= 0 || h <= 0:
		return nil, fmt.Errorf("%w: picture size %dx%d", ErrCorrupt, w, h)
	case w%2 != 0 || h%2 != 0:
		// libjpeg-turbo 2.1 also garbles the first chroma row of odd-height
		// pictures decoded to planes; no camera sends odd sizes.
		return nil, fmt.Errorf("%w: odd picture size %dx%d (I420 encoders need even sizes)", ErrUnsupported, w, h)
	case w > MaxWidth || h > MaxHeight:
		return nil, fmt.Errorf("%w: %dx%d is larger than %dx%d", ErrUnsupported, w, h, MaxWidth, MaxHeight)
	case c.colorspace != C.TJCS_YCbCr && c.colorspace != C.TJCS_GRAY:
		return nil, fmt.Errorf("%w: colour space %s; cameras send YCbCr", ErrUnsupported, colorspaceName(c.colorspace))
	case sub < 0 || sub >= C.TJ_NUMSAMP:
		return nil, fmt.Errorf("%w: unknown chroma subsampling", ErrUnsupported)
	}
	if dst == nil || dst.SubsampleRatio != image.YCbCrSubsampleRatio420 || dst.Rect != image.Rect(0, 0, w, h) {
		dst = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}

	defer d.pin.Unpin()
	d.pin.Pin(&jpeg[0])
	c.jpeg, c.len = (*C.uchar)(unsafe.Pointer(&jpeg[0])), C.ulong(len(jpeg))
	c.planes[0], c.strides[0] = d.pinned(dst.Y), C.int(dst.YStride)
	c.planes[1], c.planes[2], c.dstu, c.dstv = nil, nil, nil, nil
	switch sub {
	case C.TJSAMP_GRAY:
	case C.TJSAMP_420:
		c.planes[1], c.planes[2] = d.pinned(dst.Cb), d.pinned(dst.Cr)
		c.strides[1], c.strides[2] = C.int(dst.CStride), C.int(dst.CStride)
	default:
		cw, ch := int(C.tjPlaneWidth(1, c.w, sub)), int(C.tjPlaneHeight(1, c.h, sub))
		if cap(d.scratch) < 2*cw*ch {
			d.scratch = make([]byte, 2*cw*ch)
		}
		s := d.scratch[:2*cw*ch]
		base := d.pinned(s) // both planes: one pin, pins are few before they allocate
		c.planes[1], c.planes[2] = base, (*C.uchar)(unsafe.Pointer(&s[cw*ch]))
		c.strides[1], c.strides[2] = C.int(cw), C.int(cw)
		c.cw, c.ch = C.int(cw), C.int(ch)
		c.dstu, c.dstv = d.pinned(dst.Cb), d.pinned(dst.Cr)
		c.dststride, c.dstcw, c.dstch = C.int(dst.CStride), C.int((w+1)/2), C.int((h+1)/2)
	}
	if err := d.th.Call(C.roomd_mjpeg_job, unsafe.Pointer(c)); err != nil {
		return nil, fmt.Errorf("mjpeg: decode: %w", err)
	}
	if c.rv != 0 {
		msg := d.lastError()
		if c.code == C.TJERR_FATAL {
			return nil, fmt.Errorf("%w: %s", ErrCorrupt, msg)
		}
		d.stats.Warnings++
		d.stats.LastWarning = msg
	}
	if sub == C.TJSAMP_GRAY {
		fill(dst.Cb, 128)
		fill(dst.Cr, 128)
	}
	return dst, nil
}

// pinned pins b's first byte until the decode is over and returns it for C.
func (d *Decoder) pinned(b []byte) *C.uchar {
	d.pin.Pin(&b[0])
	return (*C.uchar)(unsafe.Pointer(&b[0]))
}

func (d *Decoder) lastError() string {
	return C.GoString(&d.d.msg[0])
}

func colorspaceName(cs C.int) string {
	switch cs {
	case C.TJCS_RGB:
		return "RGB"
	case C.TJCS_CMYK:
		return "CMYK"
	case C.TJCS_YCCK:
		return "YCCK"
	}
	return fmt.Sprintf("%d", int(cs))
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}
