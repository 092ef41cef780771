package passthrough

import "github.com/roomd/roomd/media/codec"

// H.264 NAL unit types that matter for finding access units (ITU-T H.264
// 7.4.1.2.3).
const (
	nalSlice = 1
	nalIDR   = 5
	nalSEI   = 6
	nalSPS   = 7
	nalPPS   = 8
	nalAUD   = 9
)

// SplitAccessUnits cuts an Annex B byte stream (a .h264 file, what
// `ffmpeg -f h264` writes) into access units, each a sub-slice of stream
// with its start codes, so that what is sent is byte for byte what the
// camera made. An access unit ends before an access unit delimiter, SEI,
// SPS or PPS, or before the first slice of the next picture
// (first_mb_in_slice 0), once it holds a picture's slice (H.264 7.4.1.2.3).
// Bytes after the last picture's slices with no slice of their own are
// dropped.
func SplitAccessUnits(stream []byte) [][]byte {
	var out [][]byte
	start, hasSlice := -1, false
	codec.ForEachH264NAL(stream, func(nal []byte) {
		off := cap(stream) - cap(nal) // nal is a sub-slice of stream
		sc := off - 3
		if sc > 0 && stream[sc-1] == 0 {
			sc-- // a 4-byte start code
		}
		if start < 0 {
			start = sc
		}
		t := nal[0] & 0x1f
		slice := t == nalSlice || t == nalIDR
		if hasSlice {
			// first_mb_in_slice is ue(v): 0 is the single bit 1.
			firstSlice := slice && len(nal) > 1 && nal[1]&0x80 != 0
			if firstSlice || t == nalAUD || t == nalSEI || t == nalSPS || t == nalPPS || (t >= 14 && t <= 18) {
				out = append(out, stream[start:sc])
				start, hasSlice = sc, false
			}
		}
		hasSlice = hasSlice || slice
	})
	if hasSlice {
		out = append(out, stream[start:])
	}
	return out
}

// IsKeyFrame reports whether an access unit holds an IDR picture.
func IsKeyFrame(au []byte) bool {
	key := false
	codec.ForEachH264NAL(au, func(nal []byte) { key = key || nal[0]&0x1f == nalIDR })
	return key
}
