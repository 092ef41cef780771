package sdp

import (
	"fmt"
	"strconv"
	"strings"
)

// Codec is one negotiated payload format.
type Codec struct {
	// PT is the payload type roomd sends with (the number in the far
	// end's description); ReceivePT the one the far end sends with
	// (roomd's number). They differ only when an answerer renumbered.
	PT, ReceivePT uint8
	Name          string // as the constants: H264, VP8, opus, G722, PCMU, PCMA, telephone-event
	ClockRate     int    // RTP clock (8000 for G.722, RFC 3551's quirk)
	Channels      int    // audio channels in a=rtpmap (opus: 2); 0 for video
	// Fmtp is the far end's a=fmtp for this format, as written.
	Fmtp string
	// H264 is set for H.264, Opus for Opus: the far end's parameters.
	H264 *H264Params
	Opus *OpusParams
}

// Is reports whether the codec is name (case-insensitive).
func (c Codec) Is(name string) bool { return strings.EqualFold(c.Name, name) }

// String is "H264/90000 pt 96 packetization-mode 1".
func (c Codec) String() string {
	s := fmt.Sprintf("%s/%d pt %d", c.Name, c.ClockRate, c.PT)
	if c.H264 != nil {
		s += fmt.Sprintf(" packetization-mode %d", c.H264.PacketizationMode)
	}
	return s
}

// codecInfo is a codec roomd can negotiate.
type codecInfo struct {
	name     string
	clock    int
	channels int
	// pt is the payload type roomd offers: RFC 3551's static one, or a
	// dynamic one.
	pt uint8
}

// roomd's audio codecs, with the payload types it offers.
var audioCodecs = [...]codecInfo{
	{name: Opus, clock: 48000, channels: 2, pt: 111},
	{name: G722, clock: 8000, channels: 1, pt: 9},
	{name: PCMU, clock: 8000, channels: 1, pt: 0},
	{name: PCMA, clock: 8000, channels: 1, pt: 8},
}

// Dynamic payload types roomd offers for telephone-events and video.
const (
	ptEvents8k  = 101
	ptEvents48k = 110
	ptH264Mode1 = 96
	ptH264Mode0 = 97
	ptVP8       = 98
)

// staticFormats are RFC 3551's static payload types a far end may use
// without a=rtpmap (only the ones worth naming in a refusal).
var staticFormats = map[uint8]rtpmap{
	0: {PCMU, 8000, 1}, 3: {"GSM", 8000, 1}, 4: {"G723", 8000, 1}, 8: {PCMA, 8000, 1},
	9: {G722, 8000, 1}, 18: {"G729", 8000, 1}, 26: {"JPEG", 90000, 0},
	31: {"H261", 90000, 0}, 34: {"H263", 90000, 0},
}

func audioCodecByName(name string) (codecInfo, bool) {
	for _, c := range audioCodecs {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	return codecInfo{}, false
}

// rtpmap is a parsed a=rtpmap value.
type rtpmap struct {
	name     string
	clock    int
	channels int
}

// parseRtpmap reads "96 H264/90000" or "111 opus/48000/2".
func parseRtpmap(v string) (uint8, rtpmap, bool) {
	ptStr, enc, ok := strings.Cut(v, " ")
	pt, err := strconv.ParseUint(ptStr, 10, 7)
	if !ok || err != nil {
		return 0, rtpmap{}, false
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, rtpmap{}, false
	}
	clock, err := strconv.Atoi(parts[1])
	if err != nil || clock <= 0 {
		return 0, rtpmap{}, false
	}
	m := rtpmap{name: parts[0], clock: clock}
	if len(parts) == 3 {
		if m.channels, err = strconv.Atoi(parts[2]); err != nil || m.channels <= 0 || m.channels > 8 {
			return 0, rtpmap{}, false
		}
	}
	return uint8(pt), m, true
}

// fmtpParams splits "a=1;b=2" into a map (keys lower-cased); a value
// without '=' (telephone-event's "0-16") is stored under "".
func fmtpParams(s string) map[string]string {
	m := map[string]string{}
	for p := range strings.SplitSeq(s, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			m[""] = p
			continue
		}
		m[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return m
}

// intParam reads a non-negative integer parameter; absent or bad is 0.
func intParam(m map[string]string, k string) int {
	v, err := strconv.Atoi(m[k])
	if err != nil || v < 0 || v > 1<<30 {
		return 0
	}
	return v
}

// OpusParams are the Opus fmtp parameters (RFC 7587) the far end gave.
type OpusParams struct {
	MaxPlaybackRate   int // Hz; 0 means 48000
	MaxAverageBitrate int // bit/s; 0 means no limit
	Stereo            bool
	UseInbandFEC      bool
	UseDTX            bool
	PTime             int // a=ptime / minptime in ms, 0 unknown
}

func parseOpus(fmtp string) *OpusParams {
	m := fmtpParams(fmtp)
	return &OpusParams{
		MaxPlaybackRate:   intParam(m, "maxplaybackrate"),
		MaxAverageBitrate: intParam(m, "maxaveragebitrate"),
		Stereo:            m["stereo"] == "1",
		UseInbandFEC:      m["useinbandfec"] == "1",
		UseDTX:            m["usedtx"] == "1",
		PTime:             intParam(m, "minptime"),
	}
}

// opusFmtp is what roomd receives: mono from the room's microphones is
// what it sends, but it decodes stereo.
const opusFmtp = "maxplaybackrate=48000;sprop-stereo=0;stereo=0;useinbandfec=1"

// eventsFmtp is the RFC 4733 event range roomd sends and understands:
// DTMF digits 0-9, *, #, A-D and flash.
const eventsFmtp = "0-16"
