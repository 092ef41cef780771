package sframe

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxHeaderLen is the longest SFrame header: the config byte and two
// eight-byte values.
const MaxHeaderLen = 1 + 8 + 8

// ErrMalformedHeader is returned for a header that is cut short or does not
// use the minimal encoding RFC 9605 §4.3 requires.
var ErrMalformedHeader = errors.New("sframe: malformed header")

// Header is the clear part of an SFrame ciphertext (RFC 9605 §4.3): which
// key (KID) and which counter (CTR) encrypted the frame.
type Header struct {
	KID uint64
	CTR uint64
}

// Len is the encoded length of h.
func (h Header) Len() int { return 1 + valueLen(h.KID) + valueLen(h.CTR) }

// Append appends h's minimal encoding to b.
func (h Header) Append(b []byte) []byte {
	kl, cl := valueLen(h.KID), valueLen(h.CTR)
	var config byte
	if kl == 0 {
		config |= byte(h.KID) << 4
	} else {
		config |= 0x80 | byte(kl-1)<<4
	}
	if cl == 0 {
		config |= byte(h.CTR)
	} else {
		config |= 0x08 | byte(cl-1)
	}
	b = append(b, config)
	b = appendValue(b, h.KID, kl)
	return appendValue(b, h.CTR, cl)
}

// ParseHeader reads the header at the start of frame and returns it with
// its encoded length. It refuses non-minimal encodings, so a header has one
// encoding only.
func ParseHeader(frame []byte) (Header, int, error) {
	if len(frame) == 0 {
		return Header{}, 0, fmt.Errorf("%w: empty frame", ErrMalformedHeader)
	}
	config := frame[0]
	n := 1
	kid, n, err := readValue(frame, n, config>>4)
	if err != nil {
		return Header{}, 0, fmt.Errorf("%w: key id: %v", ErrMalformedHeader, err)
	}
	ctr, n, err := readValue(frame, n, config&0x0f)
	if err != nil {
		return Header{}, 0, fmt.Errorf("%w: counter: %v", ErrMalformedHeader, err)
	}
	return Header{KID: kid, CTR: ctr}, n, nil
}

// readValue decodes one 4-bit field (flag and three bits) and the bytes it
// announces, starting at frame[n].
func readValue(frame []byte, n int, field byte) (uint64, int, error) {
	if field&0x08 == 0 {
		return uint64(field & 0x07), n, nil
	}
	l := int(field&0x07) + 1
	if len(frame) < n+l {
		return 0, 0, fmt.Errorf("needs %d bytes, %d left", l, len(frame)-n)
	}
	var v uint64
	for _, c := range frame[n : n+l] {
		v = v<<8 | uint64(c)
	}
	if valueLen(v) != l {
		return 0, 0, fmt.Errorf("value %d sent in %d bytes, not the minimum", v, l)
	}
	return v, n + l, nil
}

// valueLen is how many bytes follow the config byte for v: none for 0-7,
// else the fewest that hold it.
func valueLen(v uint64) int {
	if v < 8 {
		return 0
	}
	l := 1
	for v >>= 8; v != 0; v >>= 8 {
		l++
	}
	return l
}

func appendValue(b []byte, v uint64, l int) []byte {
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], v)
	return append(b, be[8-l:]...)
}
