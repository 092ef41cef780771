package playout

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// ErrNoSpeaker is returned when no playback device can be opened.
var ErrNoSpeaker = errors.New("playout: no speaker")

// Speaker plays a mixer on a sound card through miniaudio.
type Speaker struct {
	ctx  *malgo.AllocatedContext
	dev  *malgo.Device
	name string
}

// OpenSpeaker starts playing m on the playback device whose name contains
// name ("" = the default). miniaudio's null backend does not count: a
// machine without sound is an error, not silence.
func OpenSpeaker(name string, m *Mixer) (*Speaker, error) {
	ctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendPulseaudio, malgo.BackendAlsa}, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (is there a sound card, and is roomd in the audio group?)", ErrNoSpeaker, err)
	}
	infos, err := ctx.Devices(malgo.Playback)
	if err != nil || len(infos) == 0 {
		ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("%w: no playback device found (is there a sound card, and is roomd in the audio group?)", ErrNoSpeaker)
	}
	cfg := malgo.DefaultDeviceConfig(malgo.Playback)
	cfg.Playback.Format = malgo.FormatS16
	cfg.Playback.Channels = 1
	cfg.SampleRate = SampleRate
	chosen := ""
	for _, in := range infos {
		if name == "" && in.IsDefault != 0 || name != "" && strings.Contains(in.Name(), name) {
			id := in.ID
			cfg.Playback.DeviceID = id.Pointer()
			chosen = in.Name()
			break
		}
	}
	if name != "" && chosen == "" {
		ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("%w: no playback device named like %q", ErrNoSpeaker, name)
	}
	buf := make([]int16, 0)
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{
		Data: func(out, _ []byte, frames uint32) {
			if cap(buf) < int(frames) {
				buf = make([]int16, frames)
			}
			buf = buf[:frames]
			m.Read(buf)
			copy(out, unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*2))
		},
	})
	if err != nil {
		ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("%w: %v", ErrNoSpeaker, err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("%w: %v", ErrNoSpeaker, err)
	}
	if chosen == "" {
		chosen = "default"
	}
	return &Speaker{ctx: ctx, dev: dev, name: chosen}, nil
}

// Name is the playback device in use.
func (s *Speaker) Name() string { return s.name }

// Close stops playing.
func (s *Speaker) Close() error {
	s.dev.Uninit()
	err := s.ctx.Uninit()
	s.ctx.Free()
	return err
}
