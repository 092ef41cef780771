package codec

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

// H264LargestNAL is the size of the largest NAL unit of an Annex B access
// unit, without its start code.
func H264LargestNAL(au []byte) int {
	largest := 0
	forEachNAL(au, func(nal []byte) { largest = max(largest, len(nal)) })
	return largest
}

// H264NALTypes lists the NAL unit types of an Annex B access unit, for
// tests and diagnostics.
func H264NALTypes(au []byte) []int {
	var t []int
	forEachNAL(au, func(nal []byte) { t = append(t, int(nal[0]&0x1f)) })
	return t
}
