// Package callsetup builds the room's call engine from the [media] table of
// roomd's configuration (internal/roomdconfig): the camera and microphone,
// or the simulated board's test pattern and tone, behind the room's gates;
// the screen the call is drawn on (a framebuffer, a file standing in for
// one, a recording); and the speaker.
//
// An output that cannot open is reported in [Parts.Failed] and the room runs
// without it; only a recording that cannot be made is an error, since it
// was asked for by name.
package callsetup

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/roomd/roomd/internal/roomdconfig"
	"github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/capture/device"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/codec/mjpeg"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/media/passthrough"
	"github.com/roomd/roomd/media/playout"
	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/room"
)

// Options say what to build.
type Options struct {
	Media roomdconfig.Media
	// Display is the name the other participants see (the room's name).
	Display string
	// Mic and Camera are the room's gates: closed is muted and private.
	Mic, Camera *media.Gate
	// Report is the room's inbox, for the engine's reports.
	Report func(room.Report)
	// Providers join the meetings (see call.Config.Providers).
	Providers call.Providers
	Logger    *slog.Logger
}

// Parts are the call engine and the outputs it draws and plays on.
type Parts struct {
	Engine     *call.Engine
	Mixer      *playout.Mixer
	Compositor *display.Compositor
	// Failed are the outputs that could not open, for the room's list of
	// hardware.
	Failed []room.Device

	speaker *playout.Speaker // nil: the sound is drained
	sinks   []display.Sink
	fps     float64
	log     *slog.Logger
}

// New builds the engine and opens the outputs.
func New(o Options) (*Parts, error) {
	m, log := o.Media, o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	comp := display.NewCompositor(m.DisplayWidth, m.DisplayHeight)
	p := &Parts{Compositor: comp, Mixer: playout.NewMixer(), fps: m.FPS, log: log}
	codecs := mimeTypes(m.Codecs)
	eng, err := call.New(call.Config{
		Display:    o.Display,
		Sources:    call.Sources{Video: videoSource(m, o.Camera, log), Audio: audioSource(m)},
		Mic:        o.Mic,
		Camera:     o.Camera,
		Compositor: comp,
		Playout:    p.Mixer,
		Codecs:     codecs,
		NoHardware: m.HardwareEncoder != nil && !*m.HardwareEncoder,
		FPS:        m.FPS,
		Transport:  transport.Config{MinBitrate: m.MinBitrate, StartBitrate: m.StartBitrate, MaxBitrate: m.MaxBitrate, VideoCodecs: codecs},
		Logger:     log,
		Providers:  o.Providers,
	}, o.Report)
	if err != nil {
		return nil, err
	}
	p.Engine = eng
	if m.Framebuffer != "" && m.Framebuffer != "off" {
		p.openFramebuffer(m)
	}
	if m.Speaker != "off" {
		sp, err := playout.OpenSpeaker(m.Speaker, p.Mixer)
		if err != nil {
			log.Warn("roomd: no speaker; the meeting's sound is dropped", "err", err)
			p.Failed = append(p.Failed, room.Device{Name: "speaker", Kind: "audio", State: "failed", Reason: err.Error()})
		} else {
			log.Info("roomd: speaker", "device", sp.Name())
			p.speaker = sp
		}
	}
	if m.Record != "" {
		rec, err := display.NewRecorder(m.Record, m.DisplayWidth, m.DisplayHeight, int(m.FPS))
		if err != nil {
			return nil, err
		}
		p.sinks = append(p.sinks, rec)
	}
	return p, nil
}

