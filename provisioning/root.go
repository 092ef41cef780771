package provisioning

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
)

// TrustRoot lists the keys a device trusts: root keys sign the next root,
// config keys sign configuration bundles.
type TrustRoot struct {
	Version    int         `json:"version"`
	OrgID      string      `json:"org_id"`
	RootKeys   []PublicKey `json:"root_keys"`
	Threshold  int         `json:"threshold"` // root signatures needed, at least 1
	ConfigKeys []PublicKey `json:"config_keys"`
}

// Validate checks the root's shape.
func (r *TrustRoot) Validate() error {
	switch {
	case r.Version < 1:
		return errors.New("provisioning: trust root version must be at least 1")
	case r.OrgID == "":
		return errors.New("provisioning: trust root names no organisation")
	case r.Threshold < 1 || r.Threshold > len(r.RootKeys):
		return fmt.Errorf("provisioning: trust root threshold %d with %d root keys", r.Threshold, len(r.RootKeys))
	case len(r.ConfigKeys) == 0:
		return errors.New("provisioning: trust root has no config key")
	}
	for _, k := range append(append([]PublicKey(nil), r.RootKeys...), r.ConfigKeys...) {
		if len(k.Key) != ed25519.PublicKeySize || k.ID != KeyID(k.Key) {
			return fmt.Errorf("provisioning: trust root key %s is malformed", short(k.ID))
		}
	}
	return nil
}

// SealRoot signs a root with the given root keys (for rotation: the old
// root's and the new root's).
func SealRoot(r *TrustRoot, keys ...ed25519.PrivateKey) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("provisioning: encoding trust root: %w", err)
	}
	return Seal(RootType, b, keys...)
}

// ParseRoot verifies a signed trust root. With prev nil the root is trusted
// on first use (it arrives over the enrollment TLS session) but must still be
// signed by a threshold of its own keys. Otherwise it must be exactly
// prev.Version+1, of the same organisation, and signed by a threshold of both
// prev's root keys and its own.
func ParseRoot(raw []byte, prev *TrustRoot) (*TrustRoot, error) {
	env, payload, err := ParseEnvelope(raw, RootType)
	if err != nil {
		return nil, err
	}
	var r TrustRoot
	if err := decodeStrict(payload, &r); err != nil {
		return nil, fmt.Errorf("%w: trust root: %v", ErrMalformed, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	own, err := verifiedBy(env, payload, r.RootKeys)
	if err != nil {
		return nil, err
	}
	if len(own) < r.Threshold {
		return nil, fmt.Errorf("%w: trust root %d has %d of %d signatures by its own keys", ErrUnknownKey, r.Version, len(own), r.Threshold)
	}
	if prev == nil {
		return &r, nil
	}
	if r.OrgID != prev.OrgID {
		return nil, fmt.Errorf("%w: trust root for organisation %q, device is in %q", ErrWrongDevice, r.OrgID, prev.OrgID)
	}
	if r.Version != prev.Version+1 {
		return nil, fmt.Errorf("%w: trust root version %d after %d; roots rotate one version at a time", ErrRollback, r.Version, prev.Version)
	}
	old, err := verifiedBy(env, payload, prev.RootKeys)
	if err != nil {
		return nil, err
	}
	if len(old) < prev.Threshold {
		return nil, fmt.Errorf("%w: trust root %d has %d of %d signatures by root %d's keys", ErrUnknownKey, r.Version, len(old), prev.Threshold, prev.Version)
	}
	return &r, nil
}
