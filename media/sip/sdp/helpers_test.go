package sdp

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"
)

// testFingerprint stands for a DTLS certificate's fingerprint.
var testFingerprint = Fingerprint{Algorithm: "sha-256", Value: "0F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00:0F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00"}

// seeded is a deterministic key source, so fuzzing spends no time in
// crypto/rand.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func newSeeded() seeded { return seeded{rand.NewChaCha8([32]byte{1})} }

// roomConfig is a room at addr with audio on port and video on port+2.
func roomConfig(addr string, port int, mod func(*Config)) Config {
	cfg := Config{Address: netip.MustParseAddr(addr), AudioPort: port, VideoPort: port + 2}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func newSession(t testing.TB, cfg Config) *Session {
	t.Helper()
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withDTLS gives a config a certificate.
func withDTLS(c *Config) { c.DTLS = &DTLS{Fingerprints: []Fingerprint{testFingerprint}} }

// reparse checks that a body roomd wrote is valid for pion's parser and
// for roomd's own, and returns the latter.
func reparse(t testing.TB, body []byte) *remoteSession {
	t.Helper()
	var d psdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		t.Fatalf("pion/sdp refuses roomd's description: %v\n%s", err, body)
	}
	rs, err := parse(body)
	if err != nil {
		t.Fatalf("roomd cannot read its own description: %v\n%s", err, body)
	}
	return rs
}

// edit applies string replacements to a fixture, failing when one does
// not apply (so a test cannot silently test nothing).
func edit(t testing.TB, body []byte, pairs ...string) []byte {
	t.Helper()
	s := string(body)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("edit: %q not in the fixture", pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return []byte(s)
}

// dropLines removes the lines starting with prefix.
func dropLines(t testing.TB, body []byte, prefix string) []byte {
	t.Helper()
	var out [][]byte
	n := 0
	for l := range bytes.SplitAfterSeq(body, []byte("\n")) {
		if bytes.HasPrefix(l, []byte(prefix)) {
			n++
			continue
		}
		out = append(out, l)
	}
	if n == 0 {
		t.Fatalf("dropLines: no line starts with %q", prefix)
	}
	return bytes.Join(out, nil)
}
