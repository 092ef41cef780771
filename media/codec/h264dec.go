package codec

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include "openh264/codec_api.h"

// The decoder lives in the same static OpenH264 library that mediadevices'
// openh264 package links (imported below for that reason); these helpers
// reach it through the C vtable.

// A decoder and the access unit roomd_h264dec_job decodes, with its result.
typedef struct {
	ISVCDecoder *dec;
	const unsigned char *src;
	int len;
	unsigned char *dst[3];
	SBufferInfo info;
	int state;
} roomd_h264dec;

static long roomd_h264dec_new(roomd_h264dec **out) {
	roomd_h264dec *h = calloc(1, sizeof *h);
	if (h == NULL) {
		return -1;
	}
	ISVCDecoder *d = NULL;
	long rv = WelsCreateDecoder(&d);
	if (rv != 0 || d == NULL) {
		free(h);
		return rv != 0 ? rv : -1;
	}
	SDecodingParam p;
	memset(&p, 0, sizeof p);
	p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
	// No concealment: a damaged picture is not shown; the caller asks for
	// a key frame instead.
	p.eEcActiveIdc = ERROR_CON_DISABLE;
	rv = (*d)->Initialize(d, &p);
	if (rv != 0) {
		WelsDestroyDecoder(d);
		free(h);
		return rv;
	}
	h->dec = d;
	*out = h;
	return 0;
}

// Decodes the access unit in src and len, on a cthread.
void roomd_h264dec_job(void *p) {
	roomd_h264dec *h = p;
	memset(&h->info, 0, sizeof h->info);
	h->dst[0] = h->dst[1] = h->dst[2] = NULL;
	h->state = (*h->dec)->DecodeFrameNoDelay(h->dec, h->src, h->len, h->dst, &h->info);
	h->src = NULL;
}

static void roomd_h264dec_free(roomd_h264dec *h) {
	(*h->dec)->Uninitialize(h->dec);
	WelsDestroyDecoder(h->dec);
	free(h);
}
*/
import "C"

import (
	"fmt"
	"image"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/roomd/roomd/internal/cthread"

	// Links the static OpenH264 library, which holds the decoder and the
	// encoder roomd drives (h264enc.go).
	_ "github.com/pion/mediadevices/pkg/codec/openh264"
)

// NewH264Decoder returns an OpenH264 decoder for an H.264 stream whose
// frames are Annex B access units (what pion's H264 depacketizer yields).
func NewH264Decoder() (VideoDecoder, error) {
	th, err := cthread.New("codec-h264-dec")
	if err != nil {
		return nil, fmt.Errorf("codec: creating the OpenH264 decoder: %w", err)
	}
	var d *C.roomd_h264dec
	if rv := C.roomd_h264dec_new(&d); rv != 0 {
		th.Close()
		return nil, fmt.Errorf("codec: creating the OpenH264 decoder failed (%d)", int(rv))
	}
	return &h264Decoder{dec: d, th: th}, nil
}

type h264Decoder struct {
	mu  sync.Mutex
	dec *C.roomd_h264dec
	th  *cthread.Thread
	img *image.YCbCr // the last picture, in the decoder's memory
}

// States in which the decoder has lost its references.
const h264NeedsKey = C.dsRefLost | C.dsBitstreamError | C.dsDepLayerLost | C.dsNoParamSets | C.dsRefListNullPtrs

func (h *h264Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dec == nil {
		return nil, ErrClosed
	}
	if len(frame) == 0 {
		return nil, nil
	}
	// The frame stays pinned while the codec thread reads it (OpenH264
	// copies it into its own buffer before parsing).
	var pin runtime.Pinner
	pin.Pin(&frame[0])
	h.dec.src, h.dec.len = (*C.uchar)(unsafe.Pointer(&frame[0])), C.int(len(frame))
	err := h.th.Call(C.roomd_h264dec_job, unsafe.Pointer(h.dec))
	pin.Unpin()
	if err != nil {
		return nil, fmt.Errorf("codec: h264 decoder: %w", err)
	}
	state, dst, info := h.dec.state, h.dec.dst, &h.dec.info
	if state&h264NeedsKey != 0 {
		return nil, fmt.Errorf("codec: h264 decoder: %s: %w", h264State(int(state)), ErrNeedKeyFrame)
	}
	if state != C.dsErrorFree && state&C.dsFramePending == 0 {
		return nil, fmt.Errorf("codec: h264 decoder: %s", h264State(int(state)))
	}
	if info.iBufferStatus != 1 {
		return nil, nil
	}
	buf := (*C.SSysMEMBuffer)(unsafe.Pointer(&info.UsrData))
	w, hgt := int(buf.iWidth), int(buf.iHeight)
	ys, cs := int(buf.iStride[0]), int(buf.iStride[1])
	h.img = wrapI420(h.img, w, hgt,
		unsafe.Slice((*byte)(dst[0]), ys*hgt), ys,
		unsafe.Slice((*byte)(dst[1]), cs*((hgt+1)/2)),
		unsafe.Slice((*byte)(dst[2]), cs*((hgt+1)/2)), cs)
	return h.img, nil
}

func (h *h264Decoder) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dec != nil {
		C.roomd_h264dec_free(h.dec)
		h.dec = nil
		return h.th.Close()
	}
	return nil
}

func h264State(s int) string {
	names := []struct {
		bit  int
		name string
	}{
		{C.dsFramePending, "frame pending"}, {C.dsRefLost, "reference lost"},
		{C.dsBitstreamError, "bitstream error"}, {C.dsDepLayerLost, "dependent layer lost"},
		{C.dsNoParamSets, "no SPS/PPS"}, {C.dsDataErrorConcealed, "error concealed"},
		{C.dsRefListNullPtrs, "reference list incomplete"}, {C.dsInvalidArgument, "invalid argument"},
		{C.dsInitialOptExpected, "not initialised"}, {C.dsOutOfMemory, "out of memory"},
		{C.dsDstBufNeedExpan, "output buffer too small"},
	}
	var out []string
	for _, n := range names {
		if s&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		return fmt.Sprintf("state %#x", s)
	}
	return strings.Join(out, ", ")
}

// wrapI420 points dst at a decoder's own planes, without copying: the
// picture is valid until the decoder's next call, as VideoDecoder says.
// (A copy here would be a second one: the compositor copies what it keeps.)
func wrapI420(dst *image.YCbCr, w, h int, y []byte, ys int, cb, cr []byte, cs int) *image.YCbCr {
	if dst == nil {
		dst = &image.YCbCr{SubsampleRatio: image.YCbCrSubsampleRatio420}
	}
	dst.Y, dst.Cb, dst.Cr = y, cb, cr
	dst.YStride, dst.CStride = ys, cs
	dst.Rect = image.Rect(0, 0, w, h)
	return dst
}
