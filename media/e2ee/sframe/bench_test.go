package sframe

import (
	"fmt"
	"testing"

	"github.com/roomd/roomd/media/e2ee"
)

// BenchmarkRoundTrip encrypts and decrypts one frame: 160 B is a 20 ms Opus
// frame, 20 KB a 720p VP8/H.264 frame at 2.5 Mbit/s and 30 fps (a key frame
// is larger, a delta frame smaller).
func BenchmarkRoundTrip(b *testing.B) {
	key := e2ee.NewSecret([]byte("benchmark base key"))
	for _, suite := range []CipherSuite{AES128GCMSHA256_128, AES128CTRHMACSHA256_80} {
		for _, size := range []int{160, 20 << 10} {
			b.Run(fmt.Sprintf("%v/%dB", suite, size), func(b *testing.B) {
				s, _ := NewSender(suite, 1, key)
				r, _ := NewReceiver(suite, &ReceiverOptions{ReplayWindow: -1})
				if err := r.SetKey(1, key); err != nil {
					b.Fatal(err)
				}
				pt := make([]byte, size)
				ct := make([]byte, 0, size+64)
				out := make([]byte, 0, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if ct, err = s.Encrypt(ct[:0], pt, nil); err != nil {
						b.Fatal(err)
					}
					if out, _, err = r.Decrypt(out[:0], ct, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
