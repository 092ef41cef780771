package e2ee

import (
	"errors"
	"fmt"
	"log/slog"
)

// Redacted is what a [Secret] shows wherever it is printed or logged.
const Redacted = "[redacted]"

// ErrSerialise is returned when something tries to serialise a [Secret].
var ErrSerialise = errors.New("e2ee: a secret is never serialised; store it with its own 0600 file writer")

// Secret is a passphrase or key. Every way of printing it (fmt verbs, slog,
// encoding/json and encoding/text) shows [Redacted] or fails; only
// [Secret.Bytes] and [Secret.Reveal] give the value, to the crypto that needs it.
//
// The bytes sit inside a closure: fmt's reflection over a struct holding a
// Secret in an unexported field (where String is out of its reach) can only
// print a function's address, never the contents. The zero Secret is empty.
type Secret struct {
	get func() []byte
}

// NewSecret copies b into a Secret.
func NewSecret(b []byte) Secret {
	c := append([]byte(nil), b...)
	return Secret{get: func() []byte { return c }}
}

// Passphrase makes a Secret of a passphrase typed by a person or taken
// from a meeting link.
func Passphrase(s string) Secret { return NewSecret([]byte(s)) }

// Bytes returns the secret's bytes. The caller must not change or keep them
// longer than the crypto operation that needs them.
func (s Secret) Bytes() []byte {
	if s.get == nil {
		return nil
	}
	return s.get()
}

// Reveal returns the secret as a string, for a KDF that takes the
// passphrase as text.
func (s Secret) Reveal() string { return string(s.Bytes()) }

// Len is the secret's length in bytes.
func (s Secret) Len() int { return len(s.Bytes()) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Len() == 0 }

// Equal reports whether two secrets hold the same bytes. It is not
// constant-time: use it for configuration changes, not for checking a
// secret offered by a peer.
func (s Secret) Equal(o Secret) bool { return string(s.Bytes()) == string(o.Bytes()) }

// String returns [Redacted].
func (s Secret) String() string { return Redacted }

// GoString returns [Redacted], for %#v.
func (s Secret) GoString() string { return Redacted }

// Format prints [Redacted] for every verb, so %x or %q cannot leak it.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue makes slog print [Redacted].
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText refuses: a secret in a JSON or text encoding is a leak.
func (s Secret) MarshalText() ([]byte, error) { return nil, ErrSerialise }

// MarshalJSON refuses, for the same reason as MarshalText.
func (s Secret) MarshalJSON() ([]byte, error) { return nil, ErrSerialise }
