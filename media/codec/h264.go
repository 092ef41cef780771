package codec

import (
	"runtime"

	mdcodec "github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// NewH264 returns the OpenH264 software encoder (Constrained Baseline,
// Annex B output, profile-level-id 42e01f as mediadevices advertises).
func NewH264(cfg VideoConfig) (VideoEncoder, error) {
	var ps paramSets
	return newMDVideo("openh264", cfg, buildOpenH264, ps.post)
}

func buildOpenH264(r video.Reader, p prop.Media, cfg VideoConfig) (mdcodec.ReadCloser, error) {
	params, err := openh264.NewParams()
	if err != nil {
		return nil, err
	}
	params.BitRate = cfg.BitRate
	params.IntraPeriod = uint(cfg.keyFrameEvery())
	params.UsageType = openh264.CameraVideoRealTime
	params.RCMode = openh264.RCBitrateMode
	// Frame skipping is how OpenH264 holds a bitrate the picture content
	// exceeds; Encode reports a skipped frame as an empty one.
	params.EnableFrameSkip = true
	// As libwebrtc sets OpenH264 up for packetization-mode 1: one slice
	// per picture (the RTP packetizer fragments it) rather than
	// mediadevices' size-limited slicing, and its thread count for the
	// picture size and cores instead of OpenH264's "auto" (one thread per
	// core, whose hand-offs cost more than they save below 1080p).
	params.SliceMode = openh264.SMFixedslcnumSlice
	params.SliceNum = 1
	params.SliceSizeConstraint = 0
	params.MultipleThreadIdc = h264Threads(cfg.Width, cfg.Height, runtime.NumCPU())
	return params.BuildVideoEncoder(r, p)
}

// h264Threads is libwebrtc's OpenH264 thread count for a picture size on
// a machine with cores cores.
func h264Threads(w, h, cores int) int {
	switch {
	case w*h >= 1920*1080 && cores > 8:
		return 8
	case w*h > 1280*960 && cores >= 6:
		return 3
	case w*h > 640*480 && cores >= 3:
		return 2
	default:
		return 1
	}
}

// H.264 NAL unit types roomd looks at.
const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
)

// paramSets remembers the last SPS and PPS so every key frame can carry
// them: a receiver that joins late, or lost the first key frame, can start
// at any key frame.
type paramSets struct {
	sps, pps []byte
}

// post finds whether an access unit is a key frame and prepends the
// parameter sets to a key frame that lacks them.
func (ps *paramSets) post(au []byte) ([]byte, bool) {
	var idr, hasSPS, hasPPS bool
	forEachNAL(au, func(nal []byte) {
		switch nal[0] & 0x1f {
		case nalIDR:
			idr = true
		case nalSPS:
			hasSPS = true
			ps.sps = append(ps.sps[:0], nal...)
		case nalPPS:
			hasPPS = true
			ps.pps = append(ps.pps[:0], nal...)
		}
	})
	if !idr || (hasSPS && hasPPS) || ps.sps == nil || ps.pps == nil {
		return au, idr
	}
	startCode := []byte{0, 0, 0, 1}
	out := make([]byte, 0, len(au)+len(ps.sps)+len(ps.pps)+8)
	if !hasSPS {
		out = append(append(out, startCode...), ps.sps...)
	}
	if !hasPPS {
		out = append(append(out, startCode...), ps.pps...)
	}
	return append(out, au...), true
}

// forEachNAL calls fn with each NAL unit (without start code) of an Annex B
// byte stream.
func forEachNAL(b []byte, fn func(nal []byte)) {
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 { // trailing zero of a 4-byte start code
					end--
				}
				if end > start {
					fn(b[start:end])
				}
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		fn(b[start:])
	}
}

// H264NALTypes lists the NAL unit types of an Annex B access unit, for
// tests and diagnostics.
func H264NALTypes(au []byte) []int {
	var t []int
	forEachNAL(au, func(nal []byte) { t = append(t, int(nal[0]&0x1f)) })
	return t
}
