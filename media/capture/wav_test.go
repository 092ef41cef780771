package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeWAVFile(t *testing.T, path string, rate, channels int, samples []int16) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteWAV(&b, rate, channels, samples); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWAVRoundTripLoopsSeamlessly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ramp.wav")
	ramp := make([]int16, 1000)
	for i := range ramp {
		ramp[i] = int16(i*7 - 3000)
	}
	writeWAVFile(t, path, SampleRate, 1, ramp)
	clock := newFakeClock()
	w, err := OpenWAV(path, WAVOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got := readSamples(t, w, 3000)
	for i, v := range got {
		if v != ramp[i%1000] {
			t.Fatalf("sample %d = %d, want %d (file sample %d)", i, v, ramp[i%1000], i%1000)
		}
	}
	if i := w.Info(); i.Kind != "wav" || i.SampleRate != SampleRate || i.Channels != 1 || i.Device != path {
		t.Fatalf("Info = %+v", i)
	}
	if clock.Slept() == 0 {
		t.Fatal("a paced WAV source did not wait between chunks")
	}
}

func TestWAVStereoIsMixedDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stereo.wav")
	st := make([]int16, 2*960)
	for i := range 960 {
		st[2*i], st[2*i+1] = 1000, 3000
	}
	writeWAVFile(t, path, SampleRate, 2, st)
	w, err := OpenWAV(path, WAVOptions{Unpaced: true, NoLoop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got := readSamples(t, w, 960)
	if slices.IndexFunc(got, func(v int16) bool { return v != 2000 }) >= 0 {
		t.Fatalf("stereo 1000/3000 mixed down to %v…, want 2000", got[:4])
	}
	if _, _, err := w.Read(); err != io.EOF {
		t.Fatalf("Read past the end without looping = %v, want io.EOF", err)
	}
}

// ffmpeg writes a LIST chunk before the data; the tone comes through.
func TestWAVFromFFmpeg(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sine.wav")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1", "-c:a", "pcm_s16le", path)
	w, err := OpenWAV(path, WAVOptions{Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s := readSamples(t, w, SampleRate)
	if got := zeroCrossings(s); math.Abs(float64(got)-880) > 4 {
		t.Fatalf("440 Hz file: %d zero crossings in 1 s, want 880", got)
	}
}

func TestWAVBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rate, channels, bits, format int) string {
		var b bytes.Buffer
		WriteWAV(&b, rate, channels, make([]int16, 96*channels))
		raw := b.Bytes()
		binary.LittleEndian.PutUint16(raw[20:], uint16(format))
		binary.LittleEndian.PutUint16(raw[34:], uint16(bits))
		p := filepath.Join(dir, name)
		os.WriteFile(p, raw, 0o644)
		return p
	}
	cases := []struct {
		path, want string
	}{
		{write("cd.wav", 44100, 2, 16, 1), "sample rate 44100 Hz not supported; want 48000 (ffmpeg -ar 48000)"},
		{write("u8.wav", 48000, 1, 8, 1), "8-bit samples not supported"},
		{write("float.wav", 48000, 1, 32, 3), "format 3 is not integer PCM"},
	}
	junk := filepath.Join(dir, "junk.wav")
	os.WriteFile(junk, []byte("hello, this is not audio"), 0o644)
	cases = append(cases, struct{ path, want string }{junk, "not a RIFF/WAVE file"})
	nodata := filepath.Join(dir, "nodata.wav")
	os.WriteFile(nodata, []byte("RIFF\x04\x00\x00\x00WAVE"), 0o644)
	cases = append(cases, struct{ path, want string }{nodata, "no fmt chunk"})
	empty := filepath.Join(dir, "empty.wav")
	writeWAVFile(t, empty, SampleRate, 1, nil)
	cases = append(cases, struct{ path, want string }{empty, "no samples"})

	for _, c := range cases {
		_, err := OpenWAV(c.path, WAVOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "capture: wav "+c.path) {
			t.Errorf("%s: OpenWAV = %v, want an error naming the file and saying %q", filepath.Base(c.path), err, c.want)
		}
	}
	if _, err := OpenWAV(filepath.Join(dir, "missing.wav"), WAVOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzWAV feeds arbitrary files to the reader: errors are fine, panics
// and hangs are not.
func FuzzWAV(f *testing.F) {
	var b bytes.Buffer
	WriteWAV(&b, SampleRate, 2, []int16{1, 2, 3, 4, 5, 6})
	f.Add(b.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff\x01\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.wav")
		os.WriteFile(path, data, 0o644)
		w, err := OpenWAV(path, WAVOptions{Unpaced: true})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "capture: wav") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		defer w.Close()
		for range 3 {
			if _, _, err := w.Read(); err != nil {
				t.Fatalf("Read of an accepted file: %v", err)
			}
		}
	})
}
