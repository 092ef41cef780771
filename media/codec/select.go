package codec

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/codec/v4l2m2m"
)

// Preferences steer Select.
type Preferences struct {
	// Codecs lists acceptable MIME types, best first: pass what was
	// negotiated with the far end. Nil means H.264, then VP8.
	Codecs []string
	// NoHardware skips the hardware probe (configuration, or a hardware
	// encoder known to misbehave).
	NoHardware bool
	// DevDir is where V4L2 devices are looked for; "" means /dev.
	DevDir string

	// open opens a V4L2 node; nil means v4l2.Open. Tests pass fakes.
	open func(path string) (*v4l2.Device, error)
}

// Selection is the encoder Select chose and why.
type Selection struct {
	Encoder  VideoEncoder
	Codec    string // MIME type
	Name     string // e.g. "openh264"
	Hardware bool
	// Device names the hardware encoder's node and card, e.g.
	// "/dev/video11 (bcm2835-codec-encode)"; empty for software. If the
	// device fails mid-call the encoder goes on in software: see
	// RuntimeFallback.
	Device string
	// Reason is a sentence for status, e.g. "hardware: no V4L2 M2M H.264
	// encoder found (/dev/video11 missing); using openh264 software".
	Reason string
}

// candidate is one way to get an encoder. Hardware encoders come first
// for their codec; a camera-passthrough encoder would slot in beside
// openHardwareH264.
type candidate struct {
	codec    string
	name     string
	hardware bool
	open     func(Preferences, VideoConfig) (VideoEncoder, error)
}

var candidates = []candidate{
	{MimeH264, "v4l2m2m", true, openHardwareH264},
	{MimeH264, "openh264", false, func(_ Preferences, c VideoConfig) (VideoEncoder, error) { return NewH264(c) }},
	{MimeVP8, "libvpx", false, func(_ Preferences, c VideoConfig) (VideoEncoder, error) { return NewVP8(c) }},
}

// Select returns the best encoder available for the preferred codecs,
// trying hardware before software, with the reason for status.
func Select(prefs Preferences, cfg VideoConfig) (Selection, error) {
	codecs := prefs.Codecs
	if len(codecs) == 0 {
		codecs = []string{MimeH264, MimeVP8}
	}
	var skipped []string
	for _, mime := range codecs {
		known := false
		for _, c := range candidates {
			if !strings.EqualFold(c.codec, mime) {
				continue
			}
			known = true
			var enc VideoEncoder
			err := errors.New("probing disabled by configuration")
			if !c.hardware || !prefs.NoHardware {
				enc, err = c.open(prefs, cfg)
			}
			if err != nil {
				label := c.name
				if c.hardware {
					label = "hardware"
				}
				skipped = append(skipped, label+": "+strings.TrimPrefix(err.Error(), "codec: "))
				continue
			}
			kind := "software"
			if c.hardware {
				kind = "hardware"
			}
			reason := fmt.Sprintf("using %s %s (%s)", c.name, kind, codecName(c.codec))
			device := ""
			if hw, ok := enc.(*hardwareH264); ok {
				reason += " " + hw.describe()
				device = hw.device
			}
			if len(skipped) > 0 {
				reason = strings.Join(skipped, "; ") + "; " + reason
			}
			return Selection{Encoder: enc, Codec: c.codec, Name: c.name, Hardware: c.hardware, Device: device, Reason: reason}, nil
		}
		if !known {
			skipped = append(skipped, fmt.Sprintf("%s: roomd has no encoder for it", mime))
		}
	}
	return Selection{}, fmt.Errorf("codec: no usable video encoder for %s: %s", strings.Join(codecs, ", "), strings.Join(skipped, "; "))
}

func codecName(mime string) string {
	_, n, _ := strings.Cut(mime, "/")
	if strings.EqualFold(n, "H264") {
		return "H.264"
	}
	return n
}

