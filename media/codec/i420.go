package codec

import (
	"fmt"
	"image"
	"runtime"

	"github.com/pion/mediadevices/pkg/io/video"
)

// asI420 returns img as 4:2:0 YCbCr, converting other images the way
// mediadevices' encoders do; release frees the conversion.
func asI420(img image.Image) (*image.YCbCr, func(), error) {
	if yc, ok := img.(*image.YCbCr); ok && yc.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		return yc, func() {}, nil
	}
	converted, release, err := video.ToI420(video.ReaderFunc(func() (image.Image, func(), error) {
		return img, func() {}, nil
	})).Read()
	if err != nil {
		return nil, nil, fmt.Errorf("converting %T to I420: %w", img, err)
	}
	return converted.(*image.YCbCr), release, nil
}

// planes are the first pixels of a picture's three planes, pinned: the
// codec thread reads them after the cgo call that handed them over has
// returned, which cgo allows only for pinned memory.
type planes struct {
	y, u, v *byte
	pin     runtime.Pinner
}

// pinPlanes pins yc's planes from its top-left pixel; call unpin once the
// codec call is over.
func pinPlanes(yc *image.YCbCr) *planes {
	x0, y0 := yc.Rect.Min.X, yc.Rect.Min.Y
	p := &planes{y: &yc.Y[yc.YOffset(x0, y0)], u: &yc.Cb[yc.COffset(x0, y0)], v: &yc.Cr[yc.COffset(x0, y0)]}
	p.pin.Pin(p.y)
	p.pin.Pin(p.u)
	p.pin.Pin(p.v)
	return p
}

func (p *planes) unpin() { p.pin.Unpin() }

// checkSize refuses a picture size the 4:2:0 encoders cannot take.
func checkSize(w, h int) error {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("picture size %dx%d must be positive and even", w, h)
	}
	return nil
}
