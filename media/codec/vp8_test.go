//go:build !novpx

package codec

import (
	"testing"
	"time"
)

func init() {
	videoCodecs = append(videoCodecs, videoCodec{"VP8", MimeVP8, newVP8AtNominalRate, NewVP8Decoder})
}

// newVP8AtNominalRate makes a VP8 encoder that sees every frame arrive at
// once, as from an unpaced source, whatever the machine's load: each frame
// then counts for the nominal frame interval, so rate control results do
// not depend on how fast the test machine encodes.
func newVP8AtNominalRate(cfg VideoConfig) (VideoEncoder, error) {
	enc, err := NewVP8(cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	enc.(*vp8Encoder).now = func() time.Time { return start }
	return enc, nil
}

// A camera that delivers fewer frames than configured gets more bits per
// frame, so the bitrate holds: VP8 times frames by their arrival.
func TestVP8TimesFramesByArrival(t *testing.T) {
	src := frames(t, 640, 360, 60)
	perFrame := func(interval time.Duration) int {
		enc, err := NewVP8(VideoConfig{Width: 640, Height: 360, FPS: 30, BitRate: 300_000, KeyFrameInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		now := time.Now()
		enc.(*vp8Encoder).now = func() time.Time { now = now.Add(interval); return now }
		total := 0
		for i, img := range src {
			f, _, err := enc.Encode(img)
			if err != nil {
				t.Fatal(err)
			}
			if i >= 20 { // past the key frame and the start-up
				total += len(f)
			}
		}
		return total / 40
	}
	at30, at10 := perFrame(time.Second/30), perFrame(time.Second/10)
	t.Logf("300 kbit/s: %d B a frame at 30 fps, %d B at 10 fps", at30, at10)
	if at10 < 2*at30 {
		t.Fatalf("frames arriving at 10 fps got %d B each, at 30 fps %d B: want about 3x", at10, at30)
	}
}

func TestSelectVP8(t *testing.T) {
	for _, c := range []struct {
		codecs []string
		want   string
	}{
		{[]string{MimeVP8}, "using libvpx software (VP8)"},
		{[]string{"video/AV1", "video/vp8"}, "video/AV1: roomd has no encoder for it; using libvpx software (VP8)"},
	} {
		sel, err := Select(Preferences{Codecs: c.codecs}, selectCfg)
		if err != nil {
			t.Fatal(err)
		}
		sel.Encoder.Close()
		if sel.Codec != MimeVP8 || sel.Reason != c.want {
			t.Errorf("%v: chose %s because %q, want VP8 because %q", c.codecs, sel.Codec, sel.Reason, c.want)
		}
	}
	d, err := NewVideoDecoder(MimeVP8)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}

func BenchmarkEncodeVP8_720p(b *testing.B) { benchEncode(b, NewVP8) }
func BenchmarkDecodeVP8_720p(b *testing.B) { benchDecode(b, NewVP8, NewVP8Decoder) }
