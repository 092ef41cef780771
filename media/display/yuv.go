//go:build !nolibyuv

package display

/*
#cgo LDFLAGS: -lyuv
#include <libyuv/convert.h>
#include <libyuv/convert_argb.h>
#include <libyuv/convert_from_argb.h>
#include <libyuv/scale.h>
#include <libyuv/scale_argb.h>
*/
import "C"

import (
	"image"
	"unsafe"
)

// The pixel work of the screen goes through libyuv (Debian: libyuv-dev),
// whose SIMD rows (SSSE3/AVX2 on x86, NEON on a Pi) convert and scale a
// 720p picture in well under a millisecond; a Go loop takes ten times as
// long. Build with -tags nolibyuv for the portable Go versions in
// pixels_go.go. libyuv's names give the order of a little-endian word:
// its "ABGR" is Go's RGBA byte order, its "ARGB" the framebuffer's XRGB8888.

// pixelPath names the implementation, for logs and benchmarks.
const pixelPath = "libyuv"

func ptr(b []byte) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&b[0])) }

// convertI420 draws src, which must be r's size, into r of dst (BT.601
// limited range, as decoders produce), in RGBA byte order or, with bgrx,
// the framebuffer's XRGB8888.
func convertI420(dst *image.RGBA, r image.Rectangle, src *image.YCbCr, bgrx bool) {
	x0, y0 := src.Rect.Min.X, src.Rect.Min.Y
	y, u, v := ptr(src.Y[src.YOffset(x0, y0):]), ptr(src.Cb[src.COffset(x0, y0):]), ptr(src.Cr[src.COffset(x0, y0):])
	out := ptr(dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y):])
	if bgrx {
		C.I420ToARGB(y, C.int(src.YStride), u, C.int(src.CStride), v, C.int(src.CStride), out, C.int(dst.Stride), C.int(r.Dx()), C.int(r.Dy()))
	} else {
		C.I420ToABGR(y, C.int(src.YStride), u, C.int(src.CStride), v, C.int(src.CStride), out, C.int(dst.Stride), C.int(r.Dx()), C.int(r.Dy()))
	}
}

// scaleI420 scales src into the whole of dst (both 4:2:0, origin at 0,0).
func scaleI420(dst, src *image.YCbCr) {
	x0, y0 := src.Rect.Min.X, src.Rect.Min.Y
	C.I420Scale(ptr(src.Y[src.YOffset(x0, y0):]), C.int(src.YStride),
		ptr(src.Cb[src.COffset(x0, y0):]), C.int(src.CStride),
		ptr(src.Cr[src.COffset(x0, y0):]), C.int(src.CStride),
		C.int(src.Rect.Dx()), C.int(src.Rect.Dy()),
		ptr(dst.Y), C.int(dst.YStride), ptr(dst.Cb), C.int(dst.CStride), ptr(dst.Cr), C.int(dst.CStride),
		C.int(dst.Rect.Dx()), C.int(dst.Rect.Dy()), C.kFilterBilinear)
}

// scaleRGBA scales src into r of dst.
func scaleRGBA(dst *image.RGBA, r image.Rectangle, src *image.RGBA) {
	C.ARGBScale(ptr(src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y):]), C.int(src.Stride),
		C.int(src.Rect.Dx()), C.int(src.Rect.Dy()),
		ptr(dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y):]), C.int(dst.Stride),
		C.int(r.Dx()), C.int(r.Dy()), C.kFilterBilinear)
}

// rgbaToXRGB writes src as XRGB8888 (B, G, R, 0xff in memory) rows of
// stride bytes.
func rgbaToXRGB(dst []byte, stride int, src *image.RGBA) {
	C.ABGRToARGB(ptr(src.Pix), C.int(src.Stride), ptr(dst), C.int(stride),
		C.int(src.Rect.Dx()), C.int(src.Rect.Dy()))
}

// swapRB swaps the first and third byte of every pixel of r in dst, which
// turns RGBA into XRGB8888 and back.
func swapRB(dst *image.RGBA, r image.Rectangle) {
	p := ptr(dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y):])
	C.ABGRToARGB(p, C.int(dst.Stride), p, C.int(dst.Stride), C.int(r.Dx()), C.int(r.Dy()))
}

// rgbaToRGB565 writes src as little-endian RGB565 rows of stride bytes;
// tmp holds a row-packed XRGB copy (4·w·h bytes).
func rgbaToRGB565(dst []byte, stride int, src *image.RGBA, tmp []byte) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	rgbaToXRGB(tmp, w*4, src)
	C.ARGBToRGB565(ptr(tmp), C.int(w*4), ptr(dst), C.int(stride), C.int(w), C.int(h))
}

// rgbaToI420 converts img (w×h, even) into out: the Y, U and V planes
// packed one after the other.
func rgbaToI420(img *image.RGBA, out []byte, w, h int) {
	ys, us, vs := out[:w*h], out[w*h:w*h+w*h/4], out[w*h+w*h/4:]
	C.ABGRToI420(ptr(img.Pix), C.int(img.Stride), ptr(ys), C.int(w), ptr(us), C.int(w/2), ptr(vs), C.int(w/2),
		C.int(w), C.int(h))
}