// videoSource opens media.video: the test pattern, a Y4M file, an H.264
// or MJPEG file played as a camera that encodes, or a camera.
func videoSource(m roomdconfig.Media, camera *media.Gate, log *slog.Logger) func() (capture.VideoSource, error) {
	return func() (capture.VideoSource, error) {
		switch {
		case m.Video == "pattern":
			return capture.NewPattern(capture.PatternOptions{Width: m.Width, Height: m.Height, FPS: m.FPS})
		case strings.HasPrefix(m.Video, "y4m:"):
			return capture.OpenY4M(strings.TrimPrefix(m.Video, "y4m:"), capture.Y4MOptions{})
		case strings.HasPrefix(m.Video, "h264:"):
			// A camera that encodes H.264 itself, played from a file.
			return passthrough.OpenH264File(strings.TrimPrefix(m.Video, "h264:"), passthrough.FileOptions{
				FPS: m.FPS, Passthrough: m.CameraPassthrough == nil || *m.CameraPassthrough})
		case strings.HasPrefix(m.Video, "mjpeg:"):
			// An MJPEG camera, played from a file and decoded as a real
			// one is (libjpeg-turbo).
			dec, err := mjpeg.New()
			if err != nil {
				return nil, err
			}
			return capture.OpenMJPEG(strings.TrimPrefix(m.Video, "mjpeg:"), capture.MJPEGOptions{FPS: m.FPS, Decoder: dec})
		}
		cfg := device.CameraConfig{Device: m.Camera, Width: m.Width, Height: m.Height, FPS: m.FPS}
		// A camera that encodes H.264 in the mode chosen for it sends its
		// own stream in H.264 calls (passthrough.Use).
		probe, perr := device.ProbeCamera(device.CameraConfig{Device: m.Camera, Width: m.Width, Height: m.Height, FPS: m.FPS, Passthrough: true})
		cfg.Passthrough = (m.CameraPassthrough == nil || *m.CameraPassthrough) && perr == nil && probe.Passthrough()
		cfg.Controls = &device.EncoderControls{}
		// A camera may be unplugged and come back: placeholder frames until then.
		rv := capture.NewReconnectingVideo(func() (capture.VideoSource, error) {
			return device.OpenCamera(cfg)
		}, capture.ReconnectOptions{Width: m.Width, Height: m.Height, FPS: m.FPS, Privacy: camera, Logger: log})
		if !cfg.Passthrough {
			return rv, nil
		}
		var ctl passthrough.Controls
		if probe.KeyFrameControl {
			ctl.ForceKeyFrame = cfg.Controls.ForceKeyFrame
		}
		if probe.BitRateControl {
			ctl.SetBitRate = cfg.Controls.SetBitRate
		}
		return passthrough.NewCamera(rv, passthrough.CameraOptions{Passthrough: true, Controls: ctl}), nil
	}
}

// audioSource opens media.audio: the tone, a WAV file or a microphone.
func audioSource(m roomdconfig.Media) func() (capture.AudioSource, error) {
	return func() (capture.AudioSource, error) {
		switch {
		case m.Audio == "tone":
			return capture.NewTone(capture.ToneOptions{})
		case strings.HasPrefix(m.Audio, "wav:"):
			return capture.OpenWAV(strings.TrimPrefix(m.Audio, "wav:"), capture.WAVOptions{})
		}
		return device.OpenMicrophone(device.MicrophoneConfig{Device: m.Microphone})
	}
}

// mimeTypes turns media.codecs (validated by roomdconfig) into MIME types.
func mimeTypes(names []string) []string {
	var out []string
	for _, c := range names {
		switch strings.ToLower(c) {
		case "h264":
			out = append(out, codec.MimeH264)
		case "vp8":
			out = append(out, codec.MimeVP8)
		}
	}
	return out
}

// openFramebuffer adds the display output, or reports it failed.
func (p *Parts) openFramebuffer(m roomdconfig.Media) {
	var fb *display.Framebuffer
	var err error
	if path, ok := strings.CutPrefix(m.Framebuffer, "file:"); ok {
		// The simulated board's screen: the device's conversion and
		// write, into a plain file.
		fb, err = display.CreateFramebufferFile(path, m.DisplayWidth, m.DisplayHeight)
	} else {
		fb, err = display.OpenFramebuffer(m.Framebuffer)
	}
	if err != nil {
		p.log.Warn("roomd: no display output; running without it", "err", err)
		p.Failed = append(p.Failed, room.Device{Name: "display", Kind: "framebuffer", State: "failed", Reason: err.Error()})
		return
	}
	p.sinks = append(p.sinks, fb)
	// A mapped 32-bit screen of the display's size is drawn on directly:
	// each new frame is converted once, into the screen.
	w, h := fb.Size()
	p.log.Info("roomd: display", "framebuffer", m.Framebuffer, "width", w, "height", h, "drawn_in_place", p.Compositor.DrawOn(fb))
}

// Run plays the meeting's sound and draws the screen until ctx ends, then
// closes the outputs. It does not wait for the engine's calls: Engine.Wait
// does.
func (p *Parts) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if p.speaker != nil {
			<-ctx.Done()
			p.speaker.Close()
			return
		}
		playout.Drain(ctx, p.Mixer)
	})
	if len(p.sinks) > 0 {
		wg.Go(func() {
			display.Run(ctx, p.Compositor, int(p.fps), func(s display.Sink, err error) {
				p.log.Error("roomd: display output failed", "err", err)
			}, p.sinks...)
			for _, s := range p.sinks {
				s.Close()
			}
		})
	}
	wg.Wait()
}
