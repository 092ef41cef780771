package codec

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/roomd/roomd/media/capture/v4l2"
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
}

// Selection is the encoder Select chose and why.
type Selection struct {
	Encoder  VideoEncoder
	Codec    string // MIME type
	Name     string // e.g. "openh264"
	Hardware bool
	// Reason is a sentence for status, e.g. "hardware: no V4L2 M2M H.264
	// encoder found (/dev/video11 missing); using openh264 software".
	Reason string
}

// candidate is one way to get an encoder. Hardware encoders come first
// for their codec; a future V4L2 M2M or camera-passthrough encoder slots in
// by replacing openHardwareH264.
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
			if len(skipped) > 0 {
				reason = strings.Join(skipped, "; ") + "; " + reason
			}
			return Selection{Encoder: enc, Codec: c.codec, Name: c.name, Hardware: c.hardware, Reason: reason}, nil
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

// openHardwareH264 is where a V4L2 memory-to-memory encoder will be opened.
// Until roomd has one, finding the device is reported as a reason too, so
// status shows that hardware is there for the taking.
func openHardwareH264(prefs Preferences, _ VideoConfig) (VideoEncoder, error) {
	p := ProbeHardwareH264(prefs.DevDir)
	if p.Device == "" {
		return nil, errors.New(p.Reason)
	}
	return nil, fmt.Errorf("V4L2 M2M H.264 encoder %s (%s) found, but roomd has no V4L2 M2M encoder driver yet", p.Device, p.Card)
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

// ProbeHardwareH264 looks under devDir ("" means /dev) for a V4L2
// memory-to-memory device whose encoded (capture) queue offers H.264,
// starting with the Pi 4's /dev/video11.
func ProbeHardwareH264(devDir string) HardwareProbe {
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
		caps, err := v4l2.QueryCapabilities(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			notes = append(notes, p+" missing")
			continue
		case err != nil:
			notes = append(notes, strings.TrimPrefix(err.Error(), "v4l2: ")) // names the node
			continue
		case !caps.IsM2M():
			notes = append(notes, fmt.Sprintf("%s is %s (%s)", p, caps.Card, caps.Describe()))
			continue
		}
		queue := uint32(v4l2.BufVideoCapture)
		if caps.NodeCaps()&v4l2.CapVideoM2MMPlane != 0 {
			queue = v4l2.BufVideoCaptureMPlane
		}
		formats, err := v4l2.Formats(p, queue)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s (%s): %v", p, caps.Card, err))
			continue
		}
		for _, f := range formats {
			if f.FourCC == v4l2.FourCCH264 {
				return HardwareProbe{Device: p, Card: caps.Card}
			}
		}
		notes = append(notes, fmt.Sprintf("%s (%s) is memory-to-memory but does not produce H.264", p, caps.Card))
	}
	if len(nodes) == 1 {
		notes = append(notes, "no other "+filepath.Join(devDir, "video*")+" devices")
	}
	return HardwareProbe{Reason: "no V4L2 M2M H.264 encoder found (" + strings.Join(notes, "; ") + ")"}
}
