package display

import (
	"image"

	"golang.org/x/image/draw"
)

func scale(dst *image.RGBA, src *image.RGBA) {
	scaleInto(dst, dst.Bounds(), src, nil, false)
}

// scaleInto draws src scaled into r of dst in one pass per plane: a 4:2:0
// picture of r's size is converted straight into the canvas, one of
// another size is scaled as YCbCr into *scratch (reused between calls)
// and converted from there, which touches far fewer bytes than converting
// first. Other formats take the generic path. With bgrx, dst holds
// XRGB8888 (B, G, R, X bytes) rather than RGBA.
func scaleInto(dst *image.RGBA, r image.Rectangle, src image.Image, scratch **image.YCbCr, bgrx bool) {
	r = r.Intersect(dst.Bounds())
	if r.Empty() || src.Bounds().Empty() {
		return
	}
	switch s := src.(type) {
	case *image.YCbCr:
		if s.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			break
		}
		if s.Rect.Size() == r.Size() {
			convertI420(dst, r, s, bgrx)
			return
		}
		var tmp *image.YCbCr
		if scratch != nil {
			tmp = *scratch
		}
		if tmp == nil || tmp.Rect.Size() != r.Size() {
			tmp = image.NewYCbCr(image.Rectangle{Max: r.Size()}, image.YCbCrSubsampleRatio420)
			if scratch != nil {
				*scratch = tmp
			}
		}
		scaleI420(tmp, s)
		convertI420(dst, r, tmp, bgrx)
		return
	case *image.RGBA:
		if s.Rect.Size() == r.Size() {
			for y := 0; y < r.Dy(); y++ {
				copy(dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+y):dst.PixOffset(r.Max.X, r.Min.Y+y)], s.Pix[s.PixOffset(s.Rect.Min.X, s.Rect.Min.Y+y):])
			}
		} else {
			scaleRGBA(dst, r, s)
		}
	default:
		draw.ApproxBiLinear.Scale(dst, r, src, src.Bounds(), draw.Src, nil)
	}
	if bgrx {
		swapRB(dst, r)
	}
}

// copyYCbCr copies a 4:2:0 frame of the same size plane by plane.
func copyYCbCr(dst, src *image.YCbCr) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for y := 0; y < h; y++ {
		copy(dst.Y[y*dst.YStride:y*dst.YStride+w], src.Y[src.YOffset(src.Rect.Min.X, src.Rect.Min.Y+y):])
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := 0; y < ch; y++ {
		so := src.COffset(src.Rect.Min.X, src.Rect.Min.Y+2*y)
		copy(dst.Cb[y*dst.CStride:y*dst.CStride+cw], src.Cb[so:so+cw])
		copy(dst.Cr[y*dst.CStride:y*dst.CStride+cw], src.Cr[so:so+cw])
	}
}
