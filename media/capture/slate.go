package capture

import (
	"image"
	"math"
	"sync"
)

// SlateKind says what a slate stands in for.
type SlateKind int

const (
	// SlatePrivacy replaces the camera while camera privacy is on: a dark
	// frame with a struck-through camera.
	SlatePrivacy SlateKind = iota
	// SlateUnavailable replaces a camera that is missing or failed: a dark
	// blue frame with a camera outline.
	SlateUnavailable
)

// String names the kind for logs.
func (k SlateKind) String() string {
	switch k {
	case SlatePrivacy:
		return "privacy"
	case SlateUnavailable:
		return "unavailable"
	default:
		return "SlateKind(?)"
	}
}

// Slate draws a w×h (even) I420 slate of the given kind. It carries no
// pixel from any camera. Callers that send many keep one (see slateCache).
func Slate(kind SlateKind, w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	bgY, bgCb, bgCr, ink := byte(24), byte(128), byte(128), byte(110)
	if kind == SlateUnavailable {
		bgY, bgCb, bgCr, ink = 30, 150, 118, 120
	}
	fillRect(img, img.Rect, bgY, bgCb, bgCr)

	// A camera icon in the middle: body outline, viewfinder bump, lens ring.
	size := max(8, min(w, h)/3)
	t := max(2, size/14)
	cx, cy := w/2, h/2
	bw, bh := size, size*3/5
	body := image.Rect(cx-bw/2, cy-bh/2, cx+bw/2, cy+bh/2)
	lumaRect(img, body, ink)
	lumaRect(img, body.Inset(t), bgY)
	lumaRect(img, image.Rect(cx-bw/5, body.Min.Y-bh/6, cx+bw/5, body.Min.Y), ink)
	r := float64(bh) * 0.28
	lens := body.Intersect(img.Rect)
	for y := lens.Min.Y; y < lens.Max.Y; y++ {
		for x := lens.Min.X; x < lens.Max.X; x++ {
			d := math.Hypot(float64(x-cx), float64(y-cy))
			if d <= r && d > r-float64(t) {
				img.Y[y*img.YStride+x] = ink
			}
		}
	}
	if kind == SlatePrivacy {
		// The strike-through, from the icon's top-left to bottom-right.
		x0, y0 := float64(body.Min.X-t), float64(body.Min.Y-bh/6-t)
		x1, y1 := float64(body.Max.X+t), float64(body.Max.Y+t)
		dx, dy := x1-x0, y1-y0
		norm := math.Hypot(dx, dy)
		for y := int(y0); y < int(y1); y++ {
			for x := int(x0); x < int(x1); x++ {
				if x < 0 || y < 0 || x >= w || y >= h {
					continue
				}
				d := math.Abs(dy*(float64(x)-x0)-dx*(float64(y)-y0)) / norm
				switch {
				case d <= float64(t):
					img.Y[y*img.YStride+x] = 200
				case d <= float64(2*t):
					img.Y[y*img.YStride+x] = bgY
				}
			}
		}
	}
	return img
}

func lumaRect(img *image.YCbCr, r image.Rectangle, v byte) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		fill(img.Y[y*img.YStride+r.Min.X:y*img.YStride+r.Max.X], v)
	}
}

// slateCache keeps the last slate drawn, since a stream's size rarely
// changes. Slates it returns are shared and read-only.
type slateCache struct {
	kind SlateKind
	mu   sync.Mutex
	img  *image.YCbCr
}

func (c *slateCache) get(w, h int) *image.YCbCr {
	w, h = w&^1, h&^1
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.img == nil || c.img.Rect.Dx() != w || c.img.Rect.Dy() != h {
		c.img = Slate(c.kind, w, h)
	}
	return c.img
}
