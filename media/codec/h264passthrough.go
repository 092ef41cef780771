package codec

// What a sender of H.264 it did not encode (a camera's own stream, passed
// through) needs of the encoders' NAL handling.

// ForEachH264NAL calls fn with each NAL unit (without start code) of an
// Annex B byte stream.
func ForEachH264NAL(b []byte, fn func(nal []byte)) { forEachNAL(b, fn) }

// H264ParamSets remembers a stream's last SPS and PPS, as the encoders do,
// so that every key frame can carry them: a receiver that joins late, or
// lost the first key frame, can start at any key frame.
type H264ParamSets struct{ ps paramSets }

// KeyFrame reports whether au (an Annex B access unit) is a key frame (has
// an IDR slice) and returns it with the last SPS and PPS prepended when it
// is one that lacks them; any other access unit is returned as it is.
func (p *H264ParamSets) KeyFrame(au []byte) ([]byte, bool) { return p.ps.post(au) }
