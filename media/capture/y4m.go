package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Y4MOptions configures OpenY4M.
type Y4MOptions struct {
	// FPS overrides the file's frame rate; 0 means the file's (30 if the
	// file does not say).
	FPS float64
	// NoLoop makes Read return io.EOF at the end instead of starting over.
	NoLoop bool
	// Unpaced makes Read return frames as fast as they are asked for.
	Unpaced bool
	// Clock paces the frames; nil means the system clock.
	Clock Clock
}

// Y4M plays a YUV4MPEG2 file (4:2:0 or mono, 8-bit) as a video source,
// looping at the end. It satisfies VideoSource.
type Y4M struct {
	path      string
	f         *os.File
	r         *bufio.Reader
	w, h      int
	fps       float64
	mono      bool
	dataStart int64
	loop      bool
	pace      *pacer
	frame     int // index of the next frame in the file
	free      chan *image.YCbCr
	mu        sync.Mutex
	closed    atomic.Bool
}

// y4mMaxLine bounds header lines so a corrupt file cannot make us buffer
// the whole of it looking for a newline.
const y4mMaxLine = 4096

// OpenY4M opens a Y4M file. It checks the header and that at least one
// whole frame follows, so a bad file fails here rather than mid-call.
func OpenY4M(path string, opts Y4MOptions) (*Y4M, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: y4m: %w", err)
	}
	y, err := newY4M(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return y, nil
}

func newY4M(f *os.File, path string, opts Y4MOptions) (*Y4M, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("capture: y4m %s: "+format, append([]any{path}, args...)...)
	}
	r := bufio.NewReaderSize(f, 1<<16)
	line, err := readLine(r)
	if err != nil || !strings.HasPrefix(line, "YUV4MPEG2") {
		return nil, bad("not a YUV4MPEG2 file (no YUV4MPEG2 header)")
	}
	y := &Y4M{path: path, f: f, r: r, loop: !opts.NoLoop, fps: opts.FPS, free: make(chan *image.YCbCr, 4)}
	fileFPS := 0.0
	for _, tok := range strings.Fields(line)[1:] {
		v := tok[1:]
		switch tok[0] {
		case 'W':
			y.w, err = strconv.Atoi(v)
		case 'H':
			y.h, err = strconv.Atoi(v)
		case 'F':
			fileFPS, err = parseRatio(v)
		case 'C':
			switch v {
			case "420", "420jpeg", "420paldv", "420mpeg2":
			case "mono":
				y.mono = true
			default:
				return nil, bad("colour space C%s not supported; want 8-bit 4:2:0 (ffmpeg -pix_fmt yuv420p)", v)
			}
		case 'I':
			if v != "p" && v != "?" {
				return nil, bad("interlaced video (I%s) not supported", v)
			}
		}
		if err != nil {
			return nil, bad("bad header field %q", tok)
		}
	}
	if y.w <= 0 || y.h <= 0 || y.w > 8192 || y.h > 8192 {
		return nil, bad("bad or missing size W%d H%d", y.w, y.h)
	}
	if y.fps == 0 {
		y.fps = fileFPS
	}
	if y.fps == 0 {
		y.fps = 30
	}
	if !validFPS(y.fps) {
		return nil, bad("frame rate %g out of range (0, 240]", y.fps)
	}
	y.dataStart = int64(len(line) + 1)
	st, err := f.Stat()
	if err != nil {
		return nil, bad("%v", err)
	}
	if st.Size() < y.dataStart+int64(len("FRAME\n")+y.frameBytes()) {
		return nil, bad("no complete frame (%d bytes of data, a %dx%d frame needs %d)", st.Size()-y.dataStart, y.w, y.h, y.frameBytes())
	}
	y.pace = newPacer(opts.Clock, frameInterval(y.fps), opts.Unpaced)
	return y, nil
}

func (y *Y4M) frameBytes() int {
	cw, ch := (y.w+1)/2, (y.h+1)/2
	if y.mono {
		return y.w * y.h
	}
	return y.w*y.h + 2*cw*ch
}

// Info describes the file for status.
func (y *Y4M) Info() Info {
	return Info{Kind: "y4m", Device: y.path, Name: filepath.Base(y.path), Width: y.w, Height: y.h, FPS: y.fps}
}

