// Package srtpkey holds the SDES keys (RFC 4568) of an SRTP call: it
// generates master keys, reads and writes the key part of an a=crypto
// attribute, and builds pion/srtp contexts for both directions.
//
// # Secrets
//
// A [Key] never shows its bytes: String, Format (every fmt verb), GoString
// and slog's LogValue print "[redacted]", and the bytes sit inside a
// closure, so even a struct holding a Key in an unexported field prints a
// func address rather than the key. Only [Key.Inline] (for the SDP body,
// which is itself secret: see media/sip/sdp's Redact), [Key.Material] and
// [NewContexts] reveal them.
//
// # Suites
//
// AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (RFC 4568 §6.2), the
// two every SIP endpoint offers. The _32 suite shortens only the SRTP
// tag; SRTCP keeps the 80-bit tag (RFC 4568 §6.2.2), as pion/srtp does.
package srtpkey

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// Suite is an SDES crypto suite.
type Suite int

// The suites roomd speaks, strongest tag first.
const (
	// SuiteNone is no suite (the zero value).
	SuiteNone Suite = iota
	// AESCM128HMACSHA180 is AES_CM_128_HMAC_SHA1_80.
	AESCM128HMACSHA180
	// AESCM128HMACSHA132 is AES_CM_128_HMAC_SHA1_32.
	AESCM128HMACSHA132
)

// Suites lists the suites in the order roomd offers them.
func Suites() []Suite { return []Suite{AESCM128HMACSHA180, AESCM128HMACSHA132} }

var suiteNames = [...]string{SuiteNone: "none", AESCM128HMACSHA180: "AES_CM_128_HMAC_SHA1_80", AESCM128HMACSHA132: "AES_CM_128_HMAC_SHA1_32"}

// String returns the suite's RFC 4568 name.
func (s Suite) String() string {
	if s < 0 || int(s) >= len(suiteNames) {
		return "Suite(" + strconv.Itoa(int(s)) + ")"
	}
	return suiteNames[s]
}

// ParseSuite returns the suite named name (as written in a=crypto), or an
// error wrapping ErrUnknownSuite.
func ParseSuite(name string) (Suite, error) {
	for s, n := range suiteNames {
		if s != int(SuiteNone) && n == name {
			return Suite(s), nil
		}
	}
	return SuiteNone, fmt.Errorf("srtpkey: %q: %w", name, ErrUnknownSuite)
}

// Profile returns the pion/srtp protection profile of the suite.
func (s Suite) Profile() (srtp.ProtectionProfile, error) {
	switch s {
	case AESCM128HMACSHA180:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case AESCM128HMACSHA132:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	}
	return 0, fmt.Errorf("srtpkey: %v: %w", s, ErrUnknownSuite)
}

// Both suites use a 128-bit master key and a 112-bit master salt.
const (
	keyLen  = 16
	saltLen = 14
	// inlineLen is the length of key||salt in an inline: parameter.
	inlineLen = keyLen + saltLen
)

// Errors callers branch on.
var (
	// ErrUnknownSuite: a crypto suite roomd does not speak.
	ErrUnknownSuite = errors.New("srtpkey: unknown crypto suite; roomd speaks AES_CM_128_HMAC_SHA1_80 and _32")
	// ErrBadKey: a key parameter that cannot be used.
	ErrBadKey = errors.New("srtpkey: unusable SDES key parameter")
)

// Key is an SRTP master key and salt, with the optional MKI the far end
// tags its packets with. The zero Key is no key. Keys are values: copy
// them freely; they never print their bytes.
type Key struct {
	// open returns the bytes; a closure, because fmt and reflection can
	// print anything a struct field points to, but not what a func holds.
	open func() *secret
}

// secret is a key's bytes.
type secret struct {
	keySalt [inlineLen]byte
	// mki is the master key identifier the sender puts in each packet
	// (RFC 3711 §3.1), or nil.
	mki []byte
}

const redacted = "[redacted]"

// Generate returns a fresh key read from r; a nil r means crypto/rand.
func Generate(r io.Reader) (Key, error) {
	if r == nil {
		r = rand.Reader
	}
	s := &secret{}
	if _, err := io.ReadFull(r, s.keySalt[:]); err != nil {
		return Key{}, fmt.Errorf("srtpkey: reading random key: %w", err)
	}
	return sealed(s), nil
}

// sealed wraps s into a Key.
func sealed(s *secret) Key { return Key{open: func() *secret { return s }} }

// sec returns the key's bytes, or nil for the zero Key.
func (k Key) sec() *secret {
	if k.open == nil {
		return nil
	}
	return k.open()
}

// IsZero reports whether k is no key.
func (k Key) IsZero() bool { return k.open == nil }

// HasMKI reports whether the key's packets carry a master key identifier.
func (k Key) HasMKI() bool { return k.open != nil && len(k.sec().mki) > 0 }

// Equal reports whether two keys are the same key (for tests and for
// telling a re-key from a repeated offer).
func (k Key) Equal(o Key) bool {
	a, b := k.sec(), o.sec()
	if a == nil || b == nil {
		return a == b
	}
	return a.keySalt == b.keySalt && string(a.mki) == string(b.mki)
}

// String returns "[redacted]" (or "none" for the zero Key).
func (k Key) String() string {
	if k.open == nil {
		return "none"
	}
	return redacted
}

// GoString redacts, like String.
func (k Key) GoString() string { return "srtpkey.Key(" + k.String() + ")" }

