package mjpeg

/*
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

// Compresses RGBA pixels; *out is TurboJPEG's, to be freed with tjFree.
static int roomd_mjpeg_compress(const unsigned char *rgba, int w, int h, int stride, int subsamp,
		int quality, unsigned char **out, unsigned long *len, char *msg, int msglen) {
	tjhandle tj = tjInitCompress();
	if (tj == NULL) {
		snprintf(msg, msglen, "%s", tjGetErrorStr2(NULL));
		return -1;
	}
	*out = NULL;
	int rv = tjCompress2(tj, rgba, w, stride, h, TJPF_RGBA, out, len, subsamp, quality, 0);
	if (rv != 0) {
		snprintf(msg, msglen, "%s", tjGetErrorStr2(tj));
	}
	tjDestroy(tj);
	return rv;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// compress encodes img as a JPEG picture with the given chroma subsampling
// (TurboJPEG's TJSAMP_* order: 444, 422, 420, gray, 440, 411). Tests and
// benchmarks use it to make camera-like pictures, which image/jpeg cannot:
// it writes 4:2:0 only.
func compress(img *image.RGBA, subsamp, quality int) ([]byte, error) {
	if subsamp < 0 || subsamp >= C.TJ_NUMSAMP || img.Rect.Empty() {
		return nil, errors.New("mjpeg: compress: bad subsampling or empty picture")
	}
	var out *C.uchar
	var n C.ulong
	var msg [200]C.char
	pix := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y):]
	if C.roomd_mjpeg_compress((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(img.Rect.Dx()), C.int(img.Rect.Dy()),
		C.int(img.Stride), C.int(subsamp), C.int(quality), &out, &n, &msg[0], C.int(len(msg))) != 0 {
		return nil, fmt.Errorf("mjpeg: compress: %s", C.GoString(&msg[0]))
	}
	defer C.tjFree(out)
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}
