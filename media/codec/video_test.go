package codec

import (
	"bytes"
	"errors"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/mediatest"
	"github.com/roomd/roomd/media/capture"
)

type videoCodec struct {
	name string
	mime string
	enc  func(VideoConfig) (VideoEncoder, error)
	dec  func() (VideoDecoder, error)
}

// videoCodecs are the codecs every video test runs on; vp8_test.go adds
// VP8 unless built with -tags novpx.
var videoCodecs = []videoCodec{
	{"H264", MimeH264, NewH264, NewH264Decoder},
}

// frames makes n pattern frames (copies, so they can be kept).
func frames(t testing.TB, w, h, n int) []*image.YCbCr {
	return mediatest.PatternFrames(t, w, h, n)
}

func TestVideoRoundTrip(t *testing.T) {
	src := frames(t, 640, 360, 40)
	for _, vc := range videoCodecs {
		t.Run(vc.name, func(t *testing.T) {
			enc, err := vc.enc(VideoConfig{Width: 640, Height: 360, FPS: 30, BitRate: 1_500_000, KeyFrameInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			dec, err := vc.dec()
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			var keys []int
			dropped := 0
			worst := 100.0
			for n, img := range src {
				if n == 20 {
					enc.ForceKeyFrame()
				}
				frame, key, err := enc.Encode(img)
				if err != nil {
					t.Fatalf("frame %d: %v", n, err)
				}
				if len(frame) == 0 {
					dropped++
					continue
				}
				if key {
					keys = append(keys, n)
					if vc.mime == MimeH264 {
						types := H264NALTypes(frame)
						if !slices.Contains(types, nalSPS) || !slices.Contains(types, nalPPS) || !slices.Contains(types, nalIDR) {
							t.Fatalf("key frame %d has NAL types %v, want SPS, PPS and IDR", n, types)
						}
					}
				}
				out, err := dec.Decode(frame)
				if err != nil || out == nil {
					t.Fatalf("decoding frame %d: %v, %v", n, out, err)
				}
				if out.Rect != img.Rect {
					t.Fatalf("decoded frame %d is %v, want %v", n, out.Rect, img.Rect)
				}
				if c, err := capture.ReadPatternCounter(out); err != nil || c != uint64(n) {
					t.Fatalf("decoded frame %d reads as frame %d (%v)", n, c, err)
				}
				p := psnrY(img, out)
				worst = min(worst, p)
				if p < 30 {
					t.Fatalf("frame %d: PSNR %.1f dB, want > 30", n, p)
				}
			}
			if !slices.Equal(keys, []int{0, 20}) {
				t.Fatalf("key frames at %v, want [0 20] (start and ForceKeyFrame only)", keys)
			}
			if dropped > 2 {
				t.Fatalf("%d of %d frames dropped at 1.5 Mbit/s", dropped, len(src))
			}
			t.Logf("%s 640x360 at 1.5 Mbit/s: worst PSNR %.1f dB, %d dropped", vc.name, worst, dropped)
		})
	}
}

func TestSetBitRateChangesFrameSizes(t *testing.T) {
	src := frames(t, 640, 360, 60)
	for _, vc := range videoCodecs {
		t.Run(vc.name, func(t *testing.T) {
			enc, err := vc.enc(VideoConfig{Width: 640, Height: 360, FPS: 30, BitRate: 200_000, KeyFrameInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			encode := func() int {
				total := 0
				for _, img := range src {
					f, _, err := enc.Encode(img)
					if err != nil {
						t.Fatal(err)
					}
					total += len(f)
				}
				return total
			}
			low := encode() // includes the first key frame, which only helps "low"
			enc.SetBitRate(2_000_000)
			high := encode()
			// 60 frames at 30 fps are 2 s: 50 kB at 200 kbit/s, 500 kB at 2 Mbit/s.
			t.Logf("%s: 60 frames at 200 kbit/s: %d B; at 2 Mbit/s: %d B", vc.name, low, high)
			if low > 100_000 {
				t.Errorf("at 200 kbit/s the encoder made %d B in 2 s, want about 50 kB", low)
			}
			if high < 4*low || high < 200_000 {
				t.Errorf("SetBitRate(2 Mbit/s) made %d B after %d B at 200 kbit/s; want > 4× and > 200 kB", high, low)
			}
		})
	}
}

func TestEncoderFollowsPictureSize(t *testing.T) {
	big, small := frames(t, 640, 360, 3), frames(t, 320, 240, 3)
	for _, vc := range videoCodecs {
		t.Run(vc.name, func(t *testing.T) {
			enc, _ := vc.enc(VideoConfig{Width: 640, Height: 360, KeyFrameInterval: -1})
			defer enc.Close()
			dec, _ := vc.dec()
			defer dec.Close()
			for i, img := range append(big, small...) {
				f, key, err := enc.Encode(img)
				if err != nil {
					t.Fatal(err)
				}
				if want := i == 0 || i == 3; key != want {
					t.Fatalf("frame %d (%v): key %v, want %v", i, img.Rect.Size(), key, want)
				}
				if len(f) == 0 {
					continue // dropped by rate control
				}
				out, err := dec.Decode(f)
				if err != nil || out == nil || out.Rect != img.Rect {
					t.Fatalf("frame %d: decoded %v, %v; want %v (NALs %v)", i, out != nil, err, img.Rect, H264NALTypes(f))
				}
			}
			if _, _, err := enc.Encode(image.NewYCbCr(image.Rect(0, 0, 33, 33), image.YCbCrSubsampleRatio420)); err == nil {
				t.Fatal("an odd-sized picture was accepted")
			}
		})
	}
}

// Any image type is accepted and converted.
func TestEncoderConvertsRGBA(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for i := range rgba.Pix {
		rgba.Pix[i] = byte(i)
	}
	for _, vc := range videoCodecs {
		enc, _ := vc.enc(VideoConfig{Width: 160, Height: 120})
		f, key, err := enc.Encode(rgba)
		if err != nil || !key || len(f) == 0 {
			t.Errorf("%s: RGBA picture: %d bytes, key %v, %v", vc.name, len(f), key, err)
		}
		enc.Close()
	}
}

func TestDecoderAsksForKeyFrame(t *testing.T) {
	src := frames(t, 320, 240, 3)
	for _, vc := range videoCodecs {
		t.Run(vc.name, func(t *testing.T) {
			enc, _ := vc.enc(VideoConfig{Width: 320, Height: 240, KeyFrameInterval: -1})
			defer enc.Close()
			enc.Encode(src[0])
			enc1, _, _ := enc.Encode(src[1])
			enc.ForceKeyFrame()
			enc2, key, _ := enc.Encode(src[2])
			if !key {
				t.Fatal("ForceKeyFrame did not give a key frame")
			}
			dec, _ := vc.dec()
			defer dec.Close()
			// Joining mid-stream: a delta frame first.
			if _, err := dec.Decode(enc1); !errors.Is(err, ErrNeedKeyFrame) {
				t.Fatalf("delta frame first: %v, want ErrNeedKeyFrame", err)
			}
			out, err := dec.Decode(enc2)
			if err != nil || out == nil {
				t.Fatalf("key frame after the error: %v, %v", out, err)
			}
			if c, err := capture.ReadPatternCounter(out); err != nil || c != 2 {
				t.Fatalf("key frame decodes as frame %d, %v", c, err)
			}
			// Garbage must be an error, not a crash.
			junk := bytes.Repeat([]byte{0x5a, 0x00, 0x00, 0x01, 0x41, 0xff}, 50)
			if _, err := dec.Decode(junk); err == nil {
				t.Log("garbage decoded without error (tolerated, no crash)")
			}
			dec.Close()
			if _, err := dec.Decode(enc2); !errors.Is(err, ErrClosed) {
				t.Fatalf("Decode after Close = %v", err)
			}
		})
	}
}

func TestEncoderClose(t *testing.T) {
	img := frames(t, 160, 120, 1)[0]
	for _, vc := range videoCodecs {
		enc, _ := vc.enc(VideoConfig{Width: 160, Height: 120})
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatalf("%s: second Close: %v", vc.name, err)
		}
		if _, _, err := enc.Encode(img); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: Encode after Close = %v", vc.name, err)
		}
	}
}

// ForceKeyFrame and SetBitRate come from RTCP and congestion-control
// goroutines while Encode runs; the race detector watches this.
func TestEncoderControlsFromOtherGoroutines(t *testing.T) {
	src := frames(t, 320, 240, 30)
	for _, vc := range videoCodecs {
		enc, _ := vc.enc(VideoConfig{Width: 320, Height: 240, KeyFrameInterval: -1})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 50 {
				enc.SetBitRate(300_000 + i*10_000)
				if i%10 == 0 {
					enc.ForceKeyFrame()
				}
				time.Sleep(time.Millisecond)
			}
		}()
		for _, img := range src {
			if _, _, err := enc.Encode(img); err != nil {
				t.Fatal(err)
			}
		}
		<-done
		enc.Close()
	}
}

func TestNewVideoDecoderByMIME(t *testing.T) {
	for _, m := range []string{MimeH264, "video/h264"} {
		d, err := NewVideoDecoder(m)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		d.Close()
	}
	if _, err := NewVideoDecoder("video/AV1"); err == nil || !strings.HasPrefix(err.Error(), "codec: ") {
		t.Fatalf("AV1: %v", err)
	}
}

func TestH264ParameterSetsRepeated(t *testing.T) {
	sps, pps := []byte{0x67, 0x42, 0xc0, 0x1f}, []byte{0x68, 0xce, 0x3c, 0x80}
	idr, p := []byte{0x65, 0x88, 0x84}, []byte{0x41, 0x9a, 0x02}
	au := func(nals ...[]byte) []byte {
		var b []byte
		for i, n := range nals {
			if i%2 == 0 {
				b = append(b, 0, 0, 0, 1)
			} else {
				b = append(b, 0, 0, 1)
			}
			b = append(b, n...)
		}
		return b
	}
	var ps paramSets
	if out, key := ps.post(au(sps, pps, idr)); !key || !bytes.Equal(out, au(sps, pps, idr)) {
		t.Fatalf("first key frame changed: %x", out)
	}
	if out, key := ps.post(au(p)); key || !bytes.Equal(out, au(p)) {
		t.Fatalf("delta frame changed or marked key: %x", out)
	}
	out, key := ps.post(au(idr))
	if !key || !slices.Equal(H264NALTypes(out), []int{nalSPS, nalPPS, nalIDR}) {
		t.Fatalf("bare IDR became %v (key %v), want SPS PPS IDR", H264NALTypes(out), key)
	}
}

func BenchmarkEncodeH264_720p(b *testing.B) { benchEncode(b, NewH264) }
func BenchmarkDecodeH264_720p(b *testing.B) { benchDecode(b, NewH264, NewH264Decoder) }

// bench720p is the call the benchmark compares: 1280×720 at 30 fps
// and about 2.5 Mbit/s.
var bench720p = VideoConfig{Width: 1280, Height: 720, FPS: 30, BitRate: 2_500_000}

func benchEncode(b *testing.B, mk func(VideoConfig) (VideoEncoder, error)) {
	src := frames(b, 1280, 720, 30)
	enc, err := mk(bench720p)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	bytes, n := 0, 0
	for b.Loop() {
		f, _, err := enc.Encode(src[n%len(src)])
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(f)
		n++
	}
	b.ReportMetric(float64(bytes)*8*30/float64(n)/1e6, "Mbit/s@30fps")
}

func benchDecode(b *testing.B, mk func(VideoConfig) (VideoEncoder, error), mkDec func() (VideoDecoder, error)) {
	src := frames(b, 1280, 720, 60)
	cfg := bench720p
	cfg.KeyFrameInterval = 2 * time.Second // one key frame per cycle of 60
	enc, err := mk(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var encoded [][]byte
	for _, img := range src {
		f, _, err := enc.Encode(img)
		if err != nil {
			b.Fatal(err)
		}
		if len(f) > 0 {
			encoded = append(encoded, f)
		}
	}
	enc.Close()
	dec, err := mkDec()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	n := 0
	for b.Loop() {
		if _, err := dec.Decode(encoded[n%len(encoded)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
