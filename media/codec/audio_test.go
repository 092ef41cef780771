package codec

import (
	"errors"
	"math"
	"testing"

	"github.com/pion/mediadevices/pkg/wave"

	"github.com/roomd/roomd/media/capture"
)

func toneSamples(t testing.TB, freq float64, n int) []int16 {
	t.Helper()
	tone, err := capture.NewTone(capture.ToneOptions{Frequency: freq, Level: 0.3, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	for len(out) < n {
		c, _, err := tone.Read()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c.(*wave.Int16Interleaved).Data...)
	}
	return out[:n]
}

// goertzel returns the power of s at freq, normalised by length.
func goertzel(s []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / SampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range s {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(s)*len(s))
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

func TestOpusRoundTripKeepsTheTone(t *testing.T) {
	for _, freq := range []float64{440, 1000, 2500} {
		in := toneSamples(t, freq, SampleRate) // 1 s
		enc, err := NewOpus(AudioConfig{})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewOpusDecoder(1)
		if err != nil {
			t.Fatal(err)
		}
		fs := AudioConfig{}.FrameSamples()
		var out []int16
		bytes := 0
		for i := 0; i+fs <= len(in); i += fs {
			pkt, err := enc.Encode(in[i : i+fs])
			if err != nil {
				t.Fatal(err)
			}
			bytes += len(pkt)
			pcm, err := dec.Decode(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if len(pcm) != fs {
				t.Fatalf("decoded %d samples from a %d-sample frame", len(pcm), fs)
			}
			out = append(out, pcm...)
		}
		enc.Close()
		dec.Close()
		tail := out[SampleRate/5:] // past the codec's start-up
		crossings := 0
		for i := 1; i < len(tail); i++ {
			if (tail[i-1] < 0) != (tail[i] < 0) {
				crossings++
			}
		}
		wantCross := 2 * freq * float64(len(tail)) / SampleRate
		if math.Abs(float64(crossings)-wantCross) > wantCross*0.02 {
			t.Errorf("%g Hz: %d zero crossings after decoding, want %.0f", freq, crossings, wantCross)
		}
		// The energy stays at the tone's frequency, not a neighbour's.
		on, off := goertzel(tail, freq), goertzel(tail, freq*1.25)
		if on < 100*off {
			t.Errorf("%g Hz: Goertzel power %.3g at the tone vs %.3g at 1.25×", freq, on, off)
		}
		if r, want := rms(tail), rms(in[SampleRate/5:]); math.Abs(20*math.Log10(r/want)) > 2 {
			t.Errorf("%g Hz: level %.0f after decoding, %.0f before", freq, r, want)
		}
		if kbps := float64(bytes) * 8 / 1000; kbps > 40 {
			t.Errorf("%g Hz: %.1f kbit/s at a 32 kbit/s target", freq, kbps)
		}
	}
}

func TestOpusSetBitRate(t *testing.T) {
	// A sweep of tones: richer than one sine, so bits buy quality.
	in := make([]int16, 0, 2*SampleRate)
	for _, f := range []float64{300, 700, 1300, 2900} {
		in = append(in, toneSamples(t, f, SampleRate/2)...)
	}
	enc, _ := NewOpus(AudioConfig{BitRate: 8_000})
	defer enc.Close()
	fs := AudioConfig{}.FrameSamples()
	size := func() int {
		n := 0
		for i := 0; i+fs <= len(in); i += fs {
			pkt, err := enc.Encode(in[i : i+fs])
			if err != nil {
				t.Fatal(err)
			}
			n += len(pkt)
		}
		return n
	}
	low := size()
	enc.SetBitRate(64_000)
	high := size()
	t.Logf("2 s of tones: %d B at 8 kbit/s, %d B at 64 kbit/s", low, high)
	if high < 3*low {
		t.Fatalf("SetBitRate(64k) gave %d B after %d B at 8k; want > 3×", high, low)
	}
}

func TestOpusChecksAndConceals(t *testing.T) {
	enc, _ := NewOpus(AudioConfig{})
	if _, err := enc.Encode(make([]int16, 100)); err == nil {
		t.Fatal("a 100-sample frame was accepted")
	}
	enc.Close()
	if _, err := enc.Encode(make([]int16, 960)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Encode after Close = %v", err)
	}
	if _, err := NewOpus(AudioConfig{Frame: 15_000_000}); err == nil {
		t.Fatal("a 15 ms frame was accepted")
	}

	enc40, _ := NewOpus(AudioConfig{Frame: 40_000_000})
	defer enc40.Close()
	dec, _ := NewOpusDecoder(2)
	defer dec.Close()
	pkt, err := enc40.Encode(toneSamples(t, 1000, 1920))
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := dec.Decode(pkt)
	if err != nil || len(pcm) != 2*1920 {
		t.Fatalf("40 ms mono packet to stereo: %d samples, %v; want %d", len(pcm), err, 2*1920)
	}
	lost, err := dec.Decode(nil)
	if err != nil || len(lost) != 2*1920 {
		t.Fatalf("concealing a lost 40 ms packet: %d samples, %v", len(lost), err)
	}
	if _, err := dec.Decode([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("a corrupt packet decoded")
	}
	if _, err := NewOpusDecoder(3); err == nil {
		t.Fatal("3 channels accepted")
	}
}

func BenchmarkOpusEncode20ms(b *testing.B) {
	in := toneSamples(b, 1000, 960)
	enc, _ := NewOpus(AudioConfig{})
	defer enc.Close()
	for b.Loop() {
		if _, err := enc.Encode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpusDecode20ms(b *testing.B) {
	enc, _ := NewOpus(AudioConfig{})
	pkt, _ := enc.Encode(toneSamples(b, 1000, 960))
	enc.Close()
	dec, _ := NewOpusDecoder(1)
	defer dec.Close()
	for b.Loop() {
		if _, err := dec.Decode(pkt); err != nil {
			b.Fatal(err)
		}
	}
}
