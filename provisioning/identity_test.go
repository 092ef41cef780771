package provisioning

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestDeviceKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fp := Fingerprint(k1.Public())
	if fp != Fingerprint(k2.Public()) {
		t.Error("key changed across loads")
	}
	if !regexp.MustCompile(`^([0-9A-F]{4}-){7}[0-9A-F]{4}$`).MatchString(fp) {
		t.Errorf("fingerprint %q", fp)
	}
	csr, err := NewCSR(k2, "roomd")
	if err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(csr)
	if err != nil || req.CheckSignature() != nil {
		t.Fatalf("CSR: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Error("a world-readable key was accepted")
	}
}
