// Package hwcheck answers two questions about a board's video hardware from
// the command line, with roomd's own code: what V4L2 devices are there and
// what each is to roomd (`roomd --probe`), and does the hardware encoder
// path work on them end to end (`roomd --check-encoder`: frames from a
// camera through a V4L2 memory-to-memory encoder, with a JSON report).
//
// The boot tests (image/imagetest) run both in the qemu guest on real kernel
// drivers: vivid as the camera, vicodec as the stateful encoder (FWHT),
// v4l2loopback as a camera that delivers H.264. A person with a Raspberry
// Pi 4 runs the same commands to see bcm2835-codec (docs/hardware.md).
package hwcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/codec"
)

// Roles of a V4L2 node, as roomd sees it.
const (
	RoleCamera    = "camera"
	RoleEncoder   = "memory-to-memory encoder"
	RoleDecoder   = "memory-to-memory decoder"
	RoleConverter = "memory-to-memory converter"
	RoleOutput    = "video output"
	RoleOther     = "other"
)

// Node is one V4L2 device node.
type Node struct {
	Path   string `json:"path"`
	Driver string `json:"driver"`
	Card   string `json:"card"`
	// Name is the node's name in sysfs (vicodec's three nodes share a card
	// name but are "stateful-encoder", "stateful-decoder", ...).
	Name string `json:"name,omitempty"`
	Role string `json:"role"`
	// Kind is the driver's capability set in words, e.g.
	// "memory-to-memory (multi-planar)".
	Kind string `json:"kind"`
	// Capture and Output list the formats of the node's queues ("YU12",
	// "H264 (compressed)"). On a memory-to-memory device Output takes the
	// pictures in and Capture gives the result.
	Capture []string `json:"capture,omitempty"`
	Output  []string `json:"output,omitempty"`
	// Error says why the node could not be asked.
	Error string `json:"error,omitempty"`
}

// Report is what Probe found.
type Report struct {
	Nodes []Node `json:"nodes"`
	// H264Encoder is the hardware H.264 encoder roomd's codec selection
	// would use ("" if none) and H264Reason why there is none.
	H264Encoder string `json:"h264_encoder,omitempty"`
	H264Reason  string `json:"h264_reason,omitempty"`
}

// Probe asks every /dev/video* node under devDir ("" means /dev) what it
// is, and runs the codec selection's hardware H.264 probe.
func Probe(devDir string) Report {
	return probe(devDir, v4l2.Open, sysfsName)
}

func probe(devDir string, open func(string) (*v4l2.Device, error), name func(string) string) Report {
	var r Report
	for _, p := range v4l2.Devices(devDir) {
		r.Nodes = append(r.Nodes, describe(p, open, name))
	}
	hw := codec.ProbeHardwareH264(devDir)
	if hw.Device != "" {
		r.H264Encoder = hw.Device + " (" + hw.Card + ")"
	} else {
		r.H264Reason = hw.Reason
	}
	return r
}

