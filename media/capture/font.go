package capture

import (
	"fmt"
	"image"
	"image/color"
)

// The pattern's text is drawn with a 5×7 bitmap font so no font files are
// needed; each font pixel becomes an s×s block, and each character cell is
// 6×8 font pixels (one column and one row of spacing).
const (
	glyphW, glyphH = 5, 7
	cellW, cellH   = glyphW + 1, glyphH + 1
	inkY, paperY   = 235, 16 // luma of text and of the text band
)

// glyphs holds the characters the pattern prints, one string per row.
var glyphs = map[byte][glyphH]string{
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	':': {".....", "..#..", "..#..", ".....", "..#..", "..#..", "....."},
	'.': {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	' ': {".....", ".....", ".....", ".....", ".....", ".....", "....."},
}

// glyphBits returns the 35 font pixels of c, row-major.
func glyphBits(c byte) (bits [glyphW * glyphH]bool, ok bool) {
	g, ok := glyphs[c]
	if !ok {
		return bits, false
	}
	for y, row := range g {
		for x := 0; x < glyphW; x++ {
			bits[y*glyphW+x] = row[x] == '#'
		}
	}
	return bits, true
}

// font is the glyph set rendered at one scale: each glyph is a ready-made
// luma block of (cellW·s)×(cellH·s) bytes, so drawing a character is a few
// row copies.
type font struct {
	s      int
	blocks map[byte][]byte
}

func newFont(s int) *font {
	f := &font{s: s, blocks: make(map[byte][]byte, len(glyphs))}
	w, h := cellW*s, cellH*s
	for c := range glyphs {
		bits, _ := glyphBits(c)
		b := make([]byte, w*h)
		for y := range h {
			for x := range w {
				gx, gy := x/s, y/s
				v := byte(paperY)
				if gx < glyphW && gy < glyphH && bits[gy*glyphW+gx] {
					v = inkY
				}
				b[y*w+x] = v
			}
		}
		f.blocks[c] = b
	}
	return f
}

// draw writes text into the luma plane at (x, y); the caller guarantees it
// fits.
func (f *font) draw(img *image.YCbCr, x, y int, text string) {
	w, h := cellW*f.s, cellH*f.s
	for i := 0; i < len(text); i++ {
		b := f.blocks[text[i]]
		if b == nil {
			b = f.blocks[' ']
		}
		x0 := x + i*w
		for row := range h {
			off := (y+row)*img.YStride + x0
			copy(img.Y[off:off+w], b[row*w:(row+1)*w])
		}
	}
}

// readText recognises n characters drawn by draw at (x, y) with scale s,
// choosing for each cell the glyph from alphabet nearest in Hamming distance
// over the font pixels' centres. It tolerates codec noise; a cell that is
// far from every glyph is an error.
func readText(img image.Image, x, y, s, n int, alphabet string) (string, error) {
	luma := lumaAt(img)
	out := make([]byte, n)
	for i := range n {
		var cell [glyphW * glyphH]bool
		x0 := x + i*cellW*s
		for gy := range glyphH {
			for gx := range glyphW {
				cell[gy*glyphW+gx] = luma(x0+gx*s+s/2, y+gy*s+s/2) > (inkY+paperY)/2
			}
		}
		best, bestD := byte(0), glyphW*glyphH+1
		for j := 0; j < len(alphabet); j++ {
			bits, _ := glyphBits(alphabet[j])
			d := 0
			for k := range bits {
				if bits[k] != cell[k] {
					d++
				}
			}
			if d < bestD {
				best, bestD = alphabet[j], d
			}
		}
		if bestD > 4 {
			return "", fmt.Errorf("capture: character %d at (%d,%d) is unreadable (%d of %d font pixels off)", i, x0, y, bestD, glyphW*glyphH)
		}
		out[i] = best
	}
	return string(out), nil
}

// lumaAt returns a luma accessor for img, direct for *image.YCbCr.
func lumaAt(img image.Image) func(x, y int) int {
	if yc, ok := img.(*image.YCbCr); ok {
		return func(x, y int) int {
			p := image.Pt(x, y).Add(yc.Rect.Min)
			if !p.In(yc.Rect) {
				return 0
			}
			return int(yc.Y[yc.YOffset(p.X, p.Y)])
		}
	}
	b := img.Bounds()
	return func(x, y int) int {
		c := color.YCbCrModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.YCbCr)
		return int(c.Y)
	}
}
