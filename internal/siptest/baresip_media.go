package siptest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// ReceivedFrame returns the next video frame baresip decodes from the far
// end, as its snapshot module saves it. It fails after timeout when no frame
// is decoded (no video, or video that does not decode).
func (b *Baresip) ReceivedFrame(timeout time.Duration) (image.Image, error) {
	return b.snapshot("snapshot_recv", "recv", timeout)
}

// SentFrame returns the next frame baresip encodes for the far end.
func (b *Baresip) SentFrame(timeout time.Duration) (image.Image, error) {
	return b.snapshot("snapshot_send", "send", timeout)
}

func (b *Baresip) snapshot(cmd, kind string, timeout time.Duration) (image.Image, error) {
	// snapshot.c keeps the path in a 100-byte buffer; b.dir is short.
	path := filepath.Join(b.dir, fmt.Sprintf("%s-%d.png", kind, b.snapshots.Add(1)))
	if _, err := b.Command(cmd, path); err != nil {
		return nil, err
	}
	img, err := waitImage(path, png.Decode, timeout)
	if err != nil {
		return nil, fmt.Errorf("siptest: baresip decoded no %s video frame: %w", kind, err)
	}
	return img, nil
}

// waitImage waits until the file at path exists and decodes: far ends write
// snapshots in several calls, so a partial file is retried.
func waitImage(path string, decode func(io.Reader) (image.Image, error), timeout time.Duration) (image.Image, error) {
	deadline := time.Now().Add(timeout)
	for {
		if data, err := os.ReadFile(path); err == nil {
			if img, err := decode(bytes.NewReader(data)); err == nil {
				return img, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no picture in %s within %v: %w", path, timeout, ErrTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CheckBars checks that img shows fakevideo's pattern (the default camera of
// a Baresip): red, green and blue vertical thirds. Codecs blur the edges, so
// it looks at the middle of each third.
func CheckBars(img image.Image) error {
	want := []struct {
		name    string
		r, g, b bool
	}{{"red", true, false, false}, {"green", false, true, false}, {"blue", false, false, true}}
	bounds := img.Bounds()
	w, h := bounds.Dx(), bounds.Dy()
	if w < 6 || h < 2 {
		return fmt.Errorf("siptest: frame %dx%d is too small for the bars", w, h)
	}
	for i, bar := range want {
		x := bounds.Min.X + w*(2*i+1)/6
		y := bounds.Min.Y + h/2
		r, g, bl, _ := img.At(x, y).RGBA()
		got := [3]bool{r>>8 > 160, g>>8 > 160, bl>>8 > 160}
		low := [3]bool{r>>8 < 90, g>>8 < 90, bl>>8 < 90}
		ok := true
		for c, on := range [3]bool{bar.r, bar.g, bar.b} {
			if on && !got[c] || !on && !low[c] {
				ok = false
			}
		}
		if !ok {
			return fmt.Errorf("siptest: pixel (%d,%d) of a %dx%d frame is rgb(%d,%d,%d), want %s", x, y, w, h, r>>8, g>>8, bl>>8, bar.name)
		}
	}
	return nil
}

// Audio is what baresip's sndfile module dumped for the latest call in one
// direction.
type Audio struct {
	Path       string
	SampleRate int
	Channels   int
	Samples    []int16 // interleaved
}

// Duration is how much audio the dump holds.
func (a Audio) Duration() time.Duration {
	if a.SampleRate == 0 || a.Channels == 0 {
		return 0
	}
	return time.Duration(len(a.Samples)/a.Channels) * time.Second / time.Duration(a.SampleRate)
}

// Last is the final d of the audio (all of it when shorter).
func (a Audio) Last(d time.Duration) Audio {
	n := int(d.Seconds()*float64(a.SampleRate)) * a.Channels
	if n < len(a.Samples) {
		a.Samples = a.Samples[len(a.Samples)-n:]
	}
	return a
}

// RMS is the root mean square of the samples, 0 to 32768: near 0 is silence.
func (a Audio) RMS() float64 {
	if len(a.Samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range a.Samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(a.Samples)))
}

// ReceivedAudio returns the audio baresip decoded from the far end in its
// latest call (sndfile's dump-*-dec.wav), as far as written.
func (b *Baresip) ReceivedAudio() (Audio, error) { return b.audioDump("dec") }

// SentAudio returns the audio baresip encoded for the far end in its latest
// call (dump-*-enc.wav).
func (b *Baresip) SentAudio() (Audio, error) { return b.audioDump("enc") }

func (b *Baresip) audioDump(kind string) (Audio, error) {
	files, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-"+kind+".wav"))
	if len(files) == 0 {
		return Audio{}, errors.New("siptest: baresip has dumped no audio yet: no call has started its audio stream")
	}
	sort.Strings(files) // names carry the call's start time
	path := files[len(files)-1]
	data, err := os.ReadFile(path)
	if err != nil {
		return Audio{}, fmt.Errorf("siptest: %w", err)
	}
	a, err := parseWAV(data)
	a.Path = path
	return a, err
}

// parseWAV reads a 16-bit PCM WAV that may still be being written: the data
// chunk runs to the end of what is there, whatever its header says.
func parseWAV(data []byte) (Audio, error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return Audio{}, errors.New("siptest: not a WAV file")
	}
	var a Audio
	for p := 12; p+8 <= len(data); {
		id := string(data[p : p+4])
		size := int(binary.LittleEndian.Uint32(data[p+4 : p+8]))
		body := data[p+8:]
		switch {
		case id == "fmt " && len(body) >= 16:
			if f := binary.LittleEndian.Uint16(body[0:2]); f != 1 || binary.LittleEndian.Uint16(body[14:16]) != 16 {
				return a, fmt.Errorf("siptest: WAV format %d is not 16-bit PCM", f)
			}
			a.Channels = int(binary.LittleEndian.Uint16(body[2:4]))
			a.SampleRate = int(binary.LittleEndian.Uint32(body[4:8]))
		case id == "data":
			n := len(body) / 2
			a.Samples = make([]int16, n)
			for i := range a.Samples {
				a.Samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return a, nil
		}
		if size < 0 || p+8+size > len(data) {
			break
		}
		p += 8 + size + size&1
	}
	if a.SampleRate == 0 {
		return a, errors.New("siptest: WAV without a fmt chunk")
	}
	return a, nil
}
