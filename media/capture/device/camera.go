// Package device opens the room's real camera (V4L2, through
// pion/mediadevices' camera driver) and microphone (ALSA/PulseAudio through
// mediadevices' malgo driver) as capture sources.
//
// Importing this package runs mediadevices' device discovery (it lists
// /dev/video* and starts a miniaudio context), which is why it is apart
// from package capture: the simulated board never imports it.
//
// Opening a device that is not there fails with an error wrapping
// ErrNoCamera or ErrNoMicrophone that says what was looked at; wrap the
// camera opener in capture.NewReconnectingVideo to keep sending placeholder
// frames and pick the camera up when it is plugged in.
package device

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/driver/camera"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/capture/cammode"
	"github.com/roomd/roomd/media/capture/v4l2"
)

// ErrNoCamera means no usable camera was found; the error wrapping it says
// where roomd looked.
var ErrNoCamera = errors.New("device: no camera")

// CameraConfig selects and sets up the camera.
type CameraConfig struct {
	// Device is a device path ("/dev/video0", "/dev/v4l/by-id/usb-…"), or
	// part of a camera's name ("C920"); empty picks the first camera.
	Device string
	// Width and Height requested; 0 means 1280×720. The nearest size the
	// camera offers is used and reported by Info.
	Width, Height int
	// FPS requested; 0 means 30.
	FPS float64
	// DevDir is where video device nodes are looked for; "" means /dev.
	DevDir string
	// Passthrough allows the camera's own H.264: OpenCamera then returns
	// its access units as *capture.AccessUnit, for passthrough.NewCamera
	// to wrap (see ProbeCamera).
	Passthrough bool
	// Controls, if set, reach the encoding controls of the H.264 camera
	// while it is open.
	Controls *EncoderControls
}

func (cfg *CameraConfig) defaults() {
	if cfg.Width == 0 || cfg.Height == 0 {
		cfg.Width, cfg.Height = 1280, 720
	}
	if cfg.FPS == 0 {
		cfg.FPS = 30
	}
}

// want is what cammode is asked for: the formats roomd reads (through
// mediadevices, or itself for H.264 and MJPEG).
func (cfg CameraConfig) want() cammode.Want {
	w := cammode.Want{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, Passthrough: cfg.Passthrough, Formats: []uint32{v4l2.FourCCH264}}
	for f := range mediadevicesFormats {
		w.Formats = append(w.Formats, f)
	}
	return w
}

// CameraProbe is what ProbeCamera found.
type CameraProbe struct {
	Path, Name string
	// Choice is the mode OpenCamera will open.
	Choice cammode.Choice
	// KeyFrameControl and BitRateControl say whether the camera has
	// V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME and _BITRATE.
	KeyFrameControl, BitRateControl bool
}

// Passthrough says whether OpenCamera will deliver the camera's own H.264.
func (p CameraProbe) Passthrough() bool { return p.Choice.Mode.FourCC == v4l2.FourCCH264 }

// ProbeCamera finds the configured camera and the mode OpenCamera would
// open, without streaming: whoever opens the camera for a call learns
// whether to wrap it for passthrough (passthrough.NewCamera) and which
// controls it has.
func ProbeCamera(cfg CameraConfig) (CameraProbe, error) {
	cfg.defaults()
	path, caps, err := findCamera(cfg)
	if err != nil {
		return CameraProbe{}, err
	}
	d, err := v4l2.Open(path)
	if err != nil {
		return CameraProbe{}, fmt.Errorf("%w: %v", ErrNoCamera, err)
	}
	defer d.Close()
	modes, err := d.Modes()
	if err != nil {
		return CameraProbe{}, err
	}
	c, ok := cammode.Choose(modes, cfg.want())
	if !ok {
		return CameraProbe{}, fmt.Errorf("device: camera %s (%s) offers no format roomd can use", path, caps.Card)
	}
	_, kerr := d.QueryControl(v4l2.CIDForceKeyFrame)
	_, berr := d.QueryControl(v4l2.CIDBitrate)
	return CameraProbe{Path: path, Name: caps.Card, Choice: c, KeyFrameControl: kerr == nil, BitRateControl: berr == nil}, nil
}

// Cameras lists the V4L2 cameras (capture nodes that are not codecs or ISPs)
// under devDir ("" means /dev), for diagnostics and status.
func Cameras(devDir string) []capture.Info {
	var out []capture.Info
	for _, p := range v4l2.Devices(devDir) {
		if c, err := v4l2.QueryCapabilities(p); err == nil && c.IsCamera() {
			out = append(out, capture.Info{Kind: "camera", Device: p, Name: c.Card})
		}
	}
	return out
}

// cameraMu serialises discovery: camera.Initialize rebuilds mediadevices'
// global driver list.
var cameraMu sync.Mutex

