package codec

import (
	"image"

	"github.com/roomd/roomd/internal/mediatest"
)

// psnrY is the PSNR of b's luma against a's, in dB.
func psnrY(a, b *image.YCbCr) float64 { return mediatest.PSNRY(a, b) }
