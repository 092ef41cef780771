package sframe

import (
	"bytes"
	"testing"

	"github.com/roomd/roomd/media/e2ee"
)

// FuzzParseHeader: the parser never panics, and whatever it accepts
// re-encodes to the same bytes (one encoding per header).
func FuzzParseHeader(f *testing.F) {
	for _, tv := range loadVectors(f).Header {
		f.Add([]byte(tv.Encoded))
	}
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if err != nil {
			return
		}
		if n > len(b) || n > MaxHeaderLen || n != h.Len() {
			t.Fatalf("ParseHeader(%x) = %+v, %d", b, h, n)
		}
		if enc := h.Append(nil); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("ParseHeader(%x) = %+v, which encodes as %x", b, h, enc)
		}
	})
}

// FuzzDecrypt: Decrypt never panics on any input, and accepts a frame only
// if it is byte for byte one the sender produced (with its metadata).
func FuzzDecrypt(f *testing.F) {
	key := e2ee.NewSecret([]byte("fuzzing base key"))
	suites := []CipherSuite{AES128CTRHMACSHA256_80, AES128CTRHMACSHA256_64, AES128CTRHMACSHA256_32, AES128GCMSHA256_128, AES256GCMSHA512_128}
	type sent struct{ frame, pt []byte }
	var genuine [][]sent
	for _, s := range suites {
		snd, err := NewSender(s, 9, key)
		if err != nil {
			f.Fatal(err)
		}
		var frames []sent
		for _, pt := range [][]byte{nil, []byte("a"), bytes.Repeat([]byte{0x42}, 300)} {
			ct, err := snd.Encrypt(nil, pt, []byte("meta"))
			if err != nil {
				f.Fatal(err)
			}
			frames = append(frames, sent{ct, pt})
			f.Add(uint8(len(genuine)), ct, []byte("meta"))
		}
		genuine = append(genuine, frames)
	}
	for _, tv := range loadVectors(f).SFrame {
		f.Add(uint8(tv.Suite-1), []byte(tv.CT), []byte(tv.Metadata))
	}
	f.Fuzz(func(t *testing.T, suiteIdx uint8, frame, metadata []byte) {
		i := int(suiteIdx) % len(suites)
		r, err := NewReceiver(suites[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.SetKey(9, key); err != nil {
			t.Fatal(err)
		}
		pt, _, err := r.Decrypt(nil, frame, metadata)
		if err != nil {
			return
		}
		for _, g := range genuine[i] {
			if bytes.Equal(g.frame, frame) && string(metadata) == "meta" && bytes.Equal(g.pt, pt) {
				return
			}
		}
		t.Fatalf("suite %v accepted a frame the sender never made: %x (metadata %q) -> %x", suites[i], frame, metadata, pt)
	})
}