// OpenCamera opens and starts the configured camera in the mode that gives
// the configured size at the configured rate for the least CPU (package
// cammode; Info().ModeReason says why). H.264 (with Passthrough) and MJPEG
// modes are captured by roomd itself through V4L2 streaming: H.264 access
// units come out as *capture.AccessUnit, MJPEG is decoded by
// libjpeg-turbo. Other formats go through mediadevices' camera driver and
// are converted to I420. If roomd's own capture fails to start, an MJPEG
// or H.264 camera is opened through mediadevices instead (MJPEG decoded in
// Go) and the reason says so.
func OpenCamera(cfg CameraConfig) (capture.VideoSource, error) {
	cfg.defaults()
	path, caps, err := findCamera(cfg)
	if err != nil {
		return nil, err
	}
	modes, merr := v4l2.Modes(path)
	choice, chosen := cammode.Choose(modes, cfg.want())
	var fallback string
	if chosen && (choice.Mode.FourCC == v4l2.FourCCH264 || choice.Mode.FourCC == v4l2.FourCCMJPEG) {
		src, err := openCompressed(path, caps, choice, cfg.Controls)
		if err == nil {
			return src, nil
		}
		fallback = "; roomd's own capture failed (" + err.Error() + "), so through mediadevices"
		cfg.Passthrough = false
		choice, chosen = cammode.Choose(modes, cfg.want())
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}

	cameraMu.Lock()
	defer cameraMu.Unlock()
	// Rediscover: the camera may have been plugged in since start-up.
	camera.Initialize()
	var drv driver.Driver
	for _, d := range driver.GetManager().Query(driver.FilterVideoRecorder()) {
		_, node, _ := strings.Cut(d.Info().Label, camera.LabelSeparator)
		if node == filepath.Base(real) {
			drv = d
			break
		}
	}
	if drv == nil {
		return nil, fmt.Errorf("%w: %s (%s) is a camera but mediadevices did not register it", ErrNoCamera, path, caps.Card)
	}
	if err := drv.Open(); err != nil {
		return nil, fmt.Errorf("device: opening camera %s (%s): %w", path, caps.Card, err)
	}
	p, why, ok := propFromChoice(choice, chosen, merr, drv.Properties(), cfg)
	why += fallback
	if !ok {
		drv.Close()
		return nil, fmt.Errorf("device: camera %s (%s) offers no format roomd can use (I420, NV12, NV21, YUYV, UYVY, MJPEG)", path, caps.Card)
	}
	r, err := drv.(driver.VideoRecorder).VideoRecord(p)
	if err != nil {
		drv.Close()
		return nil, fmt.Errorf("device: starting camera %s (%s) at %dx%d %s: %w", path, caps.Card, p.Width, p.Height, p.FrameFormat, err)
	}
	format := string(p.FrameFormat)
	if p.FrameFormat == frame.FormatI420 {
		format = ""
	}
	return &cameraSource{
		r:   video.ToI420(r),
		drv: drv,
		info: capture.Info{
			Kind: "camera", Device: path, Name: caps.Card,
			Width: p.Width, Height: p.Height, FPS: float64(p.FrameRate), Format: format,
			ModeReason: why,
		},
	}, nil
}

// findCamera resolves the configured device to a capture node.
func findCamera(cfg CameraConfig) (string, v4l2.Capabilities, error) {
	dev := cfg.Device
	if strings.HasPrefix(dev, "/") {
		caps, err := v4l2.QueryCapabilities(dev)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return "", caps, fmt.Errorf("%w: %s does not exist (camera unplugged?)", ErrNoCamera, dev)
		case err != nil:
			return "", caps, fmt.Errorf("%w: %v", ErrNoCamera, err)
		case !caps.IsCamera():
			return "", caps, fmt.Errorf("%w: %s (%s) is not a camera: %s", ErrNoCamera, dev, caps.Card, caps.Describe())
		case !caps.IsSinglePlanarCamera():
			return "", caps, fmt.Errorf("%w: %s (%s) is a multi-planar camera, which mediadevices cannot read (libcamera-era CSI sensors)", ErrNoCamera, dev, caps.Card)
		}
		return dev, caps, nil
	}
	nodes := v4l2.Devices(cfg.DevDir)
	var seen []string
	for _, p := range nodes {
		caps, err := v4l2.QueryCapabilities(p)
		if err != nil {
			seen = append(seen, err.Error())
			continue
		}
		if !caps.IsSinglePlanarCamera() {
			seen = append(seen, fmt.Sprintf("%s: %s, %s", filepath.Base(p), caps.Card, caps.Describe()))
			continue
		}
		if dev == "" || strings.Contains(strings.ToLower(caps.Card), strings.ToLower(dev)) {
			return p, caps, nil
		}
		seen = append(seen, fmt.Sprintf("%s: %s, name does not match %q", filepath.Base(p), caps.Card, dev))
	}
	dir := cfg.DevDir
	if dir == "" {
		dir = "/dev"
	}
	if len(nodes) == 0 {
		return "", v4l2.Capabilities{}, fmt.Errorf("%w: no %s/video* device nodes (is a camera plugged in?)", ErrNoCamera, dir)
	}
	return "", v4l2.Capabilities{}, fmt.Errorf("%w: none of %s/video* is a usable camera (%s)", ErrNoCamera, dir, strings.Join(seen, "; "))
}

