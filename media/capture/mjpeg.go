package capture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/roomd/roomd/media/codec/mjpeg/jpegstream"
)

// JPEGDecoder decodes one JPEG picture to 4:2:0, into dst when dst has the
// picture's size (dst may be nil), and returns the picture written.
// media/codec/mjpeg's Decoder is the one to use: libjpeg-turbo, with no RGB
// step. It is passed in so that this package does not link libjpeg-turbo.
type JPEGDecoder interface {
	DecodeInto(dst *image.YCbCr, jpeg []byte) (*image.YCbCr, error)
	Close() error
}

// MJPEGOptions configures OpenMJPEG.
type MJPEGOptions struct {
	// FPS is the frame rate; 0 means 30 (an MJPEG file does not say).
	FPS float64
	// NoLoop makes Read return io.EOF at the end instead of starting over.
	NoLoop bool
	// Unpaced makes Read return frames as fast as they are asked for.
	Unpaced bool
	// Clock paces the frames; nil means the system clock.
	Clock Clock
	// Decoder decodes the frames; required (mjpeg.New()). The source takes
	// it over: Close closes it, and so does OpenMJPEG when it fails.
	Decoder JPEGDecoder
}

// mjpegMaxFrame bounds one picture, so that a file without picture ends
// cannot make the source buffer all of it.
const mjpegMaxFrame = 16 << 20

// MJPEG plays an MJPEG file — JPEG pictures back to back, as ffmpeg's
// `-f mjpeg` writes them and as a camera delivers them — as a video source
// whose frames go through a JPEGDecoder, looping at the end. It stands in
// for an MJPEG camera in the simulated room and in benchmarks. It satisfies
// VideoSource.
//
// A damaged part of the file costs one Read, which returns an error saying
// what was skipped; the next Read goes on with the next good picture.
type MJPEG struct {
	path   string
	f      *os.File
	dec    JPEGDecoder
	w, h   int
	fps    float64
	loop   bool
	pace   *pacer
	frame  int    // index of the next picture in the file
	buf    []byte // file data; buf[start:end] not yet used
	start  int
	end    int
	eof    bool
	free   chan *image.YCbCr
	mu     sync.Mutex
	closed atomic.Bool
}

// OpenMJPEG opens an MJPEG file. It decodes the first picture, so a file
// that is not MJPEG fails here rather than mid-call, and takes the source's
// size from it.
func OpenMJPEG(path string, opts MJPEGOptions) (*MJPEG, error) {
	if opts.Decoder == nil {
		return nil, fmt.Errorf("capture: mjpeg %s: no JPEG decoder given (pass mjpeg.New()'s)", path)
	}
	m, err := openMJPEG(path, opts)
	if err != nil {
		opts.Decoder.Close()
		return nil, err
	}
	return m, nil
}

func openMJPEG(path string, opts MJPEGOptions) (*MJPEG, error) {
	fps := opts.FPS
	if fps == 0 {
		fps = 30
	}
	if !validFPS(fps) {
		return nil, fmt.Errorf("capture: mjpeg %s: frame rate %g out of range (0, 240]", path, fps)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: mjpeg: %w", err)
	}
	m := &MJPEG{path: path, f: f, dec: opts.Decoder, fps: fps, loop: !opts.NoLoop,
		buf: make([]byte, 256<<10), free: make(chan *image.YCbCr, 4)}
	pic, err := m.nextPicture()
	if err == nil {
		var img *image.YCbCr
		if img, err = m.dec.DecodeInto(nil, pic); err == nil {
			m.w, m.h = img.Rect.Dx(), img.Rect.Dy()
			m.put(img)
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			err = errors.New("no JPEG picture in the file")
		}
		return nil, fmt.Errorf("capture: mjpeg %s: not a playable MJPEG file (ffmpeg -i in -f mjpeg out.mjpeg makes one): %w", path, err)
	}
	if err := m.rewind(); err != nil {
		f.Close()
		return nil, err
	}
	m.pace = newPacer(opts.Clock, frameInterval(fps), opts.Unpaced)
	return m, nil
}

