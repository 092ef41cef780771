package codec

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/roomd/roomd/media/capture"
)

// newH264AtNominalRate makes an H.264 encoder (whose time stamps always
// advance at the nominal rate) for tests that look inside it.
func newH264AtNominalRate(t *testing.T, cfg VideoConfig) *h264Encoder {
	t.Helper()
	enc, err := NewH264(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc.(*h264Encoder)
}

// spsOf returns the first SPS of an access unit.
func spsOf(au []byte) []byte {
	var sps []byte
	forEachNAL(au, func(nal []byte) {
		if sps == nil && nal[0]&0x1f == nalSPS {
			sps = bytes.Clone(nal)
		}
	})
	return sps
}

// A picture of another size restarts OpenH264 at that size: the first
// frame after is an IDR with the new size's parameter sets, which a
// decoder that only ever saw the new size can start from.
func TestH264RestartsOnSizeChange(t *testing.T) {
	big, small := frames(t, 640, 360, 4), frames(t, 320, 240, 4)
	e := newH264AtNominalRate(t, VideoConfig{Width: 640, Height: 360, KeyFrameInterval: -1})
	var firstSPS []byte
	for i, img := range append(append(big, small...), big...) {
		f, key, err := e.Encode(img)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		restart := i%4 == 0
		if key != restart {
			t.Fatalf("frame %d (%v): key %v, want %v", i, img.Rect.Size(), key, restart)
		}
		if sz := img.Rect.Size(); e.cfg.Width != sz.X || e.cfg.Height != sz.Y {
			t.Fatalf("frame %d: encoder at %dx%d, picture %v", i, e.cfg.Width, e.cfg.Height, sz)
		}
		if !restart {
			continue
		}
		types := H264NALTypes(f)
		if len(types) < 3 || types[0] != nalSPS || types[1] != nalPPS || !slices.Contains(types, nalIDR) {
			t.Fatalf("frame %d: restart frame has NALs %v, want SPS, PPS, then IDR", i, types)
		}
		sps := spsOf(f)
		switch i {
		case 0:
			firstSPS = sps
		case 4:
			if bytes.Equal(sps, firstSPS) {
				t.Fatalf("320x240 restart kept the 640x360 SPS %x", sps)
			}
		case 8:
			if !bytes.Equal(sps, firstSPS) {
				t.Fatalf("back at 640x360 the SPS is %x, want %x as at the start", sps, firstSPS)
			}
		}
		dec, err := NewH264Decoder()
		if err != nil {
			t.Fatal(err)
		}
		out, err := dec.Decode(f)
		if err != nil || out == nil || out.Rect != img.Rect {
			t.Fatalf("frame %d: a fresh decoder gave %v, %v; want a %v picture", i, out != nil, err, img.Rect)
		}
		dec.Close()
	}
}

// SetBitRate works both ways: OpenH264 refuses a maximum below the
// target, so lowering and raising set them in opposite orders.
func TestH264SetBitRateBothWays(t *testing.T) {
	src := frames(t, 640, 360, 60)
	e := newH264AtNominalRate(t, VideoConfig{Width: 640, Height: 360, FPS: 30, BitRate: 2_000_000, KeyFrameInterval: -1})
	// encode returns the bytes of the last 30 of 60 frames (1 s), once the
	// rate control has settled on the new target.
	encode := func() int {
		total := 0
		for i, img := range src {
			f, _, err := e.Encode(img)
			if err != nil {
				t.Fatal(err)
			}
			if i >= 30 {
				total += len(f)
			}
		}
		return total
	}
	high := encode()
	e.SetBitRate(200_000)
	low := encode()
	if e.cfg.BitRate != 200_000 {
		t.Fatalf("after SetBitRate(200 kbit/s) the encoder is at %d bit/s", e.cfg.BitRate)
	}
	e.SetBitRate(2_000_000)
	again := encode()
	t.Logf("1 s at 2 Mbit/s: %d B; lowered to 200 kbit/s: %d B; raised again: %d B", high, low, again)
	if low > 50_000 {
		t.Errorf("lowered to 200 kbit/s the encoder made %d B in 1 s, want about 25 kB", low)
	}
	if high < 4*low || again < 4*low {
		t.Errorf("2 Mbit/s made %d B and %d B, 200 kbit/s %d B; want > 4× apart", high, again, low)
	}
}

// ForceKeyFrame makes the next frame an IDR that carries SPS and PPS, so
// a receiver that joins there decodes it without anything earlier.
func TestH264ForceKeyFrame(t *testing.T) {
	src := frames(t, 320, 240, 12)
	e := newH264AtNominalRate(t, VideoConfig{Width: 320, Height: 240, KeyFrameInterval: -1})
	for i, img := range src {
		if i == 7 {
			e.ForceKeyFrame()
		}
		f, key, err := e.Encode(img)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		types := H264NALTypes(f)
		if want := i == 0 || i == 7; key != want || slices.Contains(types, nalIDR) != want {
			t.Fatalf("frame %d: key %v, NALs %v; want key %v", i, key, types, want)
		}
		if i != 7 {
			continue
		}
		if len(types) < 3 || types[0] != nalSPS || types[1] != nalPPS {
			t.Fatalf("forced key frame has NALs %v, want SPS, PPS, then IDR", types)
		}
		dec, err := NewH264Decoder()
		if err != nil {
			t.Fatal(err)
		}
		out, err := dec.Decode(f)
		if err != nil || out == nil {
			t.Fatalf("a fresh decoder could not start at the forced key frame: %v, %v", out != nil, err)
		}
		if c, err := capture.ReadPatternCounter(out); err != nil || c != 7 {
			t.Fatalf("forced key frame decodes as frame %d (%v), want 7", c, err)
		}
		dec.Close()
	}
}

// After Close every call is safe: Encode says ErrClosed, the controls do
// nothing, and Close again is no error.
func TestH264EncoderAfterClose(t *testing.T) {
	img := frames(t, 160, 120, 1)[0]
	enc, err := NewH264(VideoConfig{Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := enc.Encode(img); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	enc.ForceKeyFrame()
	enc.SetBitRate(500_000)
	if _, _, err := enc.Encode(img); !errors.Is(err, ErrClosed) {
		t.Fatalf("Encode after Close = %v, want ErrClosed", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := NewH264(VideoConfig{Width: 161, Height: 120}); err == nil {
		t.Fatal("an odd width was accepted")
	}
}