// mediadevicesFormats are the V4L2 formats mediadevices' camera driver
// reads, and what it calls them.
var mediadevicesFormats = map[uint32]frame.Format{
	v4l2.FourCCYU12:     frame.FormatI420,
	v4l2.FourCCNV12:     frame.FormatNV12,
	v4l2.FourCC("NV21"): frame.FormatNV21,
	v4l2.FourCCYUYV:     frame.FormatYUYV,
	v4l2.FourCC("UYVY"): frame.FormatUYVY,
	v4l2.FourCCMJPEG:    frame.FormatMJPEG,
}

// openCompressed opens path for roomd's own capture of a compressed mode.
func openCompressed(path string, caps v4l2.Capabilities, c cammode.Choice, ctl *EncoderControls) (capture.VideoSource, error) {
	d, err := v4l2.Open(path)
	if err != nil {
		return nil, err
	}
	src, err := startCompressed(d, c.Mode, capture.Info{Kind: "camera", Device: path, Name: caps.Card, ModeReason: c.Why}, ctl)
	if err != nil {
		d.Close()
		return nil, err
	}
	return src, nil
}

// propFromChoice turns the mode cammode chose (chosen false: none, from
// the modes listed, or listing them failed with err) into the constraint
// mediadevices opens the camera with, with the reason for status. Without
// a choice it falls back to mediadevices' own list, ranked by
// pickVideoProp.
func propFromChoice(c cammode.Choice, chosen bool, err error, props []prop.Media, cfg CameraConfig) (prop.Media, string, bool) {
	if f, ok := mediadevicesFormats[c.Mode.FourCC]; chosen && ok {
		m := c.Mode
		p := prop.Media{Video: prop.Video{Width: m.Width, Height: m.Height, FrameFormat: f, FrameRate: float32(m.FPS)}}
		if p.FrameRate == 0 {
			p.FrameRate = float32(cfg.FPS)
		}
		return p, c.Why, true
	}
	p, ok := pickVideoProp(props, cfg)
	why := "the camera lists no sizes or frame rates; chosen by format"
	if err != nil {
		why = fmt.Sprintf("listing the camera's modes failed (%v); chosen by format", err)
	}
	return p, why, ok
}

// formatRank orders camera formats by CPU cost; MJPEG needs a JPEG decode
// per frame.
var formatRank = []frame.Format{frame.FormatI420, frame.FormatNV12, frame.FormatNV21, frame.FormatYUYV, frame.FormatUYVY, frame.FormatMJPEG}

// pickVideoProp chooses the mode nearest the requested size, then the
// cheapest format, then the nearest frame rate.
func pickVideoProp(props []prop.Media, cfg CameraConfig) (prop.Media, bool) {
	var best prop.Media
	bestScore := math.Inf(1)
	for _, p := range props {
		rank := slices.Index(formatRank, p.FrameFormat)
		if rank < 0 || p.Width <= 0 || p.Height <= 0 {
			continue
		}
		sizeOff := math.Abs(math.Log(float64(p.Width*p.Height) / float64(cfg.Width*cfg.Height)))
		fpsOff := 0.0
		if p.FrameRate > 0 {
			fpsOff = math.Abs(float64(p.FrameRate) - cfg.FPS)
			if float64(p.FrameRate) < cfg.FPS {
				fpsOff *= 4 // too slow is worse than too fast: we can drop frames
			}
		}
		score := sizeOff*1000 + float64(rank)*10 + fpsOff
		if score < bestScore {
			best, bestScore = p, score
		}
	}
	if math.IsInf(bestScore, 1) {
		return best, false
	}
	if best.FrameRate == 0 {
		best.FrameRate = float32(cfg.FPS)
	}
	return best, true
}

type cameraSource struct {
	r    video.Reader
	drv  driver.Driver
	info capture.Info
	once sync.Once
	err  error
}

func (c *cameraSource) Read() (img image.Image, release func(), err error) {
	defer func() {
		// mediadevices' readers panic on some malformed frames; a bad frame
		// must cost one frame, not the daemon.
		if p := recover(); p != nil {
			img, release, err = nil, func() {}, fmt.Errorf("device: camera %s: reader panicked: %v", c.info.Device, p)
		}
	}()
	return c.r.Read()
}

func (c *cameraSource) Info() capture.Info { return c.info }

func (c *cameraSource) Close() error {
	c.once.Do(func() { c.err = c.drv.Close() })
	return c.err
}
