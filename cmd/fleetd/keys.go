package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/provisioning"
)

// DeviceCertLifetime is how long a device certificate is valid; devices
// renew at two thirds of it.
const DeviceCertLifetime = 30 * 24 * time.Hour

// RenewGrace is how long after expiry a device may still renew by proving
// the same key.
const RenewGrace = 30 * 24 * time.Hour

// The secret files in the key directory. Each must be readable and writable
// by its owner only (mode 0600): fleetd refuses to start otherwise.
const (
	caKeyFile     = "ca.key"     // the fleet CA (device and server certificates)
	rootKeyFile   = "root.key"   // signs trust roots
	configKeyFile = "config.key" // signs configuration bundles
	codeKeyFile   = "codes.key"  // keys the hash activation codes are stored under
)

// Keys are fleetd's secrets, kept as files in their own directory, never in
// the database: the CA that issues device and server certificates, the
// trust root keys, the config signing key and the activation-code key.
type Keys struct {
	Dir       string
	CAKey     *ecdsa.PrivateKey
	CACert    *x509.Certificate
	RootKey   ed25519.PrivateKey
	ConfigKey ed25519.PrivateKey
	Root      *provisioning.TrustRoot
	// Roots are the signed trust roots, oldest first.
	Roots [][]byte
	// CodeKey is the secret activation codes are hashed with
	// (HMAC-SHA256), so that a copy of the database alone does not allow
	// guessing them offline.
	CodeKey []byte
	// Notes are what loading found and repaired (a damaged codes.key set
	// aside), for the caller to log.
	Notes []string
}

// loadOrCreateKeys reads the key directory, creating the keys of a new
// fleet for org on first use. A key directory that already holds a fleet
// (ca.crt or a signed trust root) must hold every signing key: a missing,
// damaged or group/other-readable key is an error that says which file and
// what to do, never a silently new key, which would orphan every enrolled
// device. Only codes.key, whose loss merely voids the activation codes
// outstanding, is made anew (a damaged one is set aside first).
func loadOrCreateKeys(dir, org string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fleetd: key directory: %w", err)
	}
	k := &Keys{Dir: dir}
	certPath := filepath.Join(dir, "ca.crt")
	roots, _ := filepath.Glob(filepath.Join(dir, "root-*.json"))
	sort.Slice(roots, func(i, j int) bool { return rootNum(roots[i]) < rootNum(roots[j]) })
	_, certErr := os.Stat(certPath)
	existing := certErr == nil || len(roots) > 0
	var err error
	if k.CAKey, err = loadOrCreateEC(filepath.Join(dir, caKeyFile), existing); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(certPath); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("fleetd: %s is not a PEM certificate (empty, truncated or damaged); restore it from a backup of %s or from a device (the ca field of its enrollment)", certPath, dir)
		}
		if k.CACert, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return nil, fmt.Errorf("fleetd: %s: %w; restore it from a backup of %s", certPath, err, dir)
		}
		if !k.CAKey.PublicKey.Equal(k.CACert.PublicKey) {
			return nil, fmt.Errorf("fleetd: %s does not belong to %s; restore the pair from a backup of %s", certPath, filepath.Join(dir, caKeyFile), dir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fleetd: %w; restore %s from a backup of %s", err, certPath, dir)
	} else {
		// The certificate is public: made again from the same key, it
		// verifies what the old one did.
		tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "roomd fleet CA " + org},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(20, 0, 0), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.CAKey.PublicKey, k.CAKey)
		if err != nil {
			return nil, fmt.Errorf("fleetd: CA certificate: %w", err)
		}
		if err := statefile.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			return nil, err
		}
		k.CACert, _ = x509.ParseCertificate(der)
	}
	if k.RootKey, err = loadOrCreateEd(filepath.Join(dir, rootKeyFile), existing); err != nil {
		return nil, err
	}
	if k.ConfigKey, err = loadOrCreateEd(filepath.Join(dir, configKeyFile), existing); err != nil {
		return nil, err
	}
	if k.CodeKey, k.Notes, err = loadOrCreateCodeKey(filepath.Join(dir, codeKeyFile), time.Now()); err != nil {
		return nil, err
	}
	var prev *provisioning.TrustRoot
	for _, p := range roots {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("fleetd: %w; restore %s from a backup", err, p)
		}
		if prev, err = provisioning.ParseRoot(b, prev); err != nil {
			return nil, fmt.Errorf("fleetd: trust root %s: %w; restore the root-N.json files from a backup of %s", p, err, dir)
		}
		k.Roots = append(k.Roots, b)
	}
	if len(k.Roots) == 0 && certErr == nil {
		return nil, fmt.Errorf("fleetd: %s holds a fleet (ca.crt) but no signed trust root (%s); restore the root-N.json files from a backup", dir, filepath.Join(dir, "root-1.json"))
	}
	if len(k.Roots) == 0 {
		r := &provisioning.TrustRoot{Version: 1, OrgID: org, Threshold: 1,
			RootKeys:   []provisioning.PublicKey{provisioning.NewPublicKey(k.RootKey.Public().(ed25519.PublicKey))},
			ConfigKeys: []provisioning.PublicKey{provisioning.NewPublicKey(k.ConfigKey.Public().(ed25519.PublicKey))}}
		raw, err := provisioning.SealRoot(r, k.RootKey)
		if err != nil {
			return nil, err
		}
		if err := statefile.WriteFile(filepath.Join(dir, "root-1.json"), raw, 0o644); err != nil {
			return nil, err
		}
		k.Roots = [][]byte{raw}
		if prev, err = provisioning.ParseRoot(raw, nil); err != nil {
			return nil, err
		}
	}
	k.Root = prev
	// Keys that the newest root does not name would sign what no device
	// accepts: say so now rather than at every poll.
	has := func(keys []provisioning.PublicKey, pub crypto.PublicKey) bool {
		return slices.ContainsFunc(keys, func(p provisioning.PublicKey) bool { return p.Key.Equal(pub) })
	}
	newest := filepath.Join(dir, "root-1.json")
	if len(roots) > 0 {
		newest = roots[len(roots)-1]
	}
	if !has(k.Root.RootKeys, k.RootKey.Public()) {
		return nil, fmt.Errorf("fleetd: %s is not a root key of trust root version %d (%s); restore the key and the root-N.json files from a backup of %s", filepath.Join(dir, rootKeyFile), k.Root.Version, newest, dir)
	}
	if !has(k.Root.ConfigKeys, k.ConfigKey.Public()) {
		return nil, fmt.Errorf("fleetd: %s is not a config key of trust root version %d (%s); restore the key and the root-N.json files from a backup of %s", filepath.Join(dir, configKeyFile), k.Root.Version, newest, dir)
	}
	return k, nil
}

