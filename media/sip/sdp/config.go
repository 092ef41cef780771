package sdp

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Policy is the SIP account's encryption policy.
type Policy int

// Policies; the zero value is the default, Required (fail closed).
const (
	// EncryptionRequired offers only SRTP (RTP/SAVP(F) with SDES keys, or
	// DTLS-SRTP) and refuses a far end that can only do plain RTP.
	EncryptionRequired Policy = iota
	// EncryptionPreferred offers RTP/AVP with SDES keys (best-effort
	// SRTP, as room systems do it) and falls back to plain RTP when the
	// far end ignores the keys.
	EncryptionPreferred
	// EncryptionOff offers plain RTP. An offer that requires SRTP is
	// still answered with SRTP: refusing it would help no one.
	EncryptionOff
)

var policyNames = [...]string{EncryptionRequired: "required", EncryptionPreferred: "preferred", EncryptionOff: "off"}

// String returns the policy as the configuration spells it.
func (p Policy) String() string {
	if p < 0 || int(p) >= len(policyNames) {
		return "Policy(" + strconv.Itoa(int(p)) + ")"
	}
	return policyNames[p]
}

// ParsePolicy reads a policy from configuration; "" is required.
func ParsePolicy(s string) (Policy, error) {
	if s == "" {
		return EncryptionRequired, nil
	}
	for p, n := range policyNames {
		if strings.EqualFold(s, n) {
			return Policy(p), nil
		}
	}
	return EncryptionRequired, fmt.Errorf("sdp: encryption policy %q: use required, preferred or off", s)
}

// Keying is how roomd offers SRTP keys.
type Keying int

// String is "SDES" or "DTLS".
func (k Keying) String() string {
	switch k {
	case KeyingSDES:
		return "SDES"
	case KeyingDTLS:
		return "DTLS"
	}
	return "Keying(" + strconv.Itoa(int(k)) + ")"
}

// Keyings.
const (
	// KeyingSDES puts keys in a=crypto (RFC 4568): what SIP room systems,
	// gateways and baresip's srtp module do.
	KeyingSDES Keying = iota
	// KeyingDTLS offers UDP/TLS/RTP/SAVPF with a=fingerprint (RFC 5763);
	// Config.DTLS must be set.
	KeyingDTLS
)

// Direction is a stream's media direction from one side's point of view.
type Direction int

// Directions; the zero value is SendRecv.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

var directionNames = [...]string{SendRecv: "sendrecv", SendOnly: "sendonly", RecvOnly: "recvonly", Inactive: "inactive"}

// String returns the SDP attribute name.
func (d Direction) String() string {
	if d < 0 || int(d) >= len(directionNames) {
		return "Direction(" + strconv.Itoa(int(d)) + ")"
	}
	return directionNames[d]
}

// Sends reports whether the side sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the side receives media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// direction builds a Direction from what a side does.
func direction(sends, receives bool) Direction {
	switch {
	case sends && receives:
		return SendRecv
	case sends:
		return SendOnly
	case receives:
		return RecvOnly
	}
	return Inactive
}

// reverse is the far end's direction seen from this side.
func (d Direction) reverse() Direction { return direction(d.Receives(), d.Sends()) }

// and is what both directions allow.
func (d Direction) and(o Direction) Direction {
	return direction(d.Sends() && o.Sends(), d.Receives() && o.Receives())
}

// VideoLimits is the largest picture and frame rate roomd encodes and
// decodes, and a bitrate ceiling.
type VideoLimits struct {
	Width, Height int
	FPS           int
	// MaxBitrate in bits per second; 0 means no ceiling of roomd's own.
	MaxBitrate int
}

func (v VideoLimits) withDefaults() VideoLimits {
	if v.Width <= 0 || v.Height <= 0 {
		v.Width, v.Height = 1280, 720
	}
	if v.FPS <= 0 {
		v.FPS = 30
	}
	return v
}

// String is "1280x720@30" (and "≤2000 kbit/s" with a bitrate).
func (v VideoLimits) String() string {
	s := fmt.Sprintf("%dx%d@%d", v.Width, v.Height, v.FPS)
	if v.MaxBitrate > 0 {
		s += fmt.Sprintf(" ≤%d kbit/s", v.MaxBitrate/1000)
	}
	return s
}

// Fingerprint is a DTLS certificate fingerprint (a=fingerprint).
type Fingerprint struct {
	Algorithm string // "sha-256"
	Value     string // colon-separated upper-case hex
}

// String is the attribute value.
func (f Fingerprint) String() string { return f.Algorithm + " " + f.Value }

// DTLS is roomd's DTLS certificate, by its fingerprints; the handshake
// itself belongs to the media layer.
type DTLS struct {
	Fingerprints []Fingerprint
}

// ICE is one side's ICE description (RFC 8839): credentials and
// candidates, carried through for the media layer.
type ICE struct {
	Ufrag string
	// Pwd is the ICE password; String does not show it.
	Pwd        string
	Candidates []string // a=candidate values
	Lite       bool
	Options    string // a=ice-options
}

