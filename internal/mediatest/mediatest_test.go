package mediatest

import (
	"math"
	"testing"
)

func TestPSNRY(t *testing.T) {
	f := PatternFrames(t, 160, 90, 2)
	if p := PSNRY(f[0], f[0]); !math.IsInf(p, 1) {
		t.Fatalf("a frame against itself: %v dB", p)
	}
	// The pattern moves: the next frame differs, but not wholly.
	if p := PSNRY(f[0], f[1]); p < 5 || math.IsInf(p, 1) {
		t.Fatalf("two pattern frames: %v dB", p)
	}
	small := PatternFrames(t, 320, 180, 1)[0]
	if p := PSNRY(f[0], small); p != 0 {
		t.Fatalf("different sizes: %v dB", p)
	}
}
