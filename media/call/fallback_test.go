package call

import (
	"image"
	"log/slog"
	"strings"
	"testing"

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
