package sdp

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// H264Params are the H.264 fmtp parameters (RFC 6184 §8.1) the far end
// gave, with the level's limits filled in.
type H264Params struct {
	PacketizationMode int
	// ProfileLevelID is the 6 hex digits as given ("42e01f"), or the
	// RFC's default "42000a" when absent.
	ProfileLevelID        string
	LevelAsymmetryAllowed bool
	// MaxFS (macroblocks), MaxMBPS (macroblocks per second) and MaxBR
	// (kbit/s) are the parameters when given, else 0.
	MaxFS, MaxMBPS, MaxBR int
}

// h264Profile is profile_idc and profile-iop of a profile-level-id.
type h264Profile struct {
	idc, iop, levelIdc byte
}

// defaultProfileLevelID is RFC 6184 §8.1's default: Baseline, level 1.
const defaultProfileLevelID = "42000a"

// roomdProfileLevelID is what the encoder produces (media/codec NewH264):
// Constrained Baseline, level 3.1.
const roomdProfileLevelID = "42e01f"

func parseProfileLevelID(s string) (h264Profile, bool) {
	if len(s) != 6 {
		return h264Profile{}, false
	}
	var b [3]byte
	for i := range b {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return h264Profile{}, false
		}
		b[i] = byte(v)
	}
	return h264Profile{idc: b[0], iop: b[1], levelIdc: b[2]}, true
}

// constraint_set flags of profile-iop.
const (
	constraintSet0 = 0x80
	constraintSet1 = 0x40
	constraintSet3 = 0x10
)

// decodable reports whether roomd's decoder takes this profile and the
// far end decodes roomd's Constrained Baseline stream: Baseline (with or
// without constraints) and the Main/Extended profiles flagged as
// Constrained-Baseline-compatible (RFC 6184 table 5). High-profile-only
// formats are left to another payload type.
func (p h264Profile) decodable() bool {
	switch p.idc {
	case 0x42:
		return true
	case 0x4d:
		return p.iop&constraintSet1 != 0
	case 0x58:
		return p.iop&(constraintSet0|constraintSet1) == constraintSet0|constraintSet1
	}
	return false
}

// h264Level is one row of H.264 table A-1.
type h264Level struct {
	idc     byte // level_idc; 9 stands for level 1b
	name    string
	maxMBPS int
	maxFS   int
	maxBR   int // kbit/s, Baseline VCL
}

var h264Levels = []h264Level{
	{10, "1", 1485, 99, 64}, {9, "1b", 1485, 99, 128}, {11, "1.1", 3000, 396, 192},
	{12, "1.2", 6000, 396, 384}, {13, "1.3", 11880, 396, 768}, {20, "2", 11880, 396, 2000},
	{21, "2.1", 19800, 792, 4000}, {22, "2.2", 20250, 1620, 4000}, {30, "3", 40500, 1620, 10000},
	{31, "3.1", 108000, 3600, 14000}, {32, "3.2", 216000, 5120, 20000}, {40, "4", 245760, 8192, 20000},
	{41, "4.1", 245760, 8192, 50000}, {42, "4.2", 522240, 8704, 50000}, {50, "5", 589824, 22080, 135000},
	{51, "5.1", 983040, 36864, 240000}, {52, "5.2", 2073600, 36864, 240000},
}

// level returns the profile's level row; level 1b is level_idc 11 with
// constraint_set3 in the Baseline family. An unknown level_idc is taken
// as the largest level below it, or level 1.
func (p h264Profile) level() h264Level {
	idc := p.levelIdc
	if idc == 11 && p.iop&constraintSet3 != 0 && (p.idc == 0x42 || p.idc == 0x4d || p.idc == 0x58) {
		idc = 9
	}
	best := h264Levels[0]
	for _, l := range h264Levels {
		if l.idc == idc {
			return l
		}
		if l.idc != 9 && l.idc <= idc {
			best = l
		}
	}
	return best
}

// order ranks levels (1b between 1 and 1.1).
func (l h264Level) order() int {
	if l.idc == 9 {
		return 10*10 + 5
	}
	return int(l.idc) * 10
}

func parseH264(fmtp string) (*H264Params, h264Profile, bool) {
	m := fmtpParams(fmtp)
	p := &H264Params{
		ProfileLevelID:        strings.ToLower(m["profile-level-id"]),
		LevelAsymmetryAllowed: m["level-asymmetry-allowed"] == "1",
		MaxFS:                 intParam(m, "max-fs"),
		MaxMBPS:               intParam(m, "max-mbps"),
		MaxBR:                 intParam(m, "max-br"),
	}
	if p.ProfileLevelID == "" {
		p.ProfileLevelID = defaultProfileLevelID
	}
	if pm, ok := m["packetization-mode"]; ok {
		v, err := strconv.Atoi(pm)
		if err != nil {
			return nil, h264Profile{}, false
		}
		p.PacketizationMode = v
	}
	prof, ok := parseProfileLevelID(p.ProfileLevelID)
	return p, prof, ok
}

