// Package jpegstream finds where JPEG pictures begin and end in a byte
// stream, in pure Go and without decoding them: ffmpeg's `-f mjpeg` output
// and a camera's MJPEG frames are JPEG pictures back to back.
//
// It walks the marker segments by their lengths, so an EOI inside an APPn
// segment (an EXIF thumbnail is a whole JPEG) does not end the picture, and
// scans entropy-coded data for the next marker, where byte stuffing (0xFF
// 0x00) and restart markers are data.
package jpegstream

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrTruncated means the data ends before the picture's EOI marker: a
// camera's short frame, or a stream that needs more bytes.
var ErrTruncated = errors.New("jpegstream: picture truncated (no EOI marker before the end of the data)")

// ErrMalformed means the data is not a well-formed JPEG picture.
var ErrMalformed = errors.New("jpegstream: malformed JPEG picture")

// JPEG markers (ITU T.81 table B.1).
const (
	markerSOI  = 0xD8
	markerEOI  = 0xD9
	markerSOS  = 0xDA
	markerTEM  = 0x01
	markerRST0 = 0xD0
	markerRST7 = 0xD7
)

// soi is how every JPEG picture begins: SOI and the next marker's 0xFF.
var soi = []byte{0xFF, markerSOI, 0xFF}

// Length returns the length of the JPEG picture at the start of b, up to and
// including its EOI marker; bytes after it are not looked at. It fails with
// ErrTruncated when b ends first (more data may complete it) and with
// ErrMalformed when b is not a JPEG picture.
func Length(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, ErrTruncated
	}
	if b[0] != 0xFF || b[1] != markerSOI {
		return 0, fmt.Errorf("%w: does not start with an SOI marker (FF D8)", ErrMalformed)
	}
	i := 2
	for {
		m, next, err := marker(b, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch {
		case m == markerEOI:
			return i, nil
		case m == markerSOI:
			return 0, fmt.Errorf("%w: SOI marker at byte %d inside a picture", ErrMalformed, i-2)
		case m == markerTEM || (m >= markerRST0 && m <= markerRST7):
			continue // no length field
		}
		if len(b) < i+2 {
			return 0, ErrTruncated
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 {
			return 0, fmt.Errorf("%w: marker FF %02X at byte %d has length %d", ErrMalformed, m, i-2, n)
		}
		i += n
		if i > len(b) {
			return 0, ErrTruncated
		}
		if m == markerSOS {
			if i, err = skipEntropyData(b, i); err != nil {
				return 0, err
			}
		}
	}
}

// marker reads the marker at b[i:], skipping fill bytes (0xFF), and returns
// its code and the index after it.
func marker(b []byte, i int) (byte, int, error) {
	if i >= len(b) {
		return 0, 0, ErrTruncated
	}
	if b[i] != 0xFF {
		return 0, 0, fmt.Errorf("%w: byte %d is %02X where a marker should start", ErrMalformed, i, b[i])
	}
	for i < len(b) && b[i] == 0xFF {
		i++
	}
	if i >= len(b) {
		return 0, 0, ErrTruncated
	}
	if b[i] == 0x00 {
		return 0, 0, fmt.Errorf("%w: stuffed byte (FF 00) at byte %d outside entropy-coded data", ErrMalformed, i-1)
	}
	return b[i], i + 1, nil
}

// skipEntropyData returns the index of the first marker after the
// entropy-coded data starting at b[i:]: 0xFF followed by anything but a
// stuffed 0x00, a restart marker or more 0xFF fill.
func skipEntropyData(b []byte, i int) (int, error) {
	for {
		j := bytes.IndexByte(b[i:], 0xFF)
		if j < 0 {
			return 0, ErrTruncated
		}
		i += j
		k := i + 1
		for k < len(b) && b[k] == 0xFF {
			k++
		}
		if k >= len(b) {
			return 0, ErrTruncated
		}
		if c := b[k]; c == 0x00 || (c >= markerRST0 && c <= markerRST7) {
			i = k + 1
			continue
		}
		return i, nil
	}
}

// Next finds the next picture in b: it returns how many bytes precede it
// (not part of any picture: padding or damage, for the caller to skip) and
// its length. When b holds no complete picture it returns the error of the
// first candidate; ErrTruncated with skip set says where to resume once
// more data has arrived.
func Next(b []byte) (skip, n int, err error) {
	for {
		j := bytes.Index(b[skip:], soi)
		if j < 0 {
			// Keep a possible partial SOI at the end for the next call.
			return max(skip, len(b)-len(soi)+1), 0, ErrTruncated
		}
		skip += j
		n, err = Length(b[skip:])
		if !errors.Is(err, ErrMalformed) {
			return skip, n, err
		}
		skip++ // damaged picture: look for the next SOI
	}
}
