package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/provisioning"
)

// Issue 12 rows 2, 5, 9 and 13 as a user meets them: roomd with a damaged
// provisioning store still starts, and says what is wrong.

// statusOf reads one status leaf over the control socket.
func statusOf(t *testing.T, c *consoleclient.Client, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lines, err := c.Exec(ctx, "xStatus "+path)
	if err != nil {
		t.Fatalf("xStatus %s: %v", path, err)
	}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "*s "+path+": "); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// waitStatus waits until path reads want.
func waitStatus(t *testing.T, c *consoleclient.Client, path, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := statusOf(t, c, path)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q (detail %q)", path, got, want, statusOf(t, c, "Provisioning Detail"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// enrolledState writes a provisioning directory as an enrolled device
// leaves it: device.key and an enrollment.json whose certificate is for it.
func enrolledState(t *testing.T, state string) {
	t.Helper()
	dir := filepath.Join(state, "provisioning")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := provisioning.LoadOrCreateKey(filepath.Join(dir, "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fleet CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	ca, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(ca)
	leaf, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dev-1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, caCert, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"device_id": "dev-1", "org_id": "acme", "cert_chain": [][]byte{leaf}, "ca": ca})
	if err := os.WriteFile(filepath.Join(dir, "enrollment.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Rows 2 and 9: a garbage or empty enrollment.json, a garbage device.key or
// a deleted device.key with an enrollment used to make roomd exit 1. The
// room now starts, provisioning says Failed with why and since when, the
// damaged file is kept aside, and no new key is made behind the
// administrator's back.
func TestDaemonStartsWithDamagedProvisioningStore(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(dir string)
		detail string
		aside  string // file expected as <aside>.corrupt-*
	}{
		{"garbage enrollment", func(dir string) { os.WriteFile(filepath.Join(dir, "enrollment.json"), []byte("\x00garbage{"), 0o600) },
			"enrollment.json is damaged", "enrollment.json"},
		{"empty enrollment", func(dir string) { os.WriteFile(filepath.Join(dir, "enrollment.json"), nil, 0o600) },
			"enrollment.json is damaged", "enrollment.json"},
		{"garbage key", func(dir string) { os.WriteFile(filepath.Join(dir, "device.key"), []byte("garbage"), 0o600) },
			"device key is damaged", "device.key"},
		{"deleted key", func(dir string) { os.Remove(filepath.Join(dir, "device.key")) },
			"is missing but the device is enrolled", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			enrolledState(t, state)
			pdir := filepath.Join(state, "provisioning")
			c.damage(pdir)
			cfg := filepath.Join(dir, "roomd.toml")
			os.WriteFile(cfg, []byte("[board]\nprofile = \"sim\"\n[provisioning]\nserver = \"https://127.0.0.1:1\"\nstart_delay = \"10ms\"\n"), 0o644)
			d := startRoomdAt(t, dir, state, []string{"--config", cfg}) // fails unless READY
			cl, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			waitStatus(t, cl, "Provisioning State", "Failed", 5*time.Second)
			if got := statusOf(t, cl, "Provisioning Detail"); !strings.Contains(got, c.detail) || !strings.Contains(got, "enroll again") {
				t.Errorf("Provisioning Detail %q, want %q and how to enroll again", got, c.detail)
			}
			if statusOf(t, cl, "Provisioning Since") == "" {
				t.Error("Provisioning Since is empty")
			}
			// The room runs.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := cl.Exec(ctx, "xCommand Audio Volume Set Level: 33"); err != nil {
				t.Fatal(err)
			}
			if got := statusOf(t, cl, "Audio Volume"); got != "33" {
				t.Errorf("volume %s after setting 33", got)
			}
			if c.aside != "" {
				if m, _ := filepath.Glob(filepath.Join(pdir, c.aside+".corrupt-*")); len(m) != 1 {
					t.Errorf("%s set aside as %v", c.aside, m)
				}
			}
			if c.name == "deleted key" {
				if _, err := os.Stat(filepath.Join(pdir, "device.key")); err == nil {
					t.Error("a new device key was made silently")
				}
			}
		})
	}
}

// Row 5: `roomd reseed-root` installs a root the fleet's administrator
// hands over when no stored root verifies, and refuses garbage.
func TestReseedRootCommand(t *testing.T) {
	state := t.TempDir()
	_, rk, _ := ed25519.GenerateKey(rand.Reader)
	_, ck, _ := ed25519.GenerateKey(rand.Reader)
	raw, err := provisioning.SealRoot(&provisioning.TrustRoot{Version: 1, OrgID: "acme", Threshold: 1,
		RootKeys:   []provisioning.PublicKey{provisioning.NewPublicKey(rk.Public().(ed25519.PublicKey))},
		ConfigKeys: []provisioning.PublicKey{provisioning.NewPublicKey(ck.Public().(ed25519.PublicKey))}}, rk)
	if err != nil {
		t.Fatal(err)
	}
	good, bad := filepath.Join(state, "root-1.json"), filepath.Join(state, "garbage.json")
	os.WriteFile(good, raw, 0o644)
	os.WriteFile(bad, []byte("{garbage"), 0o644)
	cur := filepath.Join(state, "provisioning", "config", "root.current")
	os.MkdirAll(filepath.Dir(cur), 0o700)
	os.WriteFile(cur, []byte("damaged"), 0o600)
	var out, errOut bytes.Buffer
	if code := run([]string{"reseed-root", "--state-dir", state, bad}, nil, &out, &errOut); code != 1 {
		t.Fatalf("garbage root: exit %d, %s", code, errOut.String())
	}
	if code := run([]string{"reseed-root", "--state-dir", state, good}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if got, _ := os.ReadFile(cur); !bytes.Equal(got, raw) {
		t.Fatalf("root.current = %q", got)
	}
	if m, _ := filepath.Glob(cur + ".corrupt-*"); len(m) != 1 {
		t.Errorf("damaged root set aside as %v", m)
	}
	if !strings.Contains(out.String(), "trust root 1 of acme") {
		t.Errorf("output %q", out.String())
	}
}

// Row 13: a device fleetd revokes shows Revoked with the time (it used to
// show Enrolled and log "fleet unreachable").
func TestDaemonShowsRevocation(t *testing.T) {
	dir := t.TempDir()
	f := startTestFleet(t, dir, `{"room":{"name":"Fjord (fleet)"},"poll_seconds":3600}`)
	code, port, keys := f.code, f.port, f.keys

	cfg := filepath.Join(dir, "roomd.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[board]\nprofile = \"sim\"\n[provisioning]\nserver = \"https://localhost:%s\"\nca_file = %q\nstart_delay = \"10ms\"\nactivation_code = %q\n",
		port, filepath.Join(keys, "ca.crt"), code)), 0o644)
	state := filepath.Join(dir, "state")
	d := startRoomdAt(t, dir, state, []string{"--config", cfg})
	cl, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	waitStatus(t, cl, "Provisioning State", "Enrolled", 20*time.Second)
	waitStatus(t, cl, "SystemUnit Name", "Fjord (fleet)", 10*time.Second)

	var e struct {
		DeviceID string `json:"device_id"`
	}
	b, _ := os.ReadFile(filepath.Join(state, "provisioning", "enrollment.json"))
	if err := json.Unmarshal(b, &e); err != nil || e.DeviceID == "" {
		t.Fatalf("enrollment.json: %v", err)
	}
	f.admin(t, "revoke", e.DeviceID)
	before := time.Now().UTC().Truncate(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cl.Exec(ctx, "xCommand Provisioning PollNow"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, cl, "Provisioning State", "Revoked", 10*time.Second)
	since, err := time.Parse(time.RFC3339, statusOf(t, cl, "Provisioning Since"))
	if err != nil || since.Before(before) || since.After(time.Now().Add(time.Second)) {
		t.Errorf("Provisioning Since %v (%v), want the time of the refused poll", since, err)
	}
	if got := statusOf(t, cl, "Provisioning Detail"); !strings.Contains(got, "revoked") {
		t.Errorf("Provisioning Detail %q", got)
	}
	// The room keeps the fleet's configuration, and the log does not call
	// a revocation an unreachable fleet.
	if got := statusOf(t, cl, "SystemUnit Name"); got != "Fjord (fleet)" {
		t.Errorf("room name %q after revocation", got)
	}
	if strings.Contains(d.logs(), "fleet unreachable") {
		t.Error("the revocation was logged as an unreachable fleet")
	}
}
