package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/call/janusprovider"
	"github.com/roomd/roomd/media/call/whipprovider"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/capture/device"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/media/playout"
	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/room"
)

// MediaConfig is the [media] table.
type MediaConfig struct {
	Video           string   `toml:"video"`  // "camera", "pattern" or "y4m:PATH"
	Camera          string   `toml:"camera"` // device path or part of its name; "" = first
	Audio           string   `toml:"audio"`  // "microphone", "tone" or "wav:PATH"
	Microphone      string   `toml:"microphone"`
	Width           int      `toml:"width"`
	Height          int      `toml:"height"`
	FPS             float64  `toml:"fps"`
	Codecs          []string `toml:"codecs"` // "h264", "vp8", best first
	HardwareEncoder *bool    `toml:"hardware_encoder"`
	MinBitrate      int      `toml:"min_bitrate"`
	StartBitrate    int      `toml:"start_bitrate"`
	MaxBitrate      int      `toml:"max_bitrate"`
	Framebuffer     string   `toml:"framebuffer"` // device; "file:PATH" an XRGB8888 file of the display's size (sim); "" or "off" disables
	Speaker         string   `toml:"speaker"`     // playback device name part; "" default; "off" plays into nothing
	Record          string   `toml:"record"`      // record the screen to this Y4M file
	DisplayWidth    int      `toml:"display_width"`
	DisplayHeight   int      `toml:"display_height"`
}

func (m *MediaConfig) defaults(sim bool) {
	if m.Video == "" {
		m.Video = "camera"
		if sim {
			m.Video = "pattern"
		}
	}
	if m.Audio == "" {
		m.Audio = "microphone"
		if sim {
			m.Audio = "tone"
		}
	}
	if m.Width == 0 || m.Height == 0 {
		m.Width, m.Height = 1280, 720
	}
	if m.FPS == 0 {
		m.FPS = 30
	}
	if len(m.Codecs) == 0 {
		m.Codecs = []string{"h264", "vp8"}
	}
	if m.HardwareEncoder == nil {
		t := true
		m.HardwareEncoder = &t
	}
	if m.Speaker == "" && sim {
		m.Speaker = "off"
	}
	if m.Framebuffer == "" && !sim {
		m.Framebuffer = "/dev/fb0"
	}
	if m.DisplayWidth == 0 || m.DisplayHeight == 0 {
		m.DisplayWidth, m.DisplayHeight = 1280, 720
	}
}

