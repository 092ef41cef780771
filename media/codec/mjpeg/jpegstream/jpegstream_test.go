package jpegstream

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// goJPEG is a real picture from image/jpeg.
func goJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// segment builds a marker segment with its length field.
func segment(marker byte, payload []byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, payload...)
}

// withEXIFThumbnail puts a whole JPEG (with its own EOI) inside an APP1
// segment right after pic's SOI, as cameras' EXIF thumbnails are.
func withEXIFThumbnail(pic, thumb []byte) []byte {
	app1 := segment(0xE1, append([]byte("Exif\x00\x00"), thumb...))
	return append(append(append([]byte{}, pic[:2]...), app1...), pic[2:]...)
}

func TestLength(t *testing.T) {
	pic := goJPEG(t, 64, 48)
	thumb := goJPEG(t, 8, 8)
	// A minimal hand-made picture whose entropy-coded data holds a stuffed
	// 0xFF, a restart marker and fill bytes before EOI.
	hand := append(append([]byte{0xFF, 0xD8}, segment(0xDA, make([]byte, 10))...),
		0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF, 0xFF, 0xD9)
	for _, tc := range []struct {
		name string
		b    []byte
		n    int
		err  error
	}{
		{"image/jpeg picture", pic, len(pic), nil},
		{"trailing bytes are not looked at", append(bytes.Clone(pic), "garbage"...), len(pic), nil},
		{"EOI inside an EXIF thumbnail does not end the picture", withEXIFThumbnail(pic, thumb), len(pic) + 4 + 6 + len(thumb), nil},
		{"stuffing, restart marker, fill bytes", hand, len(hand), nil},
		{"empty", nil, 0, ErrTruncated},
		{"SOI only", []byte{0xFF, 0xD8}, 0, ErrTruncated},
		{"no EOI", pic[:len(pic)-2], 0, ErrTruncated},
		{"half an EOI", pic[:len(pic)-1], 0, ErrTruncated},
		{"not a JPEG", []byte("GIF89a..."), 0, ErrMalformed},
		{"SOI inside a picture", append([]byte{0xFF, 0xD8}, pic...), 0, ErrMalformed},
		{"segment length below 2", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xD9}, 0, ErrMalformed},
		{"segment longer than the data", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x10, 0x00, 0x00}, 0, ErrTruncated},
		{"data where a marker belongs", []byte{0xFF, 0xD8, 0x12, 0x34}, 0, ErrMalformed},
		{"stuffed byte outside entropy data", []byte{0xFF, 0xD8, 0xFF, 0x00, 0xFF, 0xD9}, 0, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Length(tc.b)
			if !errors.Is(err, tc.err) || (tc.err == nil && n != tc.n) {
				t.Fatalf("Length = %d, %v; want %d, %v", n, err, tc.n, tc.err)
			}
		})
	}
}

func TestEveryCutOfAPictureIsTruncated(t *testing.T) {
	pic := withEXIFThumbnail(goJPEG(t, 32, 32), goJPEG(t, 8, 8))
	for cut := range len(pic) {
		if _, err := Length(pic[:cut]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d of %d: err = %v, want ErrTruncated", cut, len(pic), err)
		}
	}
}

func TestNextSkipsDamageBetweenPictures(t *testing.T) {
	a, b := goJPEG(t, 16, 16), goJPEG(t, 24, 8)
	damaged := append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01}, 0xFF, 0xD9) // bad segment length
	stream := append(append(append(append([]byte{}, a...), "\x00\x00junk"...), damaged...), b...)

	var got [][]byte
	var skipped int
	for len(stream) > 0 {
		skip, n, err := Next(stream)
		if err != nil {
			if errors.Is(err, ErrTruncated) && skip == len(stream)-2 {
				break
			}
			t.Fatalf("Next: skip %d, n %d, %v", skip, n, err)
		}
		skipped += skip
		got = append(got, stream[skip:skip+n])
		stream = stream[skip+n:]
	}
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("found %d pictures, want the two good ones", len(got))
	}
	if want := len("\x00\x00junk") + len(damaged); skipped != want {
		t.Fatalf("skipped %d bytes, want %d", skipped, want)
	}
}

func TestNextWaitsForMoreData(t *testing.T) {
	pic := goJPEG(t, 16, 16)
	skip, _, err := Next(append([]byte("xx"), pic[:len(pic)/2]...))
	if !errors.Is(err, ErrTruncated) || skip != 2 {
		t.Fatalf("half a picture after 2 junk bytes: skip %d, %v; want 2, ErrTruncated", skip, err)
	}
	// A partial SOI at the end of the data is kept for the next call.
	skip, _, err = Next([]byte{1, 2, 3, 0xFF, 0xD8})
	if !errors.Is(err, ErrTruncated) || skip != 3 {
		t.Fatalf("partial SOI at the end: skip %d, %v; want 3, ErrTruncated", skip, err)
	}
}

// FuzzLength checks Length's promises on any input: no panic, a length
// within the data that ends in EOI and is stable, and the picture less its
// last byte reported truncated.
func FuzzLength(f *testing.F) {
	f.Add(goJPEG(f, 16, 16))
	f.Add(withEXIFThumbnail(goJPEG(f, 16, 8), goJPEG(f, 8, 8)))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0x00, 0xFF, 0xD0, 0xFF, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Length(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is neither ErrTruncated nor ErrMalformed: %v", err)
			}
			return
		}
		if n < 4 || n > len(b) || b[n-2] != 0xFF || b[n-1] != 0xD9 {
			t.Fatalf("Length = %d of %d bytes, not ending in EOI", n, len(b))
		}
		if m, err := Length(b[:n]); m != n || err != nil {
			t.Fatalf("Length(b[:%d]) = %d, %v", n, m, err)
		}
		if _, err := Length(b[:n-1]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("the picture less its last byte: err = %v, want ErrTruncated", err)
		}
	})
}
