//go:build novpx

package codec

import (
	"errors"
	"strings"
	"testing"
)

func TestVP8LeftOut(t *testing.T) {
	if _, err := NewVP8(VideoConfig{Width: 320, Height: 240}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("NewVP8 = %v, want ErrUnavailable", err)
	}
	if _, err := NewVideoDecoder(MimeVP8); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("VP8 decoder = %v, want ErrUnavailable", err)
	}
	_, err := Select(Preferences{Codecs: []string{MimeVP8}}, selectCfg)
	if err == nil || !strings.Contains(err.Error(), "libvpx: codec not built in: VP8 (built with -tags novpx") {
		t.Fatalf("Select(VP8) = %v, want an error saying VP8 was left out", err)
	}
}
