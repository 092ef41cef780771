package codec

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	mdcodec "github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// SampleRate is the PCM rate of the audio encoders and decoders.
const SampleRate = 48000

// AudioConfig configures the Opus encoder (48 kHz mono).
type AudioConfig struct {
	// BitRate in bits per second; 0 means 32 kbit/s.
	BitRate int
	// Frame is the duration of one Opus frame: 10, 20, 40 or 60 ms; 0
	// means 20 ms.
	Frame time.Duration
}

// FrameSamples is how many samples each Encode call takes.
func (c AudioConfig) FrameSamples() int {
	if c.Frame == 0 {
		c.Frame = 20 * time.Millisecond
	}
	return int(c.Frame * SampleRate / time.Second)
}

// Opus bitrates are kept where a 60 ms packet fits mediadevices' 1 KiB
// output buffer (which it would otherwise overrun with a panic).
const (
	minOpusBitRate = 6_000
	maxOpusBitRate = 128_000
)

// NewOpus returns the Opus encoder (libopus, VOIP mode, mono).
func NewOpus(cfg AudioConfig) (AudioEncoder, error) {
	if cfg.BitRate == 0 {
		cfg.BitRate = 32_000
	}
	if cfg.Frame == 0 {
		cfg.Frame = 20 * time.Millisecond
	}
	params, err := opus.NewParams()
	if err != nil {
		return nil, fmt.Errorf("codec: opus: %w", err)
	}
	params.Latency = opus.Latency(cfg.Frame)
	if !params.Latency.Validate() || cfg.Frame < 10*time.Millisecond {
		return nil, fmt.Errorf("codec: opus: frame duration %v not supported; use 10, 20, 40 or 60 ms", cfg.Frame)
	}
	params.BitRate = clampOpus(cfg.BitRate)
	e := &opusEncoder{samples: cfg.FrameSamples()}
	rc, err := params.BuildAudioEncoder(&e.feed, prop.Media{Audio: prop.Audio{SampleRate: SampleRate, ChannelCount: 1}})
	if err != nil {
		return nil, fmt.Errorf("codec: opus: %w", err)
	}
	e.rc = rc
	return e, nil
}

func clampOpus(bps int) int { return min(max(bps, minOpusBitRate), maxOpusBitRate) }

type opusEncoder struct {
	samples int
	bitrate atomic.Int64

	mu     sync.Mutex
	rc     mdcodec.ReadCloser
	feed   audioOneShot
	closed bool
}

func (e *opusEncoder) Encode(pcm []int16) (out []byte, err error) {
	if len(pcm) != e.samples {
		return nil, fmt.Errorf("codec: opus: got %d samples, a frame is %d", len(pcm), e.samples)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if bps := e.bitrate.Swap(0); bps > 0 {
		if bc, ok := e.rc.Controller().(mdcodec.BitRateController); ok {
			if err := bc.SetBitRate(int(bps)); err != nil {
				return nil, fmt.Errorf("codec: opus: %w", err)
			}
		}
	}
	defer func() {
		// mediadevices slices its output with libopus's return value, which
		// panics when libopus reports an error.
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("codec: opus: encoder failed: %v", p)
		}
	}()
	e.feed.chunk = &wave.Int16Interleaved{Data: pcm, Size: wave.ChunkInfo{Len: len(pcm), Channels: 1, SamplingRate: SampleRate}}
	b, release, err := e.rc.Read()
	e.feed.chunk = nil
	if err != nil {
		return nil, fmt.Errorf("codec: opus: %w", err)
	}
	if release != nil {
		release()
	}
	return b, nil
}

func (e *opusEncoder) SetBitRate(bps int) {
	if bps > 0 {
		e.bitrate.Store(int64(clampOpus(bps)))
	}
}

func (e *opusEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return e.rc.Close()
}

// audioOneShot is the audio.Reader the mediadevices encoder pulls from.
type audioOneShot struct{ chunk wave.Audio }

func (o *audioOneShot) Read() (wave.Audio, func(), error) {
	c := o.chunk
	if c == nil {
		return nil, func() {}, errNothingQueued
	}
	o.chunk = nil
	return c, func() {}, nil
}
