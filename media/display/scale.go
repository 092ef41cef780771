package display

import (
	"image"

	"golang.org/x/image/draw"
)

func scale(dst *image.RGBA, src *image.RGBA) {
	scaleInto(dst, dst.Bounds(), src)
}

// scaleInto draws src scaled into r of dst by nearest neighbour, with fast
// paths for 4:2:0 YCbCr (converted on the fly) and RGBA; a Pi cannot afford
// a generic conversion of every 720p frame.
func scaleInto(dst *image.RGBA, r image.Rectangle, src image.Image) {
	r = r.Intersect(dst.Bounds())
	if r.Empty() {
		return
	}
	sb := src.Bounds()
	sw, sh, dw, dh := sb.Dx(), sb.Dy(), r.Dx(), r.Dy()
	xs := make([]int, dw)
	for x := range xs {
		xs[x] = x * sw / dw
	}
	switch s := src.(type) {
	case *image.YCbCr:
		if s.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			break
		}
		for y := 0; y < dh; y++ {
			sy := y * sh / dh
			yrow := s.Y[sy*s.YStride:]
			crow := (sy / 2) * s.CStride
			out := dst.Pix[(r.Min.Y+y)*dst.Stride+r.Min.X*4:]
			for x, sx := range xs {
				yy := (int32(yrow[sx]) - 16) * 298
				cb := int32(s.Cb[crow+sx/2]) - 128
				cr := int32(s.Cr[crow+sx/2]) - 128
				out[x*4+0] = clamp((yy + 409*cr + 128) >> 8)
				out[x*4+1] = clamp((yy - 100*cb - 208*cr + 128) >> 8)
				out[x*4+2] = clamp((yy + 516*cb + 128) >> 8)
				out[x*4+3] = 0xff
			}
		}
		return
	case *image.RGBA:
		for y := 0; y < dh; y++ {
			in := s.Pix[(y*sh/dh)*s.Stride:]
			out := dst.Pix[(r.Min.Y+y)*dst.Stride+r.Min.X*4:]
			for x, sx := range xs {
				copy(out[x*4:x*4+4], in[sx*4:sx*4+4])
			}
		}
		return
	}
	draw.ApproxBiLinear.Scale(dst, r, src, sb, draw.Src, nil)
}

func clamp(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
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
