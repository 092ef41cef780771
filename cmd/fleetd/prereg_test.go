package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

func TestStorePreregistration(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		now := time.UnixMilli(1_800_000_000_000)
		if err := st.CreateOrg(ctx, "acme", "Acme"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateRoom(ctx, "acme", "fjord", "Fjord"); err != nil {
			t.Fatal(err)
		}
		p := Prereg{Fingerprint: "AAAA-BBBB", OrgID: "acme", RoomID: "fjord", Serial: "SN-1", CreatedAt: now}
		if err := st.Preregister(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := st.Preregister(ctx, p); !errors.Is(err, errExists) {
			t.Errorf("registered twice: %v", err)
		}
		if err := st.Preregister(ctx, Prereg{Fingerprint: "CCCC", OrgID: "acme", RoomID: "attic", CreatedAt: now}); !errors.Is(err, errNotFound) {
			t.Errorf("registration for a missing room: %v", err)
		}
		// Another serial does not use it up.
		if _, err := st.UsePrereg(ctx, "AAAA-BBBB", "SN-2", now); !errors.Is(err, errNotFound) {
			t.Errorf("wrong serial: %v", err)
		}
		got, err := st.UsePrereg(ctx, "AAAA-BBBB", "SN-1", now)
		if err != nil || got.OrgID != "acme" || got.RoomID != "fjord" || got.Serial != "SN-1" || !got.CreatedAt.Equal(now) {
			t.Fatalf("UsePrereg = %+v, %v", got, err)
		}
		if _, err := st.UsePrereg(ctx, "AAAA-BBBB", "SN-1", now); !errors.Is(err, errNotFound) {
			t.Errorf("used twice: %v", err)
		}
		// Without a serial, any serial.
		if err := st.Preregister(ctx, Prereg{Fingerprint: "DDDD", OrgID: "acme", RoomID: "fjord", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UsePrereg(ctx, "DDDD", "whatever", now); err != nil {
			t.Errorf("registration without serial: %v", err)
		}
		// A key already enrolled cannot be registered again.
		if err := st.CreateDevice(ctx, Device{ID: "dev-1", OrgID: "acme", RoomID: "fjord", Fingerprint: "EEEE", State: stateActive, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.Preregister(ctx, Prereg{Fingerprint: "EEEE", OrgID: "acme", RoomID: "fjord", CreatedAt: now}); !errors.Is(err, errExists) {
			t.Errorf("registering an enrolled key: %v", err)
		}
	})
}

func TestNormalizeFingerprint(t *testing.T) {
	want := "0123-4567-89AB-CDEF-0123-4567-89AB-CDEF"
	for _, in := range []string{want, "0123456789abcdef0123456789abcdef", " 0123 4567 89ab cdef 0123 4567 89ab cdef "} {
		if got, err := NormalizeFingerprint(in); err != nil || got != want {
			t.Errorf("NormalizeFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0123", "0123456789abcdef0123456789abcdeg", want + "-0000"} {
		if _, err := NormalizeFingerprint(bad); err == nil {
			t.Errorf("NormalizeFingerprint(%q) accepted", bad)
		}
	}
}

// enrollRaw posts an enrollment for key with no activation code.
func enrollRaw(t *testing.T, addr string, pool *x509.CertPool, key crypto.Signer, serial string) (int, string) {
	t.Helper()
	csr, err := provisioning.NewCSR(key, "roomd")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(provisioning.EnrollRequest{CSR: csr, Hardware: provisioning.Hardware{Serial: serial}})
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Post("https://"+addr+provisioning.PathEnroll, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// Factory pre-registration end to end: a key registered with its room
// before shipping enrolls without a code, over real HTTPS, and gets its
// room's configuration; another key, a wrong serial or a second use of the
// registration does not.
func TestPreregisteredEnrollment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := startFleet(t, dir)
	f := fs.f
	seedFleet(t, f, "fjord", "Fjord", &provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord (factory)"}})
	pool := caPool(f)

	// At the factory: the device's key is made and its public half
	// registered, as a PEM file, with the serial on the label.
	devDir := filepath.Join(dir, "device")
	if err := os.MkdirAll(devDir, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := provisioning.LoadOrCreateKey(filepath.Join(devDir, "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	pubFile := filepath.Join(dir, "device.pub")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	fp, err := keyFingerprint(pubFile)
	if err != nil || fp != provisioning.Fingerprint(key.Public()) {
		t.Fatalf("fingerprint of the PEM key: %q %v", fp, err)
	}
	if fromPriv, err := keyFingerprint(filepath.Join(devDir, "device.key")); err != nil || fromPriv != fp {
		t.Fatalf("fingerprint of the private key file: %q %v", fromPriv, err)
	}
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o644)
	if _, err := keyFingerprint(filepath.Join(dir, "junk.pem")); err == nil {
		t.Error("a file without a key gave a fingerprint")
	}
	if _, err := f.Preregister(ctx, "acme", "fjord", strings.ToLower(strings.ReplaceAll(fp, "-", "")), "SN-0042"); err != nil {
		t.Fatal(err)
	}

	// Another key with no code is refused, and so is this key with
	// another serial; neither uses the registration up.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if code, body := enrollRaw(t, fs.addr, pool, other, "SN-0042"); code != http.StatusForbidden || !strings.Contains(body, "preregister") {
		t.Errorf("unregistered key: %d %s", code, body)
	}
	if code, body := enrollRaw(t, fs.addr, pool, key, "SN-9999"); code != http.StatusForbidden {
		t.Errorf("registered key, wrong serial: %d %s", code, body)
	}
	if hs, _ := f.Store.Fleet(ctx, "acme"); len(hs) != 0 {
		t.Fatalf("refused enrollments created devices: %+v", hs)
	}

	// The device boots with no code and enrolls into its room.
	rm := &fakeRoom{settings: room.DefaultSettings()}
	opts := fs.deviceOptions(devDir, rm)
	opts.Preregistered, opts.Hardware = true, provisioning.Hardware{Serial: "SN-0042"}
	runClient(t, opts)
	waitFor(t, 30*time.Second, "enrolled without a code", func() bool {
		s, p := rm.snapshot()
		return p.State == room.Enrolled && p.ConfigVersion == 1 && s.Name == "Fjord (factory)"
	})
	hs, err := f.Store.Fleet(ctx, "acme")
	if err != nil || len(hs) != 1 || hs[0].Fingerprint != fp || hs[0].RoomID != "fjord" || hs[0].State != stateActive || hs[0].Serial != "SN-0042" {
		t.Fatalf("fleet after factory enrollment: %+v %v", hs, err)
	}
	// The registration is used: the same fingerprint cannot be registered
	// again, and another key still cannot enroll without a code.
	if _, err := f.Preregister(ctx, "acme", "fjord", fp, ""); !errors.Is(err, errExists) {
		t.Errorf("registering an enrolled key again: %v", err)
	}
	if code, _ := enrollRaw(t, fs.addr, pool, other, ""); code != http.StatusForbidden {
		t.Errorf("unregistered key after a factory enrollment: %d", code)
	}
}
