package codec

import (
	"fmt"
	"image"
	"testing"
)

// h264NALRun is what encoding a clip made: the largest NAL unit, the
// bytes, and the worst and mean luma PSNR of the decoded frames.
type h264NALRun struct {
	largest, bytes, frames int
	worst, mean            float64
}

// encodeH264Clip encodes src with cfg, optionally calling midway before
// frame at, and decodes every frame, failing the test on any error.
func encodeH264Clip(t *testing.T, cfg VideoConfig, src []*image.YCbCr, at int, midway func(*h264Encoder)) h264NALRun {
	t.Helper()
	e := newH264AtNominalRate(t, cfg)
	dec, err := NewH264Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	r := h264NALRun{worst: 100}
	for i, img := range src {
		if i == at && midway != nil {
			midway(e)
		}
		f, key, err := e.Encode(img)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(f) == 0 {
			continue
		}
		if i == at && midway != nil && !key {
			t.Fatalf("frame %d: the first frame after a new NAL size limit is not a key frame", i)
		}
		r.largest = max(r.largest, H264LargestNAL(f))
		r.bytes += len(f)
		out, err := dec.Decode(f)
		if err != nil || out == nil {
			t.Fatalf("frame %d: decoding gave %v, %v", i, out != nil, err)
		}
		p := psnrY(img, out)
		r.worst = min(r.worst, p)
		r.mean += p
		r.frames++
	}
	r.mean /= float64(max(r.frames, 1))
	return r
}

// With MaxNALSize every NAL unit fits it (so packetization-mode 0 sends
// whole NAL units in packets under the MTU), where one slice per picture
// makes bigger ones, and the sliced stream decodes as well. The log lines
// are the cost of slicing in docs/benchmarks.md.
func TestH264MaxNALSize(t *testing.T) {
	const limit = 1200
	for _, tc := range []struct{ w, h, bps int }{{1280, 720, 1_500_000}, {640, 360, 600_000}} {
		t.Run(fmt.Sprintf("%dp", tc.h), func(t *testing.T) {
			src := frames(t, tc.w, tc.h, 30)
			cfg := VideoConfig{Width: tc.w, Height: tc.h, FPS: 30, BitRate: tc.bps, KeyFrameInterval: -1}
			whole := encodeH264Clip(t, cfg, src, -1, nil)
			cfg.MaxNALSize = limit
			sliced := encodeH264Clip(t, cfg, src, -1, nil)
			t.Logf("%dx%d at %d kbit/s, 30 frames: one slice: largest NAL %d B, %d B, PSNR mean %.2f worst %.2f dB; MaxNALSize %d: largest NAL %d B, %d B (%+.1f%%), PSNR mean %.2f worst %.2f dB",
				tc.w, tc.h, tc.bps/1000, whole.largest, whole.bytes, whole.mean, whole.worst,
				limit, sliced.largest, sliced.bytes, 100*float64(sliced.bytes-whole.bytes)/float64(whole.bytes), sliced.mean, sliced.worst)
			if whole.largest <= limit {
				t.Errorf("without a limit the largest NAL unit is %d B: the clip does not test the limit of %d B", whole.largest, limit)
			}
			if sliced.largest > limit {
				t.Errorf("with MaxNALSize %d a NAL unit is %d B", limit, sliced.largest)
			}
			if sliced.worst < 30 {
				t.Errorf("sliced stream: worst PSNR %.1f dB, want > 30", sliced.worst)
			}
		})
	}
}

// SetMaxNALSize takes effect at the next frame, which is a key frame, and
// 0 lifts the limit again.
func TestH264SetMaxNALSize(t *testing.T) {
	const limit = 1000
	src := frames(t, 640, 360, 12)
	cfg := VideoConfig{Width: 640, Height: 360, BitRate: 800_000, KeyFrameInterval: -1}
	limited := encodeH264Clip(t, cfg, src[:6], 0, func(e *h264Encoder) { e.SetMaxNALSize(limit) })
	if limited.largest > limit {
		t.Errorf("after SetMaxNALSize(%d) a NAL unit is %d B", limit, limited.largest)
	}
	cfg.MaxNALSize = limit
	lifted := encodeH264Clip(t, cfg, src[6:], 0, func(e *h264Encoder) { e.SetMaxNALSize(0) })
	if lifted.largest <= limit {
		t.Errorf("after SetMaxNALSize(0) the largest NAL unit is %d B, want the whole key frame's", lifted.largest)
	}
}

// A limit OpenH264 cannot slice to (a slice must hold its largest
// macroblock) is raised to H264MinNALSize rather than stopping the
// encoder, at the start and while it runs.
func TestH264MaxNALSizeTooSmall(t *testing.T) {
	src := frames(t, 320, 180, 4)
	cfg := VideoConfig{Width: 320, Height: 180, KeyFrameInterval: -1, MaxNALSize: 100}
	if r := encodeH264Clip(t, cfg, src, -1, nil); r.largest > H264MinNALSize {
		t.Errorf("MaxNALSize 100: largest NAL unit %d B, want ≤ %d", r.largest, H264MinNALSize)
	}
	cfg.MaxNALSize = 0
	if r := encodeH264Clip(t, cfg, src, 0, func(e *h264Encoder) { e.SetMaxNALSize(1) }); r.largest > H264MinNALSize {
		t.Errorf("SetMaxNALSize(1): largest NAL unit %d B, want ≤ %d", r.largest, H264MinNALSize)
	}
}
