package lkframe

import (
	"bytes"
	"testing"

	"github.com/roomd/roomd/media/e2ee"
)

// FuzzDecrypt: Decrypt never panics, and accepts only frames the encryptor
// made (for the codec and frame type they were made for).
func FuzzDecrypt(f *testing.F) {
	r, err := NewKeyRing(nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := r.SetPassphrase(0, e2ee.Passphrase("fuzz"), true); err != nil {
		f.Fatal(err)
	}
	enc, dec := NewEncryptor(r), NewDecryptor(r, &DecryptorOptions{SIFTrailer: []byte("SIF")})
	type made struct {
		codec Codec
		key   bool
		ct    []byte
	}
	var genuine []made
	for _, s := range sampleFrames() {
		// Fuzz workers rebuild this list: the frame counts must not be random.
		enc.counts[s.SSRC] = 0
	}
	for _, s := range sampleFrames() {
		ct, err := enc.Encrypt(nil, s)
		if err != nil {
			f.Fatal(err)
		}
		genuine = append(genuine, made{s.Codec, s.KeyFrame, ct})
		f.Add(uint8(s.Codec), s.KeyFrame, ct)
	}
	f.Add(uint8(VP8), true, append(append([]byte(nil), serverFillers[0]...), "SIF"...))
	f.Fuzz(func(t *testing.T, codec uint8, key bool, data []byte) {
		fr := Frame{Codec: Codec(codec % 3), KeyFrame: key, Data: data}
		got, err := dec.Decrypt(nil, fr)
		if err != nil || len(data) == 0 || got.ServerInjected {
			return
		}
		for _, g := range genuine {
			if bytes.Equal(g.ct, data) {
				return
			}
		}
		t.Fatalf("accepted a frame never encrypted: %v key=%v %x", fr.Codec, key, data)
	})
}
