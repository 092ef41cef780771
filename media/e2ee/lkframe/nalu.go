package lkframe

import "errors"

// errNoSlice: an H.264/H.265 access unit without a slice NAL unit, or with
// bytes before its first start code. The SDK then treats the frame as VP8.
var errNoSlice = errors.New("lkframe: no slice NAL unit")

// naluStarts returns the offset of every NAL unit's first byte (after its
// start code) in an Annex B access unit. It fails when the unit does not
// begin with a start code.
func naluStarts(b []byte) ([]int, error) {
	var starts []int
	start, pos, limit := 0, 0, len(b)-3
	for pos < limit {
		for pos < limit {
			if pos < limit-1 && b[pos] == 0 && b[pos+1] == 0 && b[pos+2] == 0 && b[pos+3] == 1 {
				break
			}
			if b[pos] == 0 && b[pos+1] == 0 && b[pos+2] == 1 {
				break
			}
			pos++
		}
		if pos >= limit {
			pos = len(b)
		}
		end := pos
		for end > start && b[end-1] == 0 {
			end--
		}
		if start == 0 {
			if end != start {
				return nil, errNoSlice
			}
		} else {
			starts = append(starts, start)
		}
		codeLen := 3
		if pos < len(b)-3 && b[pos] == 0 && b[pos+1] == 0 && b[pos+2] == 0 && b[pos+3] == 1 {
			codeLen = 4
		}
		start = pos + codeLen
		pos = start
	}
	return starts, nil
}

func isH264Slice(first byte) bool {
	t := first & 0x1f
	return t == 1 || t == 5 // non-IDR and IDR slices
}

func isH265Slice(first byte) bool {
	t := (first >> 1) & 0x3f
	return t <= 9 || (t >= 16 && t <= 21) // VCL types the SDK counts as slices
}

// naluClearBytes is how many bytes of an H.264 (or H.265) access unit stay
// clear: everything up to and including the first two bytes of the first
// slice NAL unit, so the slice header's start is readable. The bytes decide
// the codec (H.264 slices win); the signalled codec breaks a tie.
func naluClearBytes(b []byte) (int, error) {
	starts, err := naluStarts(b)
	if err != nil {
		return 0, err
	}
	i := firstSlice(b, starts, isH264Slice)
	if i < 0 {
		i = firstSlice(b, starts, isH265Slice)
	}
	if i < 0 {
		return 0, errNoSlice
	}
	return i + 2, nil
}

func firstSlice(b []byte, starts []int, slice func(byte) bool) int {
	for _, i := range starts {
		if slice(b[i]) {
			return i
		}
	}
	return -1
}

// normaliseStartCodes rewrites every 3-byte start code to the 4-byte form:
// the receiving depacketiser rebuilds NAL units with 4-byte codes, and the
// clear header is authenticated, so the sender sends what will arrive.
func normaliseStartCodes(b []byte) []byte {
	var short []int
	for i := 0; i+2 < len(b); {
		if b[i+2] == 0 {
			i++
			continue
		}
		if b[i+2] == 1 && b[i] == 0 && b[i+1] == 0 && (i == 0 || b[i-1] != 0) {
			short = append(short, i)
		}
		i += 3
	}
	if len(short) == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+len(short))
	from := 0
	for _, at := range short {
		out = append(out, b[from:at]...)
		out = append(out, 0)
		from = at
	}
	return append(out, b[from:]...)
}

// needsUnescape reports whether b holds an emulation-prevention sequence
// (00 00 03), looking where the SDK looks (not at the last three bytes).
func needsUnescape(b []byte) bool {
	for i := 0; i < len(b)-3; i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 3 {
			return true
		}
	}
	return false
}

// unescape removes emulation-prevention bytes: 00 00 03 becomes 00 00.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if len(b)-i >= 3 && b[i] == 0 && b[i+1] == 0 && b[i+2] == 3 {
			out = append(out, 0, 0)
			i += 3
			continue
		}
		out = append(out, b[i])
		i++
	}
	return out
}

// escape appends b to dst with an emulation-prevention byte (03) before any
// byte 00-03 that follows two zeros, so no start code appears inside.
func escape(dst, b []byte) []byte {
	zeros := 0
	for _, c := range b {
		if c <= 3 && zeros >= 2 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}