// macroblocks is a picture's size in 16x16 macroblocks.
func macroblocks(w, h int) int { return ((w + 15) / 16) * ((h + 15) / 16) }

// videoLimitsFmtp is roomd's max-fs and max-mbps for its limits.
func videoLimitsFmtp(v VideoLimits) string {
	fs := macroblocks(v.Width, v.Height)
	return fmt.Sprintf("max-fs=%d;max-mbps=%d", fs, fs*v.FPS)
}

// h264Fmtp is roomd's fmtp for an H.264 format: in an offer prof is
// roomd's own; in an answer the offer's profile with a level roomd can
// take.
func h264Fmtp(prof string, mode int, asym bool, v VideoLimits) string {
	s := "profile-level-id=" + prof + ";packetization-mode=" + strconv.Itoa(mode)
	if asym {
		s += ";level-asymmetry-allowed=1"
	}
	return s + ";" + videoLimitsFmtp(v)
}

// answerProfileLevelID keeps the offer's profile and answers with a level
// roomd decodes: roomd's own (3.1) when the offer allows asymmetry, else
// the lower of the two (RFC 6184 §8.2.2).
func answerProfileLevelID(offered h264Profile, asym bool) string {
	ours, _ := parseProfileLevelID(roomdProfileLevelID)
	level := ours.levelIdc
	if !asym && offered.level().order() < ours.level().order() {
		level = offered.levelIdc
	}
	iop := offered.iop
	if level != offered.levelIdc {
		iop &^= constraintSet3 // it would turn level 1.1 into 1b
	}
	return fmt.Sprintf("%02x%02x%02x", offered.idc, iop, level)
}

// h264SendLimit is what roomd may send to a far end that decodes prof
// with params: its level's limits, raised by max-fs/max-mbps/max-br,
// and without level asymmetry no higher than roomd's own level.
func h264SendLimit(prof h264Profile, p *H264Params, ours VideoLimits, theirAsym bool) VideoLimits {
	l := prof.level()
	if !theirAsym {
		own, _ := parseProfileLevelID(roomdProfileLevelID)
		if own.level().order() < l.order() {
			l = own.level()
		}
	}
	fs, mbps, br := l.maxFS, l.maxMBPS, l.maxBR
	fs = max(fs, p.MaxFS)
	mbps = max(mbps, p.MaxMBPS)
	if p.MaxBR > 0 {
		br = max(br, p.MaxBR)
	}
	out := fitPicture(ours, fs, mbps)
	out.MaxBitrate = minPositive(ours.MaxBitrate, br*1000)
	return out
}

// scales are the picture sizes tried, as fractions of roomd's own.
var scales = [][2]int{{1, 1}, {3, 4}, {2, 3}, {1, 2}, {3, 8}, {1, 3}, {1, 4}, {1, 6}, {1, 8}}

// minFitFPS is the lowest frame rate fitPicture keeps before it shrinks
// the picture: motion matters more than detail in a meeting.
const minFitFPS = 15

// fitPicture returns the largest picture of roomd's aspect ratio within
// maxFS macroblocks (and H.264's width and height bound of sqrt(8·MaxFS)
// macroblocks) whose frame rate within maxMBPS is at least 15 (or roomd's
// own, if lower).
func fitPicture(ours VideoLimits, maxFS, maxMBPS int) VideoLimits {
	side := int(math.Sqrt(float64(8 * maxFS)))
	var last VideoLimits
	for _, s := range scales {
		w, h := ours.Width*s[0]/s[1]&^1, ours.Height*s[0]/s[1]&^1
		if w < 2 || h < 2 {
			break
		}
		fs := macroblocks(w, h)
		fps := min(ours.FPS, maxMBPS/fs)
		last = VideoLimits{Width: w, Height: h, FPS: max(1, fps)}
		if fs <= maxFS && (w+15)/16 <= side && (h+15)/16 <= side && fps >= min(ours.FPS, minFitFPS) {
			return last
		}
	}
	return last
}

// minPositive is the smaller of the positive values (0 when neither is).
func minPositive(a, b int) int {
	switch {
	case a <= 0:
		return max(b, 0)
	case b <= 0:
		return a
	}
	return min(a, b)
}
