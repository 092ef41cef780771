package capture

import (
	"image"
	"sync/atomic"
	"testing"

	"github.com/pion/mediadevices/pkg/wave"

	"github.com/roomd/roomd/media"
)

// countingVideo counts frames handed out and released.
type countingVideo struct {
	VideoSource
	read, released atomic.Int32
}

func (c *countingVideo) Read() (image.Image, func(), error) {
	img, release, err := c.VideoSource.Read()
	if err != nil {
		return nil, nil, err
	}
	c.read.Add(1)
	return img, func() { c.released.Add(1); release() }, nil
}

func TestGateVideoReplacesFramesWithTheSlate(t *testing.T) {
	p, _ := NewPattern(PatternOptions{Width: 320, Height: 240, Unpaced: true})
	src := &countingVideo{VideoSource: p}
	var gate media.Gate
	v := GateVideo(src, &gate)
	slate := Slate(SlatePrivacy, 320, 240)

	img, release, _ := v.Read()
	if n, err := ReadPatternCounter(img); err != nil || n != 0 {
		t.Fatalf("open gate: frame reads %d, %v; want the pattern's frame 0", n, err)
	}
	release()
	if v.Info().Problem != "" {
		t.Fatalf("open gate: Info().Problem = %q", v.Info().Problem)
	}

	gate.Set(true)
	for range 3 {
		img, release, err := v.Read()
		if err != nil {
			t.Fatal(err)
		}
		yc := img.(*image.YCbCr)
		if !samePixels(yc, slate) {
			t.Fatal("closed gate: frame is not the privacy slate")
		}
		if _, err := ReadPatternCounter(img); err == nil {
			t.Fatal("closed gate: the pattern's counter is readable")
		}
		release()
	}
	if got, want := src.released.Load(), src.read.Load(); got != want {
		t.Fatalf("camera frames released %d of %d: covered frames must go back to the source", got, want)
	}
	if v.Info().Problem == "" {
		t.Fatal("closed gate: Info does not say privacy is on")
	}

	gate.Set(false)
	img, _, _ = v.Read()
	if n, err := ReadPatternCounter(img); err != nil || n != 4 {
		t.Fatalf("reopened gate: frame reads %d, %v; want the pattern's frame 4", n, err)
	}
}

func TestGateAudioSilences(t *testing.T) {
	tone, _ := NewTone(ToneOptions{Frequency: 440, Unpaced: true})
	var gate media.Gate
	a := GateAudio(tone, &gate)
	loud := func() bool {
		chunk, _, err := a.Read()
		if err != nil {
			t.Fatal(err)
		}
		s := chunk.(*wave.Int16Interleaved)
		if s.Size.Len != 960 || len(s.Data) != 960 {
			t.Fatalf("chunk has %d samples, want 960", s.Size.Len)
		}
		for _, v := range s.Data {
			if v != 0 {
				return true
			}
		}
		return false
	}
	if !loud() {
		t.Fatal("open gate: silence")
	}
	gate.Set(true)
	for range 3 {
		if loud() {
			t.Fatal("closed gate: audio is not silent")
		}
	}
	if a.Info().Problem == "" {
		t.Fatal("closed gate: Info does not say the microphone is muted")
	}
	gate.Set(false)
	if !loud() {
		t.Fatal("reopened gate: still silent")
	}
}