// Format redacts under every verb.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue redacts in slog output.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Inline returns the key as an RFC 4568 key parameter:
// "inline:<base64 key||salt>", without lifetime or MKI (roomd sends
// neither). The result is secret: it goes into the SDP body only.
func (k Key) Inline() string {
	s := k.sec()
	if s == nil {
		return ""
	}
	return "inline:" + base64.StdEncoding.EncodeToString(s.keySalt[:])
}

// Material returns a copy of the master key followed by the master salt
// (30 bytes), for a media layer that builds its own SRTP contexts (with
// the suite's Profile). It is secret: never log it, and clear it when
// done. A far end's MKI is not in it: use NewContexts for such keys.
func (k Key) Material() []byte {
	s := k.sec()
	if s == nil {
		return nil
	}
	return append([]byte(nil), s.keySalt[:]...)
}

// maxMKILen bounds the MKI length (RFC 4568 allows 1..128 bytes; pion and
// every endpoint seen use at most 4).
const maxMKILen = 4

// ParseKeyParams reads the key-params of an a=crypto line
// ("inline:KEY[|lifetime][|MKI:length]", possibly several joined by ';').
// roomd uses the first; a lifetime is tolerated and ignored (roomd never
// sends 2^31 packets on one key), an MKI is kept so the receiving context
// can match it. The error wraps ErrBadKey and never contains key bytes.
func ParseKeyParams(params string) (Key, error) {
	first, _, _ := strings.Cut(params, ";")
	method, rest, ok := strings.Cut(first, ":")
	if !ok || method != "inline" {
		return Key{}, fmt.Errorf("srtpkey: key method %q is not inline: %w", method, ErrBadKey)
	}
	parts := strings.Split(rest, "|")
	if len(parts) > 3 {
		return Key{}, fmt.Errorf("srtpkey: too many '|' fields in the key parameter: %w", ErrBadKey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some endpoints drop the '=' padding.
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	}
	if err != nil || len(raw) != inlineLen {
		return Key{}, fmt.Errorf("srtpkey: the inline key is not %d bytes of base64: %w", inlineLen, ErrBadKey)
	}
	s := &secret{}
	copy(s.keySalt[:], raw)
	clear(raw)
	for _, p := range parts[1:] {
		if v, l, isMKI := strings.Cut(p, ":"); isMKI {
			if s.mki, err = parseMKI(v, l); err != nil {
				return Key{}, err
			}
		} else if err := checkLifetime(p); err != nil {
			return Key{}, err
		}
	}
	return sealed(s), nil
}

// checkLifetime accepts "2^n" or a decimal count, and ignores its value.
func checkLifetime(p string) error {
	if n, ok := strings.CutPrefix(p, "2^"); ok {
		if e, err := strconv.Atoi(n); err == nil && e >= 0 && e <= 64 {
			return nil
		}
	} else if _, err := strconv.ParseUint(p, 10, 64); err == nil {
		return nil
	}
	return fmt.Errorf("srtpkey: key lifetime %q is neither 2^n nor a number: %w", p, ErrBadKey)
}

// parseMKI turns "value:length" into the big-endian identifier bytes.
func parseMKI(value, length string) ([]byte, error) {
	v, err1 := strconv.ParseUint(value, 10, 32)
	l, err2 := strconv.Atoi(length)
	if err1 != nil || err2 != nil || l < 1 || l > maxMKILen || (l < 4 && v >= 1<<(8*l)) {
		return nil, fmt.Errorf("srtpkey: MKI %q:%q is not value:length with length 1..%d: %w", value, length, maxMKILen, ErrBadKey)
	}
	mki := make([]byte, l)
	for i := l - 1; i >= 0; i-- {
		mki[i] = byte(v)
		v >>= 8
	}
	return mki, nil
}

// replayWindow is the SRTP/SRTCP replay window, libsrtp's default.
const replayWindow = 128

// NewContexts returns the pion/srtp contexts of one SDES stream: encrypt
// protects what roomd sends with its own key local, decrypt checks and
// opens what the far end sends with its key remote (each side encrypts
// with the key it announced, RFC 4568 §6.1). decrypt has replay
// protection; a remote MKI is honoured. Each context is for one direction
// and one goroutine at a time (pion/srtp's rule).
func NewContexts(suite Suite, local, remote Key) (encrypt, decrypt *srtp.Context, err error) {
	profile, err := suite.Profile()
	if err != nil {
		return nil, nil, err
	}
	if local.IsZero() || remote.IsZero() {
		return nil, nil, fmt.Errorf("srtpkey: both keys are needed to build SRTP contexts: %w", ErrBadKey)
	}
	if local.HasMKI() {
		return nil, nil, fmt.Errorf("srtpkey: roomd sends without MKI: %w", ErrBadKey)
	}
	l, r := local.sec(), remote.sec()
	encrypt, err = srtp.CreateContext(l.keySalt[:keyLen], l.keySalt[keyLen:], profile)
	if err != nil {
		return nil, nil, fmt.Errorf("srtpkey: sending context: %w", err)
	}
	opts := []srtp.ContextOption{srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow)}
	if remote.HasMKI() {
		opts = append(opts, srtp.MasterKeyIndicator(r.mki))
	}
	decrypt, err = srtp.CreateContext(r.keySalt[:keyLen], r.keySalt[keyLen:], profile, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("srtpkey: receiving context: %w", err)
	}
	return encrypt, decrypt, nil
}
