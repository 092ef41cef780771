package passthrough

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// ClipOptions configure EncodeClip.
type ClipOptions struct {
	// Width, Height and FPS of the clip; 0 means 320×180 at 30 fps.
	Width, Height int
	FPS           float64
	// Frames is how many access units; 0 means 2 s worth.
	Frames int
	// KeyEvery is the IDR period in frames; 0 means every 30.
	KeyEvery int
	// BitRate in bit/s; 0 means 300 kbit/s.
	BitRate int
	// MaxNALSize slices the pictures (see codec.VideoConfig).
	MaxNALSize int
}

// EncodeClip encodes the test pattern with roomd's own OpenH264 encoder
// into Annex B access units: an H.264 camera's stream for tests and for
// `media.video = "h264:PATH"`, with no outside tool.
func EncodeClip(o ClipOptions) ([][]byte, error) {
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 320, 180
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.Frames == 0 {
		o.Frames = int(2 * o.FPS)
	}
	if o.KeyEvery == 0 {
		o.KeyEvery = 30
	}
	if o.BitRate == 0 {
		o.BitRate = 300_000
	}
	enc, err := codec.NewH264(codec.VideoConfig{Width: o.Width, Height: o.Height, FPS: o.FPS, BitRate: o.BitRate,
		KeyFrameInterval: time.Duration(float64(o.KeyEvery) / o.FPS * float64(time.Second)), MaxNALSize: o.MaxNALSize})
	if err != nil {
		return nil, fmt.Errorf("passthrough: clip: %w", err)
	}
	defer enc.Close()
	pat, err := capture.NewPattern(capture.PatternOptions{Width: o.Width, Height: o.Height, FPS: o.FPS, Unpaced: true})
	if err != nil {
		return nil, fmt.Errorf("passthrough: clip: %w", err)
	}
	defer pat.Close()
	var aus [][]byte
	for len(aus) < o.Frames {
		img, release, err := pat.Read()
		if err != nil {
			return nil, err
		}
		au, _, err := enc.Encode(img)
		release()
		if err != nil {
			return nil, fmt.Errorf("passthrough: clip: %w", err)
		}
		if len(au) > 0 {
			aus = append(aus, au)
		}
	}
	return aus, nil
}

// WriteClip encodes a clip (EncodeClip) into an Annex B file at path.
func WriteClip(path string, o ClipOptions) error {
	aus, err := EncodeClip(o)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, bytes.Join(aus, nil), 0o644); err != nil {
		return fmt.Errorf("passthrough: clip: %w", err)
	}
	return nil
}
