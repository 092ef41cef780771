package lkframe

import (
	"fmt"
	"testing"

	"github.com/roomd/roomd/media/e2ee"
)

// BenchmarkRoundTrip encrypts and decrypts a 20 KB VP8 frame (720p at
// 2.5 Mbit/s, 30 fps) and a 160-byte Opus frame, as livekit-client does.
func BenchmarkRoundTrip(b *testing.B) {
	r, _ := NewKeyRing(nil)
	if err := r.SetPassphrase(0, e2ee.Passphrase("benchmark"), true); err != nil {
		b.Fatal(err)
	}
	enc, dec := NewEncryptor(r), NewDecryptor(r, nil)
	for _, f := range []Frame{{Codec: VP8, Data: make([]byte, 20<<10)}, {Codec: Opus, Data: make([]byte, 160)}} {
		b.Run(fmt.Sprintf("%v/%dB", f.Codec, len(f.Data)), func(b *testing.B) {
			f.Data[0] = 1 // a VP8 delta frame
			ct := make([]byte, 0, len(f.Data)+64)
			b.SetBytes(int64(len(f.Data)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if ct, err = enc.Encrypt(ct[:0], f); err != nil {
					b.Fatal(err)
				}
				if _, err := dec.Decrypt(nil, Frame{Codec: f.Codec, Data: ct}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