func rootNum(p string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "root-"), ".json"))
	return n
}

// errNotRegular is a key path that is a directory, a device or a socket.
var errNotRegular = errors.New("not a regular file")

// readSecret reads a secret file of the key directory; exists is false
// when there is none. A file that group or others may read or write, or
// that is not a regular file, is refused.
func readSecret(path string) (b []byte, exists bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("fleetd: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, true, fmt.Errorf("fleetd: %s is %w (%v); restore the key from a backup of the key directory", path, errNotRegular, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, true, fmt.Errorf("fleetd: %s is readable or writable by group or others (mode %04o); run `chmod 600 %s`, and if others may have read it, treat it as leaked", path, perm, path)
	}
	if b, err = os.ReadFile(path); err != nil {
		return nil, true, fmt.Errorf("fleetd: %w", err)
	}
	return b, true, nil
}

// readPrivateKey reads a PKCS#8 PEM private key from the key directory.
func readPrivateKey(path string, existingFleet bool) (key any, exists bool, err error) {
	b, exists, err := readSecret(path)
	if err != nil {
		return nil, exists, err
	}
	if !exists {
		if existingFleet {
			return nil, false, fmt.Errorf("fleetd: %s is missing but %s holds a fleet (ca.crt, root-N.json); restore the key from a backup: a new one would not match what enrolled devices trust", path, filepath.Dir(path))
		}
		return nil, false, nil
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, true, fmt.Errorf("fleetd: %s is not a PEM private key (empty, truncated or damaged); restore it from a backup of %s", path, filepath.Dir(path))
	}
	if key, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
		return nil, true, fmt.Errorf("fleetd: %s: %w; restore it from a backup of %s", path, err, filepath.Dir(path))
	}
	return key, true, nil
}

