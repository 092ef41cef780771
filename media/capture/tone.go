package capture

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/wave"
)

// ToneOptions configures NewTone.
type ToneOptions struct {
	// Frequency in Hz; 0 means 1000 Hz.
	Frequency float64
	// Level is the peak amplitude relative to full scale, in (0, 1]; 0 means
	// 0.25 (-12 dBFS).
	Level float64
	// Chunk is the duration of each Read; 0 means 20 ms (one Opus frame).
	Chunk time.Duration
	// Unpaced makes Read return chunks as fast as they are asked for.
	Unpaced bool
	// Clock paces the chunks; nil means the system clock.
	Clock Clock
}

// Tone is a continuous sine tone, 48 kHz mono. It satisfies AudioSource.
type Tone struct {
	opts    ToneOptions
	samples int // per chunk
	step    float64
	phase   float64
	pace    *pacer
	mu      sync.Mutex
	closed  atomic.Bool
}

// NewTone makes a tone source.
func NewTone(opts ToneOptions) (*Tone, error) {
	if opts.Frequency == 0 {
		opts.Frequency = 1000
	}
	if opts.Level == 0 {
		opts.Level = 0.25
	}
	if opts.Chunk == 0 {
		opts.Chunk = 20 * time.Millisecond
	}
	if opts.Frequency < 0 || opts.Frequency >= SampleRate/2 {
		return nil, fmt.Errorf("capture: tone frequency %g Hz out of range (0, %d)", opts.Frequency, SampleRate/2)
	}
	if opts.Level < 0 || opts.Level > 1 {
		return nil, fmt.Errorf("capture: tone level %g out of range (0, 1]", opts.Level)
	}
	samples := int(opts.Chunk * SampleRate / time.Second)
	if samples < 1 || opts.Chunk > time.Second {
		return nil, fmt.Errorf("capture: tone chunk %v out of range [1 sample, 1 s]", opts.Chunk)
	}
	return &Tone{
		opts:    opts,
		samples: samples,
		step:    2 * math.Pi * opts.Frequency / SampleRate,
		pace:    newPacer(opts.Clock, opts.Chunk, opts.Unpaced),
	}, nil
}

// Info describes the tone for status.
func (t *Tone) Info() Info {
	return Info{Kind: "tone", Name: fmt.Sprintf("%g Hz tone", t.opts.Frequency), SampleRate: SampleRate, Channels: 1}
}

// Close stops the tone; Read then returns ErrClosed.
func (t *Tone) Close() error {
	t.closed.Store(true)
	return nil
}

// Read returns the next chunk, phase-continuous with the previous one.
func (t *Tone) Read() (wave.Audio, func(), error) {
	if t.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pace.wait()
	chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: t.samples, Channels: 1, SamplingRate: SampleRate})
	amp := t.opts.Level * math.MaxInt16
	for i := range chunk.Data {
		chunk.Data[i] = int16(math.Round(amp * math.Sin(t.phase)))
		t.phase += t.step
	}
	t.phase = math.Mod(t.phase, 2*math.Pi)
	return chunk, func() {}, nil
}
