package provisioning

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/roomd/roomd/internal/statefile"
)

// Errors of [LoadKey]. Callers branch with errors.Is.
var (
	// ErrKeyDamaged: the key file is empty, not PEM, not PKCS#8 or not a
	// P-256 key (or not a file at all). It cannot be repaired: the device
	// needs a new identity, that is a new enrollment.
	ErrKeyDamaged = errors.New("provisioning: device key is damaged")
	// ErrKeyExposed: the key file is readable by others.
	ErrKeyExposed = errors.New("provisioning: device key is readable by others")
)

// LoadOrCreateKey returns the device key kept at path, generating a P-256
// key on first boot. The file is written atomically with mode 0600. Callers
// hold the key only as a [crypto.Signer]; a TPM-backed signer can take its
// place without changing anything else. A device that is enrolled must not
// call it: a missing key then means a lost identity ([LoadKey]).
func LoadOrCreateKey(path string) (crypto.Signer, error) {
	k, err := LoadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	return k, err
}

// createKey makes a new P-256 device key at path, mode 0600.
func createKey(path string) (crypto.Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("provisioning: generating device key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("provisioning: encoding device key: %w", err)
	}
	if err := statefile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("provisioning: saving device key: %w", err)
	}
	return k, nil
}

// LoadKey reads the device key at path. A missing file is fs.ErrNotExist;
// a damaged one [ErrKeyDamaged]; one readable by others [ErrKeyExposed].
func LoadKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("provisioning: device key %s: %w", path, fs.ErrNotExist)
	}
	if isDirErr(err) {
		return nil, fmt.Errorf("%w: %s is a directory", ErrKeyDamaged, path)
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning: reading device key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v; chmod 600 it", ErrKeyExposed, path, fi.Mode().Perm())
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: %s is not PEM", ErrKeyDamaged, path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyDamaged, path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: %s is not a P-256 key", ErrKeyDamaged, path)
	}
	return ek, nil
}

// Fingerprint is the SHA-256 of the public key's SubjectPublicKeyInfo,
// shortened to 16 bytes in groups of four hex digits, for an administrator
// to compare with what the panel shows.
func Fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "invalid-key"
	}
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:16]))
	var parts []string
	for i := 0; i < len(h); i += 4 {
		parts = append(parts, h[i:i+4])
	}
	return strings.Join(parts, "-")
}

// NewCSR returns a DER certificate request for key, proving possession of it.
func NewCSR(key crypto.Signer, commonName string) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: commonName},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("provisioning: certificate request: %w", err)
	}
	return der, nil
}