func describe(path string, open func(string) (*v4l2.Device, error), name func(string) string) Node {
	n := Node{Path: path, Name: name(path)}
	dev, err := open(path)
	if err != nil {
		n.Role, n.Error = RoleOther, err.Error()
		return n
	}
	defer dev.Close()
	caps := dev.Capabilities()
	n.Driver, n.Card, n.Kind = caps.Driver, caps.Card, caps.Describe()
	nc := caps.NodeCaps()
	formats := func(q uint32) ([]string, bool) {
		fs, err := dev.Formats(q)
		if err != nil && n.Error == "" {
			n.Error = err.Error()
		}
		var out []string
		compressed := false
		for _, f := range fs {
			s := fourCCName(f.FourCC)
			if f.Compressed {
				s += " (compressed)"
				compressed = true
			}
			out = append(out, s)
		}
		return out, compressed
	}
	capQ, outQ := uint32(0), uint32(0)
	switch {
	case nc&v4l2.CapVideoM2MMPlane != 0:
		capQ, outQ = v4l2.BufVideoCaptureMPlane, v4l2.BufVideoOutputMPlane
	case nc&v4l2.CapVideoM2M != 0:
		capQ, outQ = v4l2.BufVideoCapture, v4l2.BufVideoOutput
	default:
		if nc&v4l2.CapVideoCapture != 0 {
			capQ = v4l2.BufVideoCapture
		} else if nc&v4l2.CapVideoCaptureMPlane != 0 {
			capQ = v4l2.BufVideoCaptureMPlane
		}
		if nc&v4l2.CapVideoOutput != 0 {
			outQ = v4l2.BufVideoOutput
		} else if nc&v4l2.CapVideoOutputMPlane != 0 {
			outQ = v4l2.BufVideoOutputMPlane
		}
	}
	var capCompressed, outCompressed bool
	if capQ != 0 {
		n.Capture, capCompressed = formats(capQ)
	}
	if outQ != 0 {
		n.Output, outCompressed = formats(outQ)
	}
	switch {
	case caps.IsM2M() && capCompressed && !outCompressed:
		n.Role = RoleEncoder
	case caps.IsM2M() && outCompressed && !capCompressed:
		n.Role = RoleDecoder
	case caps.IsM2M():
		n.Role = RoleConverter
	case caps.IsCamera():
		n.Role = RoleCamera
	case outQ != 0:
		n.Role = RoleOutput
	default:
		n.Role = RoleOther
	}
	return n
}

// fourCCName names a pixel format; big-endian variants (bit 31) get
// "-BE", as v4l2-ctl writes them.
func fourCCName(v uint32) string {
	if v&(1<<31) != 0 {
		return v4l2.FourCCString(v&^(1<<31)) + "-BE"
	}
	return v4l2.FourCCString(v)
}

// sysfsName reads a node's name from /sys/class/video4linux.
func sysfsName(path string) string {
	b, err := os.ReadFile(filepath.Join("/sys/class/video4linux", filepath.Base(path), "name"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// WriteText prints the report for a person, one node a line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if len(r.Nodes) == 0 {
		b.WriteString("no V4L2 devices\n")
	}
	for _, n := range r.Nodes {
		fmt.Fprintf(&b, "%s: %s", n.Path, n.Role)
		if n.Card != "" || n.Name != "" {
			fmt.Fprintf(&b, " — %s", n.Card)
			if n.Name != "" && n.Name != n.Card {
				fmt.Fprintf(&b, " %q", n.Name)
			}
			fmt.Fprintf(&b, " (driver %s; %s)", n.Driver, n.Kind)
		}
		b.WriteString("\n")
		in, out := "capture", "output"
		if strings.HasPrefix(n.Role, "memory-to-memory") {
			in, out = "takes", "gives"
			if len(n.Output) > 0 {
				fmt.Fprintf(&b, "    %s: %s\n", in, strings.Join(n.Output, ", "))
			}
			if len(n.Capture) > 0 {
				fmt.Fprintf(&b, "    %s: %s\n", out, strings.Join(n.Capture, ", "))
			}
		} else {
			if len(n.Capture) > 0 {
				fmt.Fprintf(&b, "    %s: %s\n", in, strings.Join(n.Capture, ", "))
			}
			if len(n.Output) > 0 {
				fmt.Fprintf(&b, "    %s: %s\n", out, strings.Join(n.Output, ", "))
			}
		}
		if n.Error != "" {
			fmt.Fprintf(&b, "    error: %s\n", n.Error)
		}
	}
	if r.H264Encoder != "" {
		fmt.Fprintf(&b, "hardware H.264 encoder: %s\n", r.H264Encoder)
	} else {
		fmt.Fprintf(&b, "hardware H.264 encoder: none: %s\n", r.H264Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteJSON prints the report as indented JSON.
func (r EncoderReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