// String shows the ufrag and the number of candidates, never the password.
func (i ICE) String() string {
	lite := ""
	if i.Lite {
		lite = " lite"
	}
	return fmt.Sprintf("ufrag %s%s, %d candidates", i.Ufrag, lite, len(i.Candidates))
}

// GoString hides the password, like String.
func (i ICE) GoString() string { return "sdp.ICE{" + i.String() + "}" }

// Codec names as SDP's a=rtpmap spells them.
const (
	H264           = "H264"
	VP8            = "VP8"
	Opus           = "opus"
	G722           = "G722"
	PCMU           = "PCMU"
	PCMA           = "PCMA"
	TelephoneEvent = "telephone-event"
)

// Config is what roomd can do on one call.
type Config struct {
	// Address is the local media address (c= and o=). Required.
	Address netip.Addr
	// AudioPort is the local RTP port for audio (RTCP on the next port
	// unless rtcp-mux is taken). Required.
	AudioPort int
	// VideoPort is the local RTP port for video; 0 offers no video and
	// refuses offered video.
	VideoPort int
	// Encryption is the policy; the zero value is EncryptionRequired.
	Encryption Policy
	// Keying is how roomd offers keys; DTLS needs DTLS.
	Keying Keying
	// DTLS is roomd's certificate; nil means roomd cannot do DTLS-SRTP
	// (it then offers SDES and refuses DTLS-only offers).
	DTLS *DTLS
	// ICE, when set, goes into offers, and into answers to far ends that
	// offer ICE.
	ICE *ICE
	// AudioCodecs and VideoCodecs are the codecs roomd can encode and
	// decode, in order of preference (Opus, G722, PCMU, PCMA; H264,
	// VP8); nil means DefaultAudioCodecs and DefaultVideoCodecs.
	AudioCodecs, VideoCodecs []string
	// Video is the largest picture roomd encodes and decodes; zero means
	// 1280x720@30.
	Video VideoLimits
	// AVPF offers RTP/AVPF (RTP/SAVPF) instead of RTP/AVP (RTP/SAVP). The
	// rtcp-fb attributes are offered either way.
	AVPF bool
	// UserName is o='s user name; "" means "roomd".
	UserName string
	// Rand is the source of keys and session IDs; nil means crypto/rand.
	Rand io.Reader
}

// DefaultAudioCodecs is roomd's audio preference among the codecs its
// media layer has today. G722 negotiates like the others but is left out
// until roomd has a G.722 encoder and decoder: list it in
// Config.AudioCodecs then (docs/sip-media.md).
func DefaultAudioCodecs() []string { return []string{Opus, PCMU, PCMA} }

// DefaultVideoCodecs is roomd's video preference.
func DefaultVideoCodecs() []string { return []string{H264, VP8} }

// check validates cfg and fills in defaults.
func (cfg Config) check() (Config, error) {
	if !cfg.Address.IsValid() || cfg.Address.IsUnspecified() {
		return cfg, fmt.Errorf("sdp: no local media address; give the address the far end can reach")
	}
	if cfg.AudioPort <= 0 || cfg.AudioPort > 65534 || (cfg.VideoPort != 0 && (cfg.VideoPort < 0 || cfg.VideoPort > 65534)) {
		return cfg, fmt.Errorf("sdp: media ports %d and %d: use ports 1..65534 (RTCP takes the next one)", cfg.AudioPort, cfg.VideoPort)
	}
	if cfg.Encryption < EncryptionRequired || cfg.Encryption > EncryptionOff {
		return cfg, fmt.Errorf("sdp: unknown encryption policy %v", cfg.Encryption)
	}
	if cfg.Keying == KeyingDTLS && (cfg.DTLS == nil || len(cfg.DTLS.Fingerprints) == 0) {
		return cfg, fmt.Errorf("sdp: DTLS keying needs the certificate's fingerprint in Config.DTLS")
	}
	if cfg.AudioCodecs == nil {
		cfg.AudioCodecs = DefaultAudioCodecs()
	}
	if cfg.VideoCodecs == nil {
		cfg.VideoCodecs = DefaultVideoCodecs()
	}
	var audio, video []string // canonical names, each once
	for _, c := range cfg.AudioCodecs {
		info, ok := audioCodecByName(c)
		if !ok {
			return cfg, fmt.Errorf("sdp: audio codec %q: roomd negotiates opus, G722, PCMU and PCMA", c)
		}
		if !slices.Contains(audio, info.name) {
			audio = append(audio, info.name)
		}
	}
	for _, c := range cfg.VideoCodecs {
		name := strings.ToUpper(c)
		if name != H264 && name != VP8 {
			return cfg, fmt.Errorf("sdp: video codec %q: roomd negotiates %s", c, strings.Join(DefaultVideoCodecs(), ", "))
		}
		if !slices.Contains(video, name) {
			video = append(video, name)
		}
	}
	cfg.AudioCodecs, cfg.VideoCodecs = audio, video
	if len(cfg.AudioCodecs) == 0 {
		return cfg, fmt.Errorf("sdp: no audio codec; leave AudioCodecs nil for the defaults")
	}
	cfg.Video = cfg.Video.withDefaults()
	if cfg.UserName == "" {
		cfg.UserName = "roomd"
	}
	return cfg, nil
}
