package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/wave"
)

// WAVOptions configures OpenWAV.
type WAVOptions struct {
	// Chunk is the duration of each Read; 0 means 20 ms.
	Chunk time.Duration
	// NoLoop makes Read return io.EOF at the end instead of starting over.
	NoLoop bool
	// Unpaced makes Read return chunks as fast as they are asked for.
	Unpaced bool
	// Clock paces the chunks; nil means the system clock.
	Clock Clock
}

// WAV plays a 16-bit PCM 48 kHz WAV file as a mono audio source, looping
// seamlessly at the end. Multi-channel files are mixed down. It satisfies
// AudioSource.
type WAV struct {
	path     string
	f        *os.File
	data     *io.SectionReader
	channels int
	frames   int // sample frames per chunk
	loop     bool
	pace     *pacer
	buf      []byte
	mu       sync.Mutex
	closed   atomic.Bool
}

// OpenWAV opens a WAV file and checks that roomd can play it as it is.
func OpenWAV(path string, opts WAVOptions) (*WAV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: wav: %w", err)
	}
	w, err := newWAV(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func newWAV(f *os.File, path string, opts WAVOptions) (*WAV, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("capture: wav %s: "+format, append([]any{path}, args...)...)
	}
	if opts.Chunk == 0 {
		opts.Chunk = 20 * time.Millisecond
	}
	frames := int(opts.Chunk * SampleRate / time.Second)
	if frames < 1 || opts.Chunk > time.Second {
		return nil, bad("chunk %v out of range [1 sample, 1 s]", opts.Chunk)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, bad("%v", err)
	}
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, bad("not a RIFF/WAVE file")
	}
	var (
		haveFmt               bool
		format, channels, bps uint16
		rate                  uint32
		off                   int64 = 12
	)
	for {
		var ch [8]byte
		if _, err := f.ReadAt(ch[:], off); err != nil {
			if haveFmt {
				return nil, bad("no data chunk")
			}
			return nil, bad("no fmt chunk")
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		off += 8
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, bad("fmt chunk too short (%d bytes)", size)
			}
			b := make([]byte, min(size, 40))
			if _, err := f.ReadAt(b, off); err != nil {
				return nil, bad("truncated fmt chunk")
			}
			format = binary.LittleEndian.Uint16(b[0:2])
			channels = binary.LittleEndian.Uint16(b[2:4])
			rate = binary.LittleEndian.Uint32(b[4:8])
			bps = binary.LittleEndian.Uint16(b[14:16])
			if format == 0xFFFE && len(b) >= 26 { // WAVE_FORMAT_EXTENSIBLE: the sub-format says PCM or not
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, bad("data chunk before fmt chunk")
			}
			switch {
			case format != 1:
				return nil, bad("format %d is not integer PCM; convert with ffmpeg -c:a pcm_s16le", format)
			case bps != 16:
				return nil, bad("%d-bit samples not supported; want 16-bit (ffmpeg -c:a pcm_s16le)", bps)
			case rate != SampleRate:
				return nil, bad("sample rate %d Hz not supported; want %d (ffmpeg -ar %d)", rate, SampleRate, SampleRate)
			case channels == 0:
				return nil, bad("zero channels")
			}
			// Streaming writers leave the size at 0 or 0xFFFFFFFF: play to the end.
			if size == 0 || size == 0xFFFFFFFF || off+size > st.Size() {
				size = st.Size() - off
			}
			size -= size % int64(2*channels)
			if size == 0 {
				return nil, bad("no samples")
			}
			return &WAV{
				path:     path,
				f:        f,
				data:     io.NewSectionReader(f, off, size),
				channels: int(channels),
				frames:   frames,
				loop:     !opts.NoLoop,
				pace:     newPacer(opts.Clock, opts.Chunk, opts.Unpaced),
				buf:      make([]byte, frames*int(channels)*2),
			}, nil
		}
		off += size + size&1 // chunks are padded to even sizes
	}
}

// Info describes the file for status.
func (w *WAV) Info() Info {
	return Info{Kind: "wav", Device: w.path, Name: filepath.Base(w.path), SampleRate: SampleRate, Channels: 1}
}

// Close closes the file; Read then returns ErrClosed.
func (w *WAV) Close() error {
	if w.closed.Swap(true) {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// Read returns the next chunk, mixed down to mono.
func (w *WAV) Read() (wave.Audio, func(), error) {
	if w.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	w.pace.wait()
	n := 0
	for n < len(w.buf) {
		k, err := w.data.Read(w.buf[n:])
		n += k
		if err == io.EOF {
			if !w.loop {
				break
			}
			if _, err := w.data.Seek(0, io.SeekStart); err != nil {
				return nil, func() {}, fmt.Errorf("capture: wav %s: rewinding: %w", w.path, err)
			}
		} else if err != nil {
			return nil, func() {}, fmt.Errorf("capture: wav %s: %w", w.path, err)
		}
	}
	frames := n / (2 * w.channels)
	if frames == 0 {
		return nil, func() {}, io.EOF
	}
	chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: frames, Channels: 1, SamplingRate: SampleRate})
	for i := range frames {
		sum := 0
		for c := range w.channels {
			o := 2 * (i*w.channels + c)
			sum += int(int16(binary.LittleEndian.Uint16(w.buf[o:])))
		}
		chunk.Data[i] = int16(sum / w.channels)
	}
	return chunk, func() {}, nil
}

// WriteWAV writes samples (interleaved when channels > 1) as a 16-bit PCM
// WAV file.
func WriteWAV(w io.Writer, sampleRate, channels int, samples []int16) error {
	if sampleRate <= 0 || channels <= 0 || len(samples)%channels != 0 {
		return fmt.Errorf("capture: wav writer: bad format (%d Hz, %d channels, %d samples)", sampleRate, channels, len(samples))
	}
	data := 2 * len(samples)
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(b[28:], uint32(sampleRate*channels*2))
	binary.LittleEndian.PutUint16(b[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("capture: wav writer: %w", err)
	}
	return nil
}
