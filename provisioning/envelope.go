package provisioning

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Payload types of the envelopes roomd accepts.
const (
	BundleType = "application/vnd.roomd.config+json"
	RootType   = "application/vnd.roomd.root+json"
)

// MaxBundleSize is the largest envelope accepted, calendar included.
const MaxBundleSize = 256 << 10

// Errors a bundle or trust root is refused with. Callers branch with errors.Is.
var (
	ErrTooLarge        = errors.New("provisioning: bundle exceeds the size cap")
	ErrMalformed       = errors.New("provisioning: malformed envelope")
	ErrUnknownKey      = errors.New("provisioning: signed by no key of the current trust root")
	ErrBadSignature    = errors.New("provisioning: signature does not verify")
	ErrWrongDevice     = errors.New("provisioning: bundle is for another organisation or device")
	ErrRollback        = errors.New("provisioning: bundle is older than the one in force")
	ErrVersionConflict = errors.New("provisioning: same version as the bundle in force but different content")
	ErrRootMismatch    = errors.New("provisioning: bundle names another trust root version")
	ErrInvalidConfig   = errors.New("provisioning: invalid configuration")
)

// Envelope is a DSSE envelope: the payload is signed over its
// pre-authentication encoding, so the type cannot be swapped.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"` // standard base64
	Signatures  []Signature `json:"signatures"`
}

// Signature is one Ed25519 signature and the id of the key that made it.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"` // standard base64
}

// PAE is DSSE's pre-authentication encoding of a payload.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// KeyID names an Ed25519 public key: hex SHA-256 of the key bytes.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:])
}

// Seal signs payload with every key and returns the encoded envelope.
func Seal(payloadType string, payload []byte, keys ...ed25519.PrivateKey) ([]byte, error) {
	env := Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString(payload)}
	msg := PAE(payloadType, payload)
	for _, k := range keys {
		env.Signatures = append(env.Signatures, Signature{
			KeyID: KeyID(k.Public().(ed25519.PublicKey)),
			Sig:   base64.StdEncoding.EncodeToString(ed25519.Sign(k, msg)),
		})
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("provisioning: encoding envelope: %w", err)
	}
	if len(b) > MaxBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, cap %d", ErrTooLarge, len(b), MaxBundleSize)
	}
	return b, nil
}

// ParseEnvelope decodes an envelope of the wanted type without checking
// signatures; it returns the decoded payload. Unknown fields, trailing data,
// bad base64 and envelopes over [MaxBundleSize] are refused.
func ParseEnvelope(raw []byte, wantType string) (*Envelope, []byte, error) {
	if len(raw) > MaxBundleSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, cap %d", ErrTooLarge, len(raw), MaxBundleSize)
	}
	var env Envelope
	if err := decodeStrict(raw, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.PayloadType != wantType {
		return nil, nil, fmt.Errorf("%w: payload type %q, want %q", ErrMalformed, env.PayloadType, wantType)
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if len(env.Signatures) == 0 {
		return nil, nil, fmt.Errorf("%w: no signatures", ErrMalformed)
	}
	return &env, payload, nil
}

// verifiedBy returns the ids of keys in keys whose signatures on env verify.
// A signature by a listed key that does not verify is an error: it means
// tampering, never a key to skip.
func verifiedBy(env *Envelope, payload []byte, keys []PublicKey) (map[string]bool, error) {
	msg := PAE(env.PayloadType, payload)
	ok := map[string]bool{}
	for _, s := range env.Signatures {
		var pub ed25519.PublicKey
		for _, k := range keys {
			if k.ID == s.KeyID {
				pub = k.Key
			}
		}
		if pub == nil {
			continue
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(s.Sig)
		if err != nil || !ed25519.Verify(pub, msg, sig) {
			return nil, fmt.Errorf("%w (key %s)", ErrBadSignature, short(s.KeyID))
		}
		ok[s.KeyID] = true
	}
	return ok, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("truncated: %w", err)
		}
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// PublicKey is an Ed25519 key in a trust root, encoded as base64.
type PublicKey struct {
	ID  string            `json:"keyid"`
	Key ed25519.PublicKey `json:"public"`
}

// NewPublicKey wraps pub with its id.
func NewPublicKey(pub ed25519.PublicKey) PublicKey { return PublicKey{ID: KeyID(pub), Key: pub} }
