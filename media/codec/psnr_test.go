package codec

import (
	"image"
	"math"
)

// psnrY is the PSNR of b's luma against a's, in dB.
func psnrY(a, b *image.YCbCr) float64 {
	if a.Rect.Size() != b.Rect.Size() {
		return 0
	}
	var se float64
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := 0; y < h; y++ {
		ra := a.Y[y*a.YStride : y*a.YStride+w]
		rb := b.Y[y*b.YStride : y*b.YStride+w]
		for x := range ra {
			d := float64(ra[x]) - float64(rb[x])
			se += d * d
		}
	}
	mse := se / float64(w*h)
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}
