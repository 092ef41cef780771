package capture

import (
	"math"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/wave"
)

func readSamples(t *testing.T, src AudioSource, n int) []int16 {
	t.Helper()
	var out []int16
	for len(out) < n {
		chunk, release, err := src.Read()
		if err != nil {
			t.Fatal(err)
		}
		c, ok := chunk.(*wave.Int16Interleaved)
		if !ok || c.Size.Channels != 1 || c.Size.SamplingRate != SampleRate {
			t.Fatalf("chunk is %T %+v, want 48 kHz mono Int16Interleaved", chunk, chunk.ChunkInfo())
		}
		out = append(out, c.Data...)
		release()
	}
	return out[:n]
}

// zeroCrossings counts sign changes; a sine of f Hz has 2f a second.
func zeroCrossings(s []int16) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return n
}

func TestToneFrequencyLevelAndContinuity(t *testing.T) {
	for _, f := range []float64{440, 1000, 3150} {
		tone, err := NewTone(ToneOptions{Frequency: f, Level: 0.5, Unpaced: true})
		if err != nil {
			t.Fatal(err)
		}
		s := readSamples(t, tone, SampleRate)
		if got := zeroCrossings(s); math.Abs(float64(got)-2*f) > 2 {
			t.Errorf("%g Hz tone: %d zero crossings in 1 s, want %g", f, got, 2*f)
		}
		peak, maxStep := 0, 0.0
		for i, v := range s {
			peak = max(peak, int(math.Abs(float64(v))))
			if i > 0 {
				maxStep = math.Max(maxStep, math.Abs(float64(v)-float64(s[i-1])))
			}
		}
		if want := 0.5 * math.MaxInt16; math.Abs(float64(peak)-want) > want*0.01 {
			t.Errorf("%g Hz tone: peak %d, want %.0f", f, peak, want)
		}
		// No jumps at chunk boundaries: no step exceeds the sine's steepest.
		if limit := 0.5*math.MaxInt16*2*math.Pi*f/SampleRate + 2; maxStep > limit {
			t.Errorf("%g Hz tone: a step of %.0f (limit %.0f): discontinuity between chunks", f, maxStep, limit)
		}
	}
}

func TestTonePacingAndOptions(t *testing.T) {
	clock := newFakeClock()
	tone, _ := NewTone(ToneOptions{Chunk: 10 * time.Millisecond, Clock: clock})
	for range 5 {
		chunk, _, _ := tone.Read()
		if chunk.ChunkInfo().Len != 480 {
			t.Fatalf("10 ms chunk has %d samples", chunk.ChunkInfo().Len)
		}
	}
	if got := clock.Slept(); got != 40*time.Millisecond {
		t.Fatalf("5 chunks of 10 ms slept %v, want 40ms", got)
	}
	for _, o := range []ToneOptions{{Frequency: 30000}, {Level: 2}, {Chunk: 2 * time.Second}} {
		if _, err := NewTone(o); err == nil {
			t.Errorf("NewTone(%+v) accepted", o)
		}
	}
}
