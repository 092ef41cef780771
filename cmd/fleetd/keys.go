package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
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

// Keys are fleetd's secrets, kept as files in their own directory, never in
// the database: the CA that issues device and server certificates, the
// trust root keys and the config signing key.
type Keys struct {
	Dir       string
	CAKey     *ecdsa.PrivateKey
	CACert    *x509.Certificate
	RootKey   ed25519.PrivateKey
	ConfigKey ed25519.PrivateKey
	Root      *provisioning.TrustRoot
	// Roots are the signed trust roots, oldest first.
	Roots [][]byte
}

// loadOrCreateKeys reads the key directory, creating the keys of a new
// fleet for org on first use.
func loadOrCreateKeys(dir, org string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fleetd: %w", err)
	}
	k := &Keys{Dir: dir}
	var err error
	if k.CAKey, err = loadOrCreateEC(filepath.Join(dir, "ca.key")); err != nil {
		return nil, err
	}
	certPath := filepath.Join(dir, "ca.crt")
	if b, err := os.ReadFile(certPath); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("fleetd: %s is not PEM", certPath)
		}
		if k.CACert, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return nil, fmt.Errorf("fleetd: %s: %w", certPath, err)
		}
	} else {
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
	if k.RootKey, err = loadOrCreateEd(filepath.Join(dir, "root.key")); err != nil {
		return nil, err
	}
	if k.ConfigKey, err = loadOrCreateEd(filepath.Join(dir, "config.key")); err != nil {
		return nil, err
	}
	roots, _ := filepath.Glob(filepath.Join(dir, "root-*.json"))
	sort.Slice(roots, func(i, j int) bool { return rootNum(roots[i]) < rootNum(roots[j]) })
	for _, p := range roots {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("fleetd: %w", err)
		}
		k.Roots = append(k.Roots, b)
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
	}
	var prev *provisioning.TrustRoot
	for _, raw := range k.Roots {
		if prev, err = provisioning.ParseRoot(raw, prev); err != nil {
			return nil, fmt.Errorf("fleetd: trust root chain in %s: %w", dir, err)
		}
	}
	k.Root = prev
	return k, nil
}

func rootNum(p string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "root-"), ".json"))
	return n
}

func loadOrCreateEC(path string) (*ecdsa.PrivateKey, error) {
	s, err := provisioning.LoadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("fleetd: %w", err)
	}
	return s.(*ecdsa.PrivateKey), nil
}

func loadOrCreateEd(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		if err := statefile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fleetd: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("fleetd: %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("fleetd: %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("fleetd: %s is not an Ed25519 key", path)
	}
	return ek, nil
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
