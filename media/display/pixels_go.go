//go:build nolibyuv

package display

import "image"

// Portable versions of yuv.go's libyuv calls (nearest-neighbour scaling),
// for builds without libyuv: about ten times slower.

const pixelPath = "go"

func convertI420(dst *image.RGBA, r image.Rectangle, src *image.YCbCr, bgrx bool) {
	defer func() {
		if bgrx {
			swapRB(dst, r)
		}
	}()
	x0, y0 := src.Rect.Min.X, src.Rect.Min.Y
	for y := 0; y < r.Dy(); y++ {
		yrow := src.Y[src.YOffset(x0, y0+y):]
		crow := src.COffset(x0, y0+y)
		out := dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+y):]
		for x := 0; x < r.Dx(); x++ {
			yy := (int32(yrow[x]) - 16) * 298
			cb := int32(src.Cb[crow+x/2]) - 128
			cr := int32(src.Cr[crow+x/2]) - 128
			out[x*4+0] = clamp((yy + 409*cr + 128) >> 8)
			out[x*4+1] = clamp((yy - 100*cb - 208*cr + 128) >> 8)
			out[x*4+2] = clamp((yy + 516*cb + 128) >> 8)
			out[x*4+3] = 0xff
		}
	}
}

func swapRB(dst *image.RGBA, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
		for x := 0; x < len(row); x += 4 {
			row[x], row[x+2] = row[x+2], row[x]
		}
	}
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

func scaleI420(dst, src *image.YCbCr) {
	sw, sh, dw, dh := src.Rect.Dx(), src.Rect.Dy(), dst.Rect.Dx(), dst.Rect.Dy()
	x0, y0 := src.Rect.Min.X, src.Rect.Min.Y
	for y := 0; y < dh; y++ {
		sy := y0 + y*sh/dh
		for x := 0; x < dw; x++ {
			dst.Y[y*dst.YStride+x] = src.Y[src.YOffset(x0+x*sw/dw, sy)]
		}
	}
	for y := 0; y < (dh+1)/2; y++ {
		sy := y0 + (2*y)*sh/dh
		for x := 0; x < (dw+1)/2; x++ {
			o := src.COffset(x0+(2*x)*sw/dw, sy)
			dst.Cb[y*dst.CStride+x], dst.Cr[y*dst.CStride+x] = src.Cb[o], src.Cr[o]
		}
	}
}

func scaleRGBA(dst *image.RGBA, r image.Rectangle, src *image.RGBA) {
	sw, sh, dw, dh := src.Rect.Dx(), src.Rect.Dy(), r.Dx(), r.Dy()
	for y := 0; y < dh; y++ {
		in := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y*sh/dh):]
		out := dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+y):]
		for x := 0; x < dw; x++ {
			sx := x * sw / dw
			copy(out[x*4:x*4+4], in[sx*4:sx*4+4])
		}
	}
}

func rgbaToXRGB(dst []byte, stride int, src *image.RGBA) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for y := 0; y < h; y++ {
		p := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):]
		row := dst[y*stride:]
		for x := 0; x < w; x++ {
			row[x*4+0], row[x*4+1], row[x*4+2], row[x*4+3] = p[x*4+2], p[x*4+1], p[x*4+0], 0xff
		}
	}
}

func rgbaToRGB565(dst []byte, stride int, src *image.RGBA, _ []byte) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for y := 0; y < h; y++ {
		p := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):]
		row := dst[y*stride:]
		for x := 0; x < w; x++ {
			r, g, b := uint16(p[x*4]), uint16(p[x*4+1]), uint16(p[x*4+2])
			v := (r>>3)<<11 | (g>>2)<<5 | b>>3
			row[x*2], row[x*2+1] = byte(v), byte(v>>8)
		}
	}
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
