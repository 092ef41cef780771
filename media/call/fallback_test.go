package call

import (
	"image"
	"log/slog"
	"strings"
	"testing"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// fallingEncoder is a hardware encoder that has switched to software.
type fallingEncoder struct{ reason string }

func (f *fallingEncoder) Encode(image.Image) ([]byte, bool, error) { return []byte{1}, false, nil }
func (f *fallingEncoder) ForceKeyFrame()                           {}
func (f *fallingEncoder) SetBitRate(int)                           {}
func (f *fallingEncoder) Close() error                             { return nil }
func (f *fallingEncoder) FallbackReason() string                   { return f.reason }

// Call Encoder keeps the selection's reason while the hardware encodes
// and says why once the encoder has fallen back to software.
func TestEncoderFallbackReachesStatus(t *testing.T) {
	var _ codec.RuntimeFallback = (*fallingEncoder)(nil)
	enc := &fallingEncoder{}
	e := &Engine{}
	e.stats.Encoder = "using v4l2m2m hardware (H.264) on /dev/video11"
	s := &sender{e: e, enc: codec.Selection{Encoder: enc}}
	var log strings.Builder
	l := slog.New(slog.NewTextHandler(&log, nil))
	s.noteFallback(l)
	if got := e.stats.Encoder; !strings.Contains(got, "hardware") || strings.Contains(got, "software") {
		t.Fatalf("before any failure Call Encoder = %q", got)
	}
	enc.reason = "hardware encoder /dev/video11 failed (device error); switched to openh264 software"
	s.noteFallback(l)
	s.noteFallback(l)
	if got := e.stats.Encoder; got != enc.reason {
		t.Errorf("after the failure Call Encoder = %q; want %q", got, enc.reason)
	}
	if n := strings.Count(log.String(), "hardware encoder failed"); n != 1 {
		t.Errorf("logged the fallback %d times; want once:\n%s", n, log.String())
	}
}

// A camera's own stream goes out only when the size cap lets it through
// unscaled; the frame-rate cap alone does not forbid it (dropped access
// units switch the camera to decoding on their own).
func TestCapsForbidPassthrough(t *testing.T) {
	cam := capture.Info{Width: 1280, Height: 720, FPS: 30}
	for _, tc := range []struct {
		caps Caps
		ok   bool
	}{
		{Caps{}, true},
		{Caps{MaxWidth: 1920, MaxHeight: 1080}, true},
		{Caps{MaxWidth: 1280, MaxHeight: 720}, true},
		{Caps{MaxFPS: 15}, true},
		{Caps{MaxWidth: 640}, false},
		{Caps{MaxHeight: 360}, false},
	} {
		why := capsForbidPassthrough(cam, tc.caps)
		if (why == "") != tc.ok {
			t.Errorf("caps %+v: %q; want passthrough allowed %v", tc.caps, why, tc.ok)
		}
		if !tc.ok && !strings.Contains(why, "1280x720") {
			t.Errorf("caps %+v: reason %q does not name the camera's size", tc.caps, why)
		}
	}
}