func writePrivateKey(path string, key any) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("fleetd: %w", err)
	}
	return statefile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func loadOrCreateEC(path string, existingFleet bool) (*ecdsa.PrivateKey, error) {
	key, exists, err := readPrivateKey(path, existingFleet)
	if err != nil {
		return nil, err
	}
	if !exists {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("fleetd: %w", err)
		}
		return k, writePrivateKey(path, k)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("fleetd: %s is not a P-256 key; restore it from a backup of %s", path, filepath.Dir(path))
	}
	return ek, nil
}

func loadOrCreateEd(path string, existingFleet bool) (ed25519.PrivateKey, error) {
	key, exists, err := readPrivateKey(path, existingFleet)
	if err != nil {
		return nil, err
	}
	if !exists {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("fleetd: %w", err)
		}
		return k, writePrivateKey(path, k)
	}
	ek, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("fleetd: %s is not an Ed25519 key; restore it from a backup of %s", path, filepath.Dir(path))
	}
	return ek, nil
}

// codeKeySize is the length of the activation-code key.
const codeKeySize = 32

// loadOrCreateCodeKey reads the activation-code key (64 hex digits), making
// one on first start. Losing it only voids the codes issued under it, so a
// damaged one (empty, truncated, garbage, not a file) is set aside as
// codes.key.corrupt-TIME and replaced, and the returned notes say so; one
// readable by others is refused like every key.
func loadOrCreateCodeKey(path string, now time.Time) (key []byte, notes []string, err error) {
	b, exists, err := readSecret(path)
	var bad error
	switch {
	case errors.Is(err, errNotRegular):
		bad = err
	case err != nil:
		return nil, nil, err
	case exists:
		key, derr := hex.DecodeString(string(bytes.TrimSpace(b)))
		if derr == nil && len(key) == codeKeySize {
			return key, nil, nil
		}
		bad = fmt.Errorf("fleetd: %s is not %d hex-encoded bytes (empty, truncated or damaged)", path, codeKeySize)
	}
	if bad != nil {
		aside := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(path, aside); err != nil {
			return nil, nil, fmt.Errorf("%w; setting it aside failed: %w; move it away by hand", bad, err)
		}
		notes = append(notes, fmt.Sprintf("%v: set aside as %s and replaced by a new key; activation codes issued before now no longer work: issue new ones", bad, aside))
	}
	key = make([]byte, codeKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("fleetd: %w", err)
	}
	if err := statefile.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	return key, notes, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// issueDevice signs a device certificate for the CSR's key; the device id is
// the common name.
func (k *Keys) issueDevice(pub crypto.PublicKey, deviceID string, now time.Time) ([]byte, error) {
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: deviceID},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(DeviceCertLifetime),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, k.CACert, pub, k.CAKey)
	if err != nil {
		return nil, fmt.Errorf("fleetd: issuing device certificate: %w", err)
	}
	return der, nil
}

// serverCert issues fleetd's TLS certificate for the given names.
func (k *Keys) serverCert(names []string) (*tlsCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, k.CACert, &key.PublicKey, k.CAKey)
	if err != nil {
		return nil, fmt.Errorf("fleetd: server certificate: %w", err)
	}
	return &tlsCert{der: der, key: key}, nil
}

type tlsCert struct {
	der []byte
	key *ecdsa.PrivateKey
}

// signBundle signs a configuration for a device.
func (k *Keys) signBundle(org, device string, version int64, cfg provisioning.Config, now time.Time, validity time.Duration) ([]byte, error) {
	p := &provisioning.Payload{OrgID: org, DeviceID: device, Version: version, IssuedAt: now.UTC().Truncate(time.Second),
		ExpiresAt: now.UTC().Add(validity).Truncate(time.Second), RootVersion: k.Root.Version, Config: cfg}
	return provisioning.SealBundle(p, k.ConfigKey)
}

func parseConfigJSON(s string) (provisioning.Config, error) {
	var c provisioning.Config
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("fleetd: room configuration: %w", err)
	}
	return c, nil
}
