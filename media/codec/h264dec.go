package codec

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include "openh264/codec_api.h"

// The decoder lives in the same static OpenH264 library that mediadevices'
// openh264 package links (imported below for that reason); these helpers
// reach it through the C vtable.

static long roomd_h264dec_new(ISVCDecoder **out) {
	ISVCDecoder *d = NULL;
	long rv = WelsCreateDecoder(&d);
	if (rv != 0 || d == NULL) {
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
		return rv;
	}
	*out = d;
	return 0;
}

static int roomd_h264dec_decode(ISVCDecoder *d, const unsigned char *src, int len,
		unsigned char **dst, SBufferInfo *info) {
	memset(info, 0, sizeof *info);
	return (*d)->DecodeFrameNoDelay(d, src, len, dst, info);
}

static void roomd_h264dec_free(ISVCDecoder *d) {
	(*d)->Uninitialize(d);
	WelsDestroyDecoder(d);
}
*/
import "C"

import (
	"fmt"
	"image"
	"strings"
	"sync"
	"unsafe"

	// Links the static OpenH264 library, which holds the decoder too.
	_ "github.com/pion/mediadevices/pkg/codec/openh264"
)

// NewH264Decoder returns an OpenH264 decoder for an H.264 stream whose
// frames are Annex B access units (what pion's H264 depacketizer yields).
func NewH264Decoder() (VideoDecoder, error) {
	var d *C.ISVCDecoder
	if rv := C.roomd_h264dec_new(&d); rv != 0 {
		return nil, fmt.Errorf("codec: creating the OpenH264 decoder failed (%d)", int(rv))
	}
	return &h264Decoder{dec: d}, nil
}

type h264Decoder struct {
	mu  sync.Mutex
	dec *C.ISVCDecoder
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
	// OpenH264 copies the input into its own padded buffer before parsing,
	// so Go memory can be passed for the duration of the call.
	var dst [3]*C.uchar
	var info C.SBufferInfo
	state := C.roomd_h264dec_decode(h.dec, (*C.uchar)(unsafe.Pointer(&frame[0])), C.int(len(frame)), &dst[0], &info)
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
