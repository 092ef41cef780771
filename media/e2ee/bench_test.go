package e2ee_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/media/e2ee"
	"github.com/roomd/roomd/media/e2ee/lkframe"
	"github.com/roomd/roomd/media/e2ee/sframe"
)

// Frame sizes: 160 B is a 20 ms Opus frame; 20 KB a 720p frame at
// 2.5 Mbit/s and 30 fps (key frames are larger, delta frames smaller).
var sizes = []int{160, 20 << 10}

// processCPU is the CPU time the whole process has used: on a shared
// machine it is steadier than wall time, and it counts the GC's work.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// roundTrips runs encrypt+decrypt b.N times and reports CPU per frame.
func roundTrips(b *testing.B, size int, roundTrip func() error) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	start := processCPU(b)
	for b.Loop() {
		if err := roundTrip(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSFrameRoundTrip encrypts and decrypts one frame with SFrame.
func BenchmarkSFrameRoundTrip(b *testing.B) {
	key := e2ee.NewSecret([]byte("benchmark base key"))
	for _, suite := range []sframe.CipherSuite{sframe.AES128GCMSHA256_128, sframe.AES128CTRHMACSHA256_80} {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("%v/%dB", suite, size), func(b *testing.B) {
				s, err := sframe.NewSender(suite, 1, key)
				if err != nil {
					b.Fatal(err)
				}
				r, _ := sframe.NewReceiver(suite, nil)
				if err := r.SetKey(1, key); err != nil {
					b.Fatal(err)
				}
				pt, ct, out := make([]byte, size), make([]byte, 0, size+64), make([]byte, 0, size)
				roundTrips(b, size, func() (err error) {
					if ct, err = s.Encrypt(ct[:0], pt, nil); err != nil {
						return err
					}
					out, _, err = r.Decrypt(out[:0], ct, nil)
					return err
				})
			})
		}
	}
}

// BenchmarkLiveKitRoundTrip encrypts and decrypts one frame in LiveKit's
// format: a VP8 delta frame and an Opus frame.
func BenchmarkLiveKitRoundTrip(b *testing.B) {
	ring, _ := lkframe.NewKeyRing(nil)
	if err := ring.SetPassphrase(0, e2ee.Passphrase("benchmark"), true); err != nil {
		b.Fatal(err)
	}
	enc, dec := lkframe.NewEncryptor(ring), lkframe.NewDecryptor(ring, nil)
	for i, codec := range []lkframe.Codec{lkframe.Opus, lkframe.VP8} {
		size := sizes[i]
		b.Run(fmt.Sprintf("%v/%dB", codec, size), func(b *testing.B) {
			f := lkframe.Frame{Codec: codec, Data: make([]byte, size)}
			f.Data[0] = 1 // VP8: a delta frame
			ct, out := make([]byte, 0, size+64), make([]byte, 0, size)
			roundTrips(b, size, func() (err error) {
				if ct, err = enc.Encrypt(ct[:0], f); err != nil {
					return err
				}
				_, err = dec.Decrypt(out[:0], lkframe.Frame{Codec: codec, Data: ct})
				return err
			})
		})
	}
}
