package capture

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
)

// SampleRate is the audio sample rate of every AudioSource: what Opus runs
// at, so nothing resamples between the microphone and the encoder.
const SampleRate = 48000

// ErrClosed is returned by Read after Close. It wraps io.EOF so that
// mediadevices readers treat it as the end of the stream.
var ErrClosed = fmt.Errorf("capture: source closed: %w", io.EOF)

// VideoSource is a running picture source. Read yields *image.YCbCr frames
// in 4:2:0 that the caller must not modify.
type VideoSource interface {
	video.Reader
	// Info says what the source is, for status.
	Info() Info
	// Close stops the source; Read then returns ErrClosed. Close is idempotent.
	Close() error
}

// AudioSource is a running sound source. Read yields *wave.Int16Interleaved
// chunks, 48 kHz mono.
type AudioSource interface {
	audio.Reader
	// Info says what the source is, for status.
	Info() Info
	// Close stops the source; Read then returns ErrClosed. Close is idempotent.
	Close() error
}

// Info describes a source for status: which camera or microphone is in use
// and in what format.
type Info struct {
	// Kind is "camera", "microphone", "pattern", "tone", "y4m", "mjpeg" or "wav".
	Kind string
	// Device is the device path, device ID or file path; empty for
	// synthetic sources.
	Device string
	// Name is the human-readable name: the camera's card name, the
	// microphone's name, "test pattern", "1000 Hz tone".
	Name string
	// Width, Height and FPS describe video sources.
	Width, Height int
	FPS           float64
	// SampleRate and Channels describe audio sources.
	SampleRate, Channels int
	// Format is the device's native format when it is not already I420 or
	// 16-bit PCM (e.g. "MJPEG", "YUYV").
	Format string
	// ModeReason says why the camera runs in this mode (see package
	// cammode), e.g. "YUYV only reaches 10 fps at this size"; empty for
	// synthetic sources.
	ModeReason string
	// Problem says why the source is not delivering real media (camera
	// unplugged, privacy); empty while it is.
	Problem string
}

// String renders Info on one line, e.g.
// "camera /dev/video0 (HD Pro Webcam C920) 1280x720@30 MJPEG (YUYV only
// reaches 10 fps at this size)" or
// "test pattern 1280x720@30".
func (i Info) String() string {
	var b strings.Builder
	switch {
	case i.Device != "" && i.Name != "":
		fmt.Fprintf(&b, "%s %s (%s)", i.Kind, i.Device, i.Name)
	case i.Device != "":
		b.WriteString(i.Kind + " " + i.Device)
	case i.Name != "":
		b.WriteString(i.Name) // synthetic sources name themselves
	default:
		b.WriteString(i.Kind)
	}
	if i.Width > 0 {
		fmt.Fprintf(&b, " %dx%d@%g", i.Width, i.Height, i.FPS)
	}
	if i.SampleRate > 0 {
		fmt.Fprintf(&b, " %d Hz", i.SampleRate)
		switch i.Channels {
		case 1:
			b.WriteString(" mono")
		case 2:
			b.WriteString(" stereo")
		default:
			fmt.Fprintf(&b, " %dch", i.Channels)
		}
	}
	if i.Format != "" {
		b.WriteString(" " + i.Format)
	}
	if i.ModeReason != "" {
		b.WriteString(" (" + i.ModeReason + ")")
	}
	if i.Problem != "" {
		b.WriteString(": " + i.Problem)
	}
	return b.String()
}

// Clock is the time source of paced sources and of ReconnectingVideo.
// A nil Clock in options means the system clock.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

type systemClock struct{}

func (systemClock) Now() time.Time        { return time.Now() }
func (systemClock) Sleep(d time.Duration) { time.Sleep(d) }

func clockOrSystem(c Clock) Clock {
	if c == nil {
		return systemClock{}
	}
	return c
}

// pacer releases one tick per interval. When the consumer falls more than
// one interval behind, it drops the missed ticks instead of bursting to
// catch up, like a camera that drops frames nobody collected.
type pacer struct {
	clock    Clock
	interval time.Duration // 0: unpaced
	next     time.Time
}

func newPacer(c Clock, interval time.Duration, unpaced bool) *pacer {
	if unpaced {
		interval = 0
	}
	return &pacer{clock: clockOrSystem(c), interval: interval}
}

func (p *pacer) wait() {
	if p.interval <= 0 {
		return
	}
	now := p.clock.Now()
	switch {
	case p.next.IsZero():
		p.next = now
	case now.Before(p.next):
		p.clock.Sleep(p.next.Sub(now))
	case now.Sub(p.next) > p.interval:
		p.next = now
	}
	p.next = p.next.Add(p.interval)
}

// frameInterval turns a frame rate into a frame duration.
func frameInterval(fps float64) time.Duration {
	return time.Duration(float64(time.Second) / fps)
}

func validFPS(fps float64) bool { return fps > 0 && fps <= 240 }

var errOddSize = errors.New("width and height must be even (I420)")