func (m *MediaConfig) validate() error {
	var errs []string
	kind := func(v string, kinds ...string) bool {
		for _, k := range kinds {
			if v == k || (strings.HasSuffix(k, ":") && strings.HasPrefix(v, k) && len(v) > len(k)) {
				return true
			}
		}
		return false
	}
	if !kind(m.Video, "camera", "pattern", "y4m:") {
		errs = append(errs, fmt.Sprintf("media.video %q: use camera, pattern or y4m:/path/file.y4m", m.Video))
	}
	if !kind(m.Audio, "microphone", "tone", "wav:") {
		errs = append(errs, fmt.Sprintf("media.audio %q: use microphone, tone or wav:/path/file.wav", m.Audio))
	}
	if m.Width%2 != 0 || m.Height%2 != 0 || m.Width < 160 || m.Height < 90 || m.Width > 3840 || m.Height > 2160 {
		errs = append(errs, fmt.Sprintf("media: %dx%d is not a usable even size between 160x90 and 3840x2160", m.Width, m.Height))
	}
	if m.FPS < 1 || m.FPS > 60 {
		errs = append(errs, "media.fps must be 1 to 60")
	}
	for _, c := range m.Codecs {
		if _, ok := mimeOf[strings.ToLower(c)]; !ok {
			errs = append(errs, fmt.Sprintf("media.codecs: %q is not h264 or vp8", c))
		}
	}
	if m.MinBitrate < 0 || m.MaxBitrate < 0 || m.StartBitrate < 0 ||
		(m.MaxBitrate > 0 && m.MinBitrate > m.MaxBitrate) {
		errs = append(errs, "media: bitrates must be positive with min_bitrate ≤ max_bitrate")
	}
	if m.DisplayWidth%2 != 0 || m.DisplayHeight%2 != 0 {
		errs = append(errs, "media: display size must be even")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

var mimeOf = map[string]string{"h264": codec.MimeH264, "vp8": codec.MimeVP8}

// mediaParts is the call engine and the screen it draws on.
type mediaParts struct {
	engine  *call.Engine
	mixer   *playout.Mixer
	speaker *playout.Speaker // nil: the sound is drained
	comp    *display.Compositor
	sinks   []display.Sink
	failed  []room.Device // display sinks that could not open
}

// newMedia builds the call engine. report is the room's Report, set later.
func newMedia(cfg *Config, mic, camera *media.Gate, report func(room.Report), log *slog.Logger) (*mediaParts, error) {
	m := cfg.Media
	mediaHeap()
	comp := display.NewCompositor(m.DisplayWidth, m.DisplayHeight)
	p := &mediaParts{comp: comp, mixer: playout.NewMixer()}
	video := func() (capture.VideoSource, error) {
		switch {
		case m.Video == "pattern":
			return capture.NewPattern(capture.PatternOptions{Width: m.Width, Height: m.Height, FPS: m.FPS})
		case strings.HasPrefix(m.Video, "y4m:"):
			return capture.OpenY4M(strings.TrimPrefix(m.Video, "y4m:"), capture.Y4MOptions{})
		}
		// A camera may be unplugged and come back: placeholder frames until then.
		return capture.NewReconnectingVideo(func() (capture.VideoSource, error) {
			return device.OpenCamera(device.CameraConfig{Device: m.Camera, Width: m.Width, Height: m.Height, FPS: m.FPS})
		}, capture.ReconnectOptions{Width: m.Width, Height: m.Height, FPS: m.FPS, Privacy: camera, Logger: log}), nil
	}
	audio := func() (capture.AudioSource, error) {
		switch {
		case m.Audio == "tone":
			return capture.NewTone(capture.ToneOptions{})
		case strings.HasPrefix(m.Audio, "wav:"):
			return capture.OpenWAV(strings.TrimPrefix(m.Audio, "wav:"), capture.WAVOptions{})
		}
		return device.OpenMicrophone(device.MicrophoneConfig{Device: m.Microphone})
	}
	var codecs []string
	for _, c := range m.Codecs {
		codecs = append(codecs, mimeOf[strings.ToLower(c)])
	}
	eng, err := call.New(call.Config{
		Display:    cfg.Room.Name,
		Sources:    call.Sources{Video: video, Audio: audio},
		Mic:        mic,
		Camera:     camera,
		Compositor: comp,
		Playout:    p.mixer,
		Codecs:     codecs,
		NoHardware: !*m.HardwareEncoder,
		FPS:        m.FPS,
		Transport:  transport.Config{MinBitrate: m.MinBitrate, StartBitrate: m.StartBitrate, MaxBitrate: m.MaxBitrate, VideoCodecs: codecs},
		Logger:     log,
		Providers:  call.Providers{janusprovider.Name: janusprovider.Provider{}, whipprovider.Name: whipprovider.Provider{}},
	}, report)
	if err != nil {
		return nil, err
	}
	p.engine = eng
	if m.Framebuffer != "" && m.Framebuffer != "off" {
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
			log.Warn("roomd: no display output; running without it", "err", err)
			p.failed = append(p.failed, room.Device{Name: "display", Kind: "framebuffer", State: "failed", Reason: err.Error()})
		} else {
			p.sinks = append(p.sinks, fb)
			// A mapped 32-bit screen of the display's size is drawn on
			// directly: each new frame is converted once, into the screen.
			w, h := fb.Size()
			log.Info("roomd: display", "framebuffer", m.Framebuffer, "width", w, "height", h, "drawn_in_place", comp.DrawOn(fb))
		}
	}
	if m.Speaker != "off" {
		sp, err := playout.OpenSpeaker(m.Speaker, p.mixer)
		if err != nil {
			log.Warn("roomd: no speaker; the meeting's sound is dropped", "err", err)
			p.failed = append(p.failed, room.Device{Name: "speaker", Kind: "audio", State: "failed", Reason: err.Error()})
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

// mediaGCPercent is roomd's Go heap target above the live heap (Go's
// default is 100).
const mediaGCPercent = 40

// mediaHeap sets the garbage collector for a call's heap, unless GOGC says
// otherwise. In a call the live heap is mostly video frames that are
// reused, not garbage, so the default target would keep a second heap's
// worth of memory (about 10 MiB at 720p) for little gain; allocation
// between collections is small (packets, encoded frames), so collecting
// more often costs next to nothing.
func mediaHeap() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(mediaGCPercent)
	}
}

// run plays the meeting's sound and draws the screen until ctx ends.
func (p *mediaParts) run(ctx context.Context, wg *sync.WaitGroup, m MediaConfig, log *slog.Logger) {
	wg.Go(func() {
		if p.speaker != nil {
			<-ctx.Done()
			p.speaker.Close()
			return
		}
		playout.Drain(ctx, p.mixer)
	})
	if len(p.sinks) == 0 {
		return
	}
	fps := m.FPS
	wg.Go(func() {
		display.Run(ctx, p.comp, int(fps), func(s display.Sink, err error) {
			log.Error("roomd: display output failed", "err", err)
		}, p.sinks...)
		for _, s := range p.sinks {
			s.Close()
		}
	})
}