// Info describes the file for status.
func (m *MJPEG) Info() Info {
	return Info{Kind: "mjpeg", Device: m.path, Name: filepath.Base(m.path), Width: m.w, Height: m.h, FPS: m.fps, Format: "MJPEG"}
}

// Close closes the file and the decoder; Read then returns ErrClosed.
func (m *MJPEG) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return errors.Join(m.f.Close(), m.dec.Close())
}

// Read decodes and returns the next picture, starting over at the end of
// the file. The frame is read-only; release hands its buffer back for
// reuse.
func (m *MJPEG) Read() (image.Image, func(), error) {
	if m.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	m.pace.wait()
	pic, err := m.nextPicture()
	if errors.Is(err, io.EOF) && m.frame > 0 && m.loop {
		if err := m.rewind(); err != nil {
			return nil, func() {}, err
		}
		pic, err = m.nextPicture()
	}
	if errors.Is(err, io.EOF) {
		return nil, func() {}, io.EOF
	}
	if err != nil {
		return nil, func() {}, fmt.Errorf("capture: mjpeg %s: %w", m.path, err)
	}
	n := m.frame
	m.frame++
	dst := m.get()
	img, err := m.dec.DecodeInto(dst, pic)
	if err != nil {
		m.put(dst)
		return nil, func() {}, fmt.Errorf("capture: mjpeg %s: picture %d: %w", m.path, n, err)
	}
	var once atomic.Bool
	return img, func() {
		if !once.Swap(true) {
			m.put(img)
		}
	}, nil
}

// nextPicture returns the next picture's bytes, valid until the next call;
// io.EOF at the end of the file; or an error for damaged data, which it
// steps over.
func (m *MJPEG) nextPicture() ([]byte, error) {
	for {
		skip, n, err := jpegstream.Next(m.buf[m.start:m.end])
		switch {
		case err == nil && skip > 0:
			m.start += skip
			return nil, fmt.Errorf("%d damaged bytes before picture %d skipped", skip, m.frame)
		case err == nil:
			pic := m.buf[m.start : m.start+n]
			m.start += n
			return pic, nil
		case !errors.Is(err, jpegstream.ErrTruncated):
			return nil, err
		case m.eof:
			// Bytes after the last picture that do not start one
			// (padding) end the file quietly.
			rest := m.buf[m.start+min(skip, m.end-m.start) : m.end]
			m.start = m.end
			if bytes.HasPrefix(rest, []byte{0xFF, 0xD8}) {
				return nil, fmt.Errorf("last picture truncated (%d bytes without an end marker)", len(rest))
			}
			return nil, io.EOF
		}
		if err := m.fill(); err != nil {
			return nil, err
		}
	}
}

// fill moves the unused data to the front of the buffer, grows it when it
// is full, and reads more of the file.
func (m *MJPEG) fill() error {
	m.end = copy(m.buf, m.buf[m.start:m.end])
	m.start = 0
	if m.end == len(m.buf) {
		if len(m.buf) >= mjpegMaxFrame {
			m.end = 0 // drop it: the next read resynchronises on a picture start
			return fmt.Errorf("picture %d is larger than %d MiB (no end marker?); skipped", m.frame, mjpegMaxFrame>>20)
		}
		m.buf = append(m.buf, make([]byte, len(m.buf))...)
	}
	n, err := m.f.Read(m.buf[m.end:])
	m.end += n
	switch {
	case errors.Is(err, io.EOF) || (err == nil && n == 0):
		m.eof = true
	case err != nil:
		return err
	}
	return nil
}

func (m *MJPEG) rewind() error {
	if _, err := m.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("capture: mjpeg %s: rewinding: %w", m.path, err)
	}
	m.start, m.end, m.eof, m.frame = 0, 0, false, 0
	return nil
}

func (m *MJPEG) get() *image.YCbCr {
	select {
	case img := <-m.free:
		return img
	default:
		return nil // DecodeInto allocates
	}
}

func (m *MJPEG) put(img *image.YCbCr) {
	if img == nil {
		return
	}
	select {
	case m.free <- img:
	default:
	}
}
