// Package mediatest holds what media tests share: copies of the capture
// pattern's frames to encode and compare, the PSNR that compares them, and
// a poll for conditions that come true over a network.
package mediatest

import (
	"bytes"
	"image"
	"math"
	"testing"
	"time"

	"github.com/roomd/roomd/media/capture"
)

// PatternFrames makes n frames of the capture pattern (unpaced), copied so
// they can be kept.
func PatternFrames(t testing.TB, w, h, n int) []*image.YCbCr {
	t.Helper()
	p, err := capture.NewPattern(capture.PatternOptions{Width: w, Height: h, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := make([]*image.YCbCr, n)
	for i := range out {
		img, release, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		src := img.(*image.YCbCr)
		cp := *src
		cp.Y, cp.Cb, cp.Cr = bytes.Clone(src.Y), bytes.Clone(src.Cb), bytes.Clone(src.Cr)
		out[i] = &cp
		release()
	}
	return out
}

// PSNRY is the PSNR of b's luma against a's, in dB: 0 for pictures of
// different sizes, +Inf for identical ones.
func PSNRY(a, b *image.YCbCr) float64 {
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

// Eventually polls cond every 10 ms until it holds or d passes, and says
// whether it held.
func Eventually(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
