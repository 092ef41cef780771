//go:build !novpx

package codec

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

// A decoder and the frame roomd_vp8dec_job decodes, with its result.
typedef struct {
	vpx_codec_ctx_t ctx;
	const unsigned char *data;
	unsigned int len;
	vpx_codec_err_t err;
	int corrupt;
	vpx_image_t *img;
} roomd_vp8dec;

static roomd_vp8dec *roomd_vp8dec_new(int threads, vpx_codec_err_t *err) {
	roomd_vp8dec *d = calloc(1, sizeof *d);
	vpx_codec_ctx_t *ctx = d == NULL ? NULL : &d->ctx;
	if (ctx == NULL) {
		*err = VPX_CODEC_MEM_ERROR;
		return NULL;
	}
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = threads;
	*err = vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (*err != VPX_CODEC_OK) {
		free(d);
		return NULL;
	}
	return d;
}

// Decodes one frame and returns its picture (owned by the decoder, valid
// until the next call), or NULL with *err set or with nothing to show.
static vpx_image_t *roomd_vp8dec_decode(vpx_codec_ctx_t *ctx, const unsigned char *data,
		unsigned int len, vpx_codec_err_t *err, int *corrupt) {
	*corrupt = 0;
	*err = vpx_codec_decode(ctx, data, len, NULL, 0);
	if (*err != VPX_CODEC_OK) {
		return NULL;
	}
	vpx_codec_control(ctx, VP8D_GET_FRAME_CORRUPTED, corrupt);
	vpx_codec_iter_t it = NULL;
	vpx_image_t *img, *last = NULL;
	while ((img = vpx_codec_get_frame(ctx, &it)) != NULL) {
		last = img;
	}
	return last;
}

// Decodes the frame in data and len, on a cthread.
void roomd_vp8dec_job(void *p) {
	roomd_vp8dec *d = p;
	d->img = roomd_vp8dec_decode(&d->ctx, d->data, d->len, &d->err, &d->corrupt);
	d->data = NULL;
}

static void roomd_vp8dec_free(roomd_vp8dec *d) {
	vpx_codec_destroy(&d->ctx);
	free(d);
}
*/
import "C"

import (
	"fmt"
	"image"
	"runtime"
	"sync"
	"unsafe"

	"github.com/roomd/roomd/internal/cthread"
)

// NewVP8Decoder returns a libvpx VP8 decoder. (mediadevices' vpx package
// has one too, but it reads frames from an io.Reader into a fixed 1 MB
// buffer and has no way to report a lost reference; this one takes one
// frame per call and answers ErrNeedKeyFrame.)
func NewVP8Decoder() (VideoDecoder, error) {
	var cerr C.vpx_codec_err_t
	th, err := cthread.New("codec-vp8-dec")
	if err != nil {
		return nil, fmt.Errorf("codec: creating the libvpx VP8 decoder: %w", err)
	}
	ctx := C.roomd_vp8dec_new(1, &cerr)
	if ctx == nil {
		th.Close()
		return nil, fmt.Errorf("codec: creating the libvpx VP8 decoder: %s", C.GoString(C.vpx_codec_err_to_string(cerr)))
	}
	return &vp8Decoder{ctx: ctx, th: th}, nil
}

type vp8Decoder struct {
	mu      sync.Mutex
	ctx     *C.roomd_vp8dec
	th      *cthread.Thread
	img     *image.YCbCr // the last picture, in the decoder's memory
	haveKey bool         // a key frame has been decoded since the last error
}

func (d *vp8Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return nil, ErrClosed
	}
	if len(frame) == 0 {
		return nil, nil
	}
	key := frame[0]&1 == 0
	if !key && !d.haveKey {
		return nil, fmt.Errorf("codec: vp8 decoder: inter frame without a preceding key frame: %w", ErrNeedKeyFrame)
	}
	var pin runtime.Pinner
	pin.Pin(&frame[0])
	d.ctx.data, d.ctx.len = (*C.uchar)(unsafe.Pointer(&frame[0])), C.uint(len(frame))
	err := d.th.Call(C.roomd_vp8dec_job, unsafe.Pointer(d.ctx))
	pin.Unpin()
	if err != nil {
		return nil, fmt.Errorf("codec: vp8 decoder: %w", err)
	}
	cerr, corrupt, img := d.ctx.err, d.ctx.corrupt, d.ctx.img
	if cerr != C.VPX_CODEC_OK {
		d.haveKey = false
		return nil, fmt.Errorf("codec: vp8 decoder: %s: %w", C.GoString(C.vpx_codec_err_to_string(cerr)), ErrNeedKeyFrame)
	}
	if corrupt != 0 {
		d.haveKey = false
		return nil, fmt.Errorf("codec: vp8 decoder: corrupt frame (lost reference): %w", ErrNeedKeyFrame)
	}
	if key {
		d.haveKey = true
	}
	if img == nil {
		return nil, nil
	}
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("codec: vp8 decoder: unexpected picture format %d", int(img.fmt))
	}
	w, h := int(img.d_w), int(img.d_h)
	ys, cs := int(img.stride[0]), int(img.stride[1])
	ch := (h + 1) / 2
	d.img = wrapI420(d.img, w, h,
		unsafe.Slice((*byte)(img.planes[0]), ys*h), ys,
		unsafe.Slice((*byte)(img.planes[1]), cs*ch),
		unsafe.Slice((*byte)(img.planes[2]), int(img.stride[2])*ch), cs)
	return d.img, nil
}

func (d *vp8Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx != nil {
		C.roomd_vp8dec_free(d.ctx)
		d.ctx = nil
		return d.th.Close()
	}
	return nil
}
