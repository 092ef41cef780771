package device

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	// Registers the microphones miniaudio finds, once, at start-up: it
	// does not rescan, so a microphone plugged in later needs a restart.
	_ "github.com/pion/mediadevices/pkg/driver/microphone"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/roomd/roomd/media/capture"
)

// ErrNoMicrophone means no usable microphone was found; the error wrapping
// it says what the audio backend offered.
var ErrNoMicrophone = errors.New("device: no microphone")

// MicrophoneConfig selects the microphone.
type MicrophoneConfig struct {
	// Device is part of the microphone's name ("USB PnP", "ReSpeaker") or
	// its exact miniaudio device ID; empty picks the system default.
	Device string
}

// isNullDevice spots miniaudio's null backend, which it falls back to when
// there is no ALSA or PulseAudio device: it "captures" silence forever and
// must not pass for a microphone.
func isNullDevice(info driver.Info) bool {
	return info.Label == "6e756c6c" || strings.HasPrefix(info.Name, "Discard all samples")
}

func microphones() (usable []driver.Driver, null bool) {
	for _, d := range driver.GetManager().Query(driver.FilterAnd(driver.FilterAudioRecorder(), driver.FilterDeviceType(driver.Microphone))) {
		if isNullDevice(d.Info()) {
			null = true
			continue
		}
		usable = append(usable, d)
	}
	return usable, null
}

// Microphones lists the capture devices the audio backend offers, for
// diagnostics and status.
func Microphones() []capture.Info {
	ds, _ := microphones()
	out := make([]capture.Info, 0, len(ds))
	for _, d := range ds {
		out = append(out, capture.Info{Kind: "microphone", Device: d.Info().Label, Name: d.Info().Name})
	}
	return out
}

var micMu sync.Mutex

// OpenMicrophone opens and starts the configured microphone, 48 kHz mono
// 16-bit (miniaudio converts from the device's native format).
func OpenMicrophone(cfg MicrophoneConfig) (capture.AudioSource, error) {
	micMu.Lock()
	defer micMu.Unlock()
	ds, null := microphones()
	if len(ds) == 0 {
		why := "the audio backend found no capture device"
		if null {
			why = "the audio backend found only miniaudio's null device (no ALSA or PulseAudio capture device; is /dev/snd there?)"
		}
		return nil, fmt.Errorf("%w: %s", ErrNoMicrophone, why)
	}
	var pick driver.Driver
	var names []string
	for _, d := range ds {
		info := d.Info()
		names = append(names, info.Name)
		switch {
		case cfg.Device == "":
			if pick == nil || info.Priority > pick.Info().Priority {
				pick = d
			}
		case info.Label == cfg.Device || strings.Contains(strings.ToLower(info.Name), strings.ToLower(cfg.Device)):
			if pick == nil {
				pick = d
			}
		}
	}
	if pick == nil {
		return nil, fmt.Errorf("%w: none matches %q (available: %s)", ErrNoMicrophone, cfg.Device, strings.Join(names, ", "))
	}
	info := pick.Info()
	if err := pick.Open(); err != nil {
		return nil, fmt.Errorf("device: opening microphone %q: %w", info.Name, err)
	}
	r, err := pick.(driver.AudioRecorder).AudioRecord(prop.Media{Audio: prop.Audio{
		ChannelCount:  1,
		SampleRate:    capture.SampleRate,
		SampleSize:    2,
		IsInterleaved: true,
		Latency:       20 * time.Millisecond,
	}})
	if err != nil {
		pick.Close()
		return nil, fmt.Errorf("device: starting microphone %q at %d Hz mono: %w", info.Name, capture.SampleRate, err)
	}
	return &micSource{
		r:    r,
		drv:  pick,
		info: capture.Info{Kind: "microphone", Device: info.Label, Name: info.Name, SampleRate: capture.SampleRate, Channels: 1},
	}, nil
}

type micSource struct {
	r    audio.Reader
	drv  driver.Driver
	info capture.Info
	once sync.Once
	err  error
}

func (m *micSource) Read() (chunk wave.Audio, release func(), err error) {
	defer func() {
		// mediadevices' microphone reader panics on a chunk it cannot
		// decode; one bad chunk must not take the daemon down.
		if p := recover(); p != nil {
			chunk, release, err = nil, func() {}, fmt.Errorf("device: microphone %q: reader panicked: %v", m.info.Name, p)
		}
	}()
	return m.r.Read()
}

func (m *micSource) Info() capture.Info { return m.info }

func (m *micSource) Close() error {
	m.once.Do(func() { m.err = m.drv.Close() })
	return m.err
}
