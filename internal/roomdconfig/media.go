package roomdconfig

import (
	"fmt"
	"strings"
)

// Media is the [media] table: what the call sends and where it shows and
// plays what it receives.
type Media struct {
	Video           string   `toml:"video"`  // "camera", "pattern", "y4m:PATH", "h264:PATH" or "mjpeg:PATH" (sim H.264/MJPEG cameras)
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

	// CameraPassthrough sends a camera's own H.264 as it is when the call
	// is H.264; default true.
	CameraPassthrough *bool `toml:"camera_passthrough"`
}

func (m *Media) defaults(sim bool) {
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
	if m.CameraPassthrough == nil {
		t := true
		m.CameraPassthrough = &t
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

func (m *Media) validate() error {
	var errs []string
	kind := func(v string, kinds ...string) bool {
		for _, k := range kinds {
			if v == k || (strings.HasSuffix(k, ":") && strings.HasPrefix(v, k) && len(v) > len(k)) {
				return true
			}
		}
		return false
	}
	if !kind(m.Video, "camera", "pattern", "y4m:", "h264:", "mjpeg:") {
		errs = append(errs, fmt.Sprintf("media.video %q: use camera, pattern, y4m:/path/file.y4m, h264:/path/file.h264 or mjpeg:/path/file.mjpeg", m.Video))
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
		if !KnownCodec(c) {
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

// KnownCodec says whether media.codecs may name c: h264 or vp8, in any
// case.
func KnownCodec(c string) bool {
	switch strings.ToLower(c) {
	case "h264", "vp8":
		return true
	}
	return false
}
