package ua

import (
	"fmt"
	"log/slog"
)

// Secret holds a password. It never prints: every fmt verb, slog and
// encoding.TextMarshaler show "[redacted]", and even printing a struct that
// holds it unexported shows only a pointer, never the text.
type Secret struct{ v *secretValue }

type secretValue struct{ s string }

const redacted = "[redacted]"

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: &secretValue{s: s}} }

// Reveal returns the secret's text, for computing a digest response only.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return s.v.s
}

// IsZero says whether the secret is empty.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue keeps the secret out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps the secret out of JSON, YAML and text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