// openHardwareH264 opens the V4L2 memory-to-memory H.264 encoder the
// probe finds, wrapped so that a device failure mid-call switches to
// OpenH264 with the reason (RuntimeFallback).
func openHardwareH264(prefs Preferences, cfg VideoConfig) (VideoEncoder, error) {
	if cfg.MaxNALSize > 0 {
		return nil, fmt.Errorf("the far end takes H.264 NAL units of at most %d bytes (packetization-mode 0), which V4L2 encoders cannot slice", cfg.MaxNALSize)
	}
	open := prefs.open
	if open == nil {
		open = v4l2.Open
	}
	p := probeHardwareH264(prefs.DevDir, open)
	if p.Device == "" {
		return nil, errors.New(p.Reason)
	}
	cfg = cfg.withDefaults()
	hw, err := v4l2m2m.New(v4l2m2m.Config{Device: p.Device, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
		BitRate: cfg.BitRate, KeyFrameInterval: cfg.KeyFrameInterval, CBR: true, Open: open})
	if err != nil {
		return nil, fmt.Errorf("V4L2 M2M H.264 encoder %s (%s) did not start: %s", p.Device, p.Card, strings.TrimPrefix(err.Error(), "v4l2m2m: "))
	}
	return newHardwareH264(hw, cfg), nil
}

// HardwareProbe is what ProbeHardwareH264 found.
type HardwareProbe struct {
	// Device and Card name the encoder found; empty if none.
	Device, Card string
	// Reason says why no encoder was found, naming what was looked at.
	Reason string
}

// piEncoderNode is where the Raspberry Pi 4's bcm2835-codec H.264 encoder
// appears.
const piEncoderNode = "video11"

// ProbeHardwareH264 looks under devDir ("" means /dev) for a multi-planar
// V4L2 memory-to-memory device whose encoded (capture) queue offers H.264
// and whose picture (output) queue takes I420, starting with the Pi 4's
// /dev/video11.
func ProbeHardwareH264(devDir string) HardwareProbe {
	return probeHardwareH264(devDir, v4l2.Open)
}

func probeHardwareH264(devDir string, open func(string) (*v4l2.Device, error)) HardwareProbe {
	if devDir == "" {
		devDir = "/dev"
	}
	pi := filepath.Join(devDir, piEncoderNode)
	nodes := []string{pi}
	for _, p := range v4l2.Devices(devDir) {
		if p != pi {
			nodes = append(nodes, p)
		}
	}
	var notes []string
	for _, p := range nodes {
		dev, err := open(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			notes = append(notes, p+" missing")
			continue
		case err != nil:
			notes = append(notes, strings.TrimPrefix(err.Error(), "v4l2: ")) // names the node
			continue
		}
		note := probeEncoder(dev)
		dev.Close()
		if note == "" {
			return HardwareProbe{Device: p, Card: dev.Capabilities().Card}
		}
		notes = append(notes, note)
	}
	if len(nodes) == 1 {
		notes = append(notes, "no other "+filepath.Join(devDir, "video*")+" devices")
	}
	return HardwareProbe{Reason: "no V4L2 M2M H.264 encoder found (" + strings.Join(notes, "; ") + ")"}
}

// probeEncoder says why an open node is not an encoder roomd can drive,
// or "" if it is one.
func probeEncoder(dev *v4l2.Device) string {
	p, caps := dev.Path(), dev.Capabilities()
	if !caps.IsM2M() {
		return fmt.Sprintf("%s is %s (%s)", p, caps.Card, caps.Describe())
	}
	if caps.NodeCaps()&v4l2.CapVideoM2MMPlane == 0 {
		return fmt.Sprintf("%s (%s) is a single-planar memory-to-memory device; roomd drives multi-planar encoders", p, caps.Card)
	}
	has := func(queue uint32, fourcc uint32) (bool, error) {
		formats, err := dev.Formats(queue)
		for _, f := range formats {
			if f.FourCC == fourcc {
				return true, nil
			}
		}
		return false, err
	}
	ok, err := has(v4l2.BufVideoCaptureMPlane, v4l2.FourCCH264)
	switch {
	case err != nil:
		return fmt.Sprintf("%s (%s): %v", p, caps.Card, err)
	case !ok:
		return fmt.Sprintf("%s (%s) is memory-to-memory but does not produce H.264", p, caps.Card)
	}
	if ok, err := has(v4l2.BufVideoOutputMPlane, v4l2.FourCCYU12); !ok {
		return fmt.Sprintf("%s (%s) produces H.264 but does not take I420 pictures (%v)", p, caps.Card, err)
	}
	return ""
}