// Close closes the file; Read then returns ErrClosed.
func (y *Y4M) Close() error {
	if y.closed.Swap(true) {
		return nil
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.f.Close()
}

// Read returns the next frame, starting over at the end of the file. The
// frame is read-only; release hands its buffer back for reuse.
func (y *Y4M) Read() (image.Image, func(), error) {
	if y.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.closed.Load() {
		return nil, func() {}, ErrClosed
	}
	y.pace.wait()
	line, err := readLine(y.r)
	if err == io.EOF && y.frame > 0 {
		if !y.loop {
			return nil, func() {}, io.EOF
		}
		if _, err := y.f.Seek(y.dataStart, io.SeekStart); err != nil {
			return nil, func() {}, fmt.Errorf("capture: y4m %s: rewinding: %w", y.path, err)
		}
		y.r.Reset(y.f)
		y.frame = 0
		line, err = readLine(y.r)
	}
	if err != nil || !strings.HasPrefix(line, "FRAME") {
		return nil, func() {}, fmt.Errorf("capture: y4m %s: frame %d: missing FRAME header", y.path, y.frame)
	}
	img := y.get()
	planes := [][]byte{img.Y, img.Cb, img.Cr}
	if y.mono {
		planes = planes[:1]
	}
	for _, p := range planes {
		if _, err := io.ReadFull(y.r, p); err != nil {
			y.put(img)
			return nil, func() {}, fmt.Errorf("capture: y4m %s: frame %d truncated: %w", y.path, y.frame, err)
		}
	}
	y.frame++
	var once atomic.Bool
	return img, func() {
		if !once.Swap(true) {
			y.put(img)
		}
	}, nil
}

func (y *Y4M) get() *image.YCbCr {
	select {
	case img := <-y.free:
		return img
	default:
		img := image.NewYCbCr(image.Rect(0, 0, y.w, y.h), image.YCbCrSubsampleRatio420)
		if y.mono {
			fill(img.Cb, 128)
			fill(img.Cr, 128)
		}
		return img
	}
}

func (y *Y4M) put(img *image.YCbCr) {
	select {
	case y.free <- img:
	default:
	}
}

// readLine reads one '\n'-terminated line of at most y4mMaxLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > y4mMaxLine {
			return "", errors.New("line too long")
		}
		switch {
		case err == nil:
			return string(bytes.TrimSuffix(b, []byte("\n"))), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(b) > 0:
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

func parseRatio(s string) (float64, error) {
	n, d, ok := strings.Cut(s, ":")
	if !ok {
		return 0, errors.New("no colon")
	}
	num, err1 := strconv.Atoi(n)
	den, err2 := strconv.Atoi(d)
	if err1 != nil || err2 != nil || num <= 0 || den <= 0 {
		return 0, errors.New("bad ratio")
	}
	return float64(num) / float64(den), nil
}

// Y4MWriter writes I420 frames as a YUV4MPEG2 stream, e.g. to record the
// composed display or to make a file for OpenY4M or Chromium's fake camera.
type Y4MWriter struct {
	w    io.Writer
	size image.Point
}

// NewY4MWriter writes the stream header for width×height frames at fps.
func NewY4MWriter(w io.Writer, width, height int, fps float64) (*Y4MWriter, error) {
	if width <= 0 || height <= 0 || !validFPS(fps) {
		return nil, fmt.Errorf("capture: y4m writer: bad format %dx%d@%g", width, height, fps)
	}
	num, den := int(math.Round(fps*1000)), 1000
	for a, b := num, den; ; {
		if b == 0 {
			num, den = num/a, den/a
			break
		}
		a, b = b, a%b
	}
	// C420jpeg rather than ffmpeg's C420mpeg2: Chromium's fake camera
	// accepts only the former.
	if _, err := fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg\n", width, height, num, den); err != nil {
		return nil, fmt.Errorf("capture: y4m writer: %w", err)
	}
	return &Y4MWriter{w: w, size: image.Pt(width, height)}, nil
}

// WriteFrame appends one frame, which must be 4:2:0 and of the stream's
// size.
func (yw *Y4MWriter) WriteFrame(img *image.YCbCr) error {
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 || img.Rect.Size() != yw.size {
		return fmt.Errorf("capture: y4m writer: frame is %v %v, stream is 4:2:0 %v", img.SubsampleRatio, img.Rect.Size(), yw.size)
	}
	bw := bufio.NewWriterSize(yw.w, 1<<16)
	bw.WriteString("FRAME\n")
	w, h := yw.size.X, yw.size.Y
	x0, y0 := img.Rect.Min.X, img.Rect.Min.Y
	for y := range h {
		o := img.YOffset(x0, y0+y)
		bw.Write(img.Y[o : o+w])
	}
	for _, p := range [][]byte{img.Cb, img.Cr} {
		for y := range (h + 1) / 2 {
			o := img.COffset(x0, y0+2*y)
			bw.Write(p[o : o+(w+1)/2])
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("capture: y4m writer: %w", err)
	}
	return nil
}
