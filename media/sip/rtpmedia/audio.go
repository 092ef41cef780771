package rtpmedia

import (
	"fmt"
	"math"
	"time"

	"github.com/zaf/g711"

	"github.com/roomd/roomd/media/codec"
)

// The room's audio is 48 kHz mono in 20 ms packets.
const (
	packetTime     = 20 * time.Millisecond
	frameSamples48 = codec.SampleRate / 50
	g711Ratio      = codec.SampleRate / 8000
)

// audioEncoder turns 20 ms of 48 kHz PCM into one packet's payload.
type audioEncoder struct {
	encode  func(pcm []int16) ([]byte, error)
	close   func()
	pending []int16
}

func newAudioEncoder(c Codec) (*audioEncoder, error) {
	switch {
	case c.is(CodecOpus):
		enc, err := codec.NewOpus(codec.AudioConfig{})
		if err != nil {
			return nil, fmt.Errorf("rtpmedia: %w", err)
		}
		return &audioEncoder{encode: enc.Encode, close: func() { enc.Close() }}, nil
	case c.is(CodecPCMU), c.is(CodecPCMA):
		law := g711.EncodeUlawFrame
		if c.is(CodecPCMA) {
			law = g711.EncodeAlawFrame
		}
		down := newResampler()
		buf := make([]int16, 0, frameSamples48/g711Ratio)
		return &audioEncoder{encode: func(pcm []int16) ([]byte, error) {
			buf = down.decimate(buf[:0], pcm)
			out := make([]byte, len(buf))
			for i, v := range buf {
				out[i] = law(v)
			}
			return out, nil
		}, close: func() {}}, nil
	}
	return nil, fmt.Errorf("%w (audio %s)", ErrUnsupportedCodec, c.Name)
}

// audioDecoder turns one packet's payload into 48 kHz PCM; a nil payload
// stands for a lost packet.
type audioDecoder struct {
	decode func(payload []byte) ([]int16, error)
	close  func()
}

func newAudioDecoder(c Codec) (*audioDecoder, error) {
	switch {
	case c.is(CodecOpus):
		dec, err := codec.NewOpusDecoder(1)
		if err != nil {
			return nil, fmt.Errorf("rtpmedia: %w", err)
		}
		return &audioDecoder{decode: dec.Decode, close: func() { dec.Close() }}, nil
	case c.is(CodecPCMU), c.is(CodecPCMA):
		law := g711.DecodeUlawFrame
		if c.is(CodecPCMA) {
			law = g711.DecodeAlawFrame
		}
		up := newResampler()
		var narrow []int16
		return &audioDecoder{decode: func(payload []byte) ([]int16, error) {
			narrow = narrow[:0]
			for _, b := range payload {
				narrow = append(narrow, law(b))
			}
			return up.interpolate(nil, narrow), nil
		}, close: func() {}}, nil
	}
	return nil, fmt.Errorf("%w (audio %s)", ErrUnsupportedCodec, c.Name)
}

// resampler converts between 48 kHz and 8 kHz with a windowed-sinc
// low-pass (cut-off 3.6 kHz) so G.711's band carries no aliases. It keeps
// its history across calls; one resampler serves one direction.
type resampler struct {
	taps []float64
	hist []float64 // the latest len(taps)-1 samples at 48 kHz (decimate) or 8 kHz (interpolate)
}

const resampleTaps = 48

func newResampler() *resampler {
	taps := make([]float64, resampleTaps)
	fc := 3600.0 / codec.SampleRate
	mid := float64(resampleTaps-1) / 2
	var sum float64
	for i := range taps {
		x := float64(i) - mid
		sinc := 2 * fc
		if x != 0 {
			sinc = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(resampleTaps-1)) // Hamming
		taps[i] = sinc * w
		sum += taps[i]
	}
	for i := range taps {
		taps[i] /= sum
	}
	return &resampler{taps: taps}
}

// decimate appends pcm (48 kHz) filtered and taken down to 8 kHz.
func (r *resampler) decimate(dst, pcm []int16) []int16 {
	n := len(r.taps)
	x := r.hist
	for _, v := range pcm {
		x = append(x, float64(v))
	}
	// x[len(hist)+i] is pcm[i]; output at every sixth input sample.
	off := len(r.hist)
	for i := g711Ratio - 1; i < len(pcm); i += g711Ratio {
		end := off + i
		var acc float64
		for k := 0; k < n && end-k >= 0; k++ {
			acc += r.taps[k] * x[end-k]
		}
		dst = append(dst, clamp16(acc))
	}
	keep := min(n-1, len(x))
	r.hist = append(r.hist[:0], x[len(x)-keep:]...)
	return dst
}

// interpolate appends narrow (8 kHz) raised to 48 kHz.
func (r *resampler) interpolate(dst, narrow []int16) []int16 {
	n := len(r.taps)
	// Zero-stuffed 48 kHz signal: only every sixth sample is non-zero, so
	// each output sums the taps that land on an 8 kHz sample.
	x := r.hist
	for _, v := range narrow {
		x = append(x, float64(v))
	}
	off := len(r.hist)
	for i := range narrow {
		for p := range g711Ratio {
			// Output sample at 48 kHz index 6*(off+i)+p.
			var acc float64
			for k := p; k < n; k += g711Ratio {
				j := off + i - k/g711Ratio
				if j < 0 {
					break
				}
				acc += r.taps[k] * x[j]
			}
			dst = append(dst, clamp16(acc*g711Ratio))
		}
	}
	keep := min(n/g711Ratio, len(x))
	r.hist = append(r.hist[:0], x[len(x)-keep:]...)
	return dst
}

func clamp16(v float64) int16 {
	return int16(max(-32768, min(32767, math.Round(v))))
}
