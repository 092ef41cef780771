package e2ee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretNeverPrinted prints a secret every way a log line or an error
// message could, directly and inside structs, and looks for its bytes.
func TestSecretNeverPrinted(t *testing.T) {
	const pass = "correct-horse-battery"
	s := Passphrase(pass)
	type exported struct{ Key Secret }
	type unexported struct{ key Secret }
	type pointer struct{ key *Secret }
	values := []any{s, &s, exported{s}, unexported{s}, pointer{&s}, []Secret{s}, map[string]Secret{"k": s}}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"}
	hexPass := fmt.Sprintf("%x", pass)
	for _, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, pass) || strings.Contains(strings.ToLower(out), hexPass) || strings.Contains(out, "99 111 114") {
				t.Errorf("fmt.Sprintf(%q, %T) = %q: shows the secret", verb, v, out)
			}
		}
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("joining", "passphrase", s, "cfg", exported{s}, slog.Any("ptr", &s))
	}
	if strings.Contains(buf.String(), pass) || !strings.Contains(buf.String(), Redacted) {
		t.Errorf("slog wrote %q", buf.String())
	}
	if b, err := json.Marshal(exported{s}); !errors.Is(err, ErrSerialise) {
		t.Errorf("json.Marshal = %q, %v; want ErrSerialise", b, err)
	}
	if got := s.Reveal(); got != pass {
		t.Errorf("Reveal = %d bytes, want the passphrase back", len(got))
	}
	if !s.Equal(NewSecret([]byte(pass))) || s.Equal(Passphrase("other")) {
		t.Error("Equal does not compare the bytes")
	}
	if !(Secret{}).IsZero() || s.IsZero() {
		t.Error("IsZero wrong")
	}
}

// TestNewSecretCopies checks the caller's buffer can be wiped afterwards.
func TestNewSecretCopies(t *testing.T) {
	b := []byte{1, 2, 3}
	s := NewSecret(b)
	b[0] = 9
	if s.Bytes()[0] != 1 {
		t.Fatal("NewSecret kept the caller's slice")
	}
}
