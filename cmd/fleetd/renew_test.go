package main

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// Certificates are renewed before they expire, and after expiry within the
// grace period by proving the same key; past the grace period renewal is
// refused and the room keeps its configuration.
func TestCertificateRenewal(t *testing.T) {
	dir := t.TempDir()
	fs := startFleet(t, dir)
	f := fs.f
	var offset atomic.Int64 // both clocks, fleetd's and the device's
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	f.Now = now
	seedFleet(t, f, "fjord", "Fjord", &provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord"}})
	rm := &fakeRoom{settings: room.DefaultSettings()}
	devDir := filepath.Join(dir, "device")
	opts := fs.deviceOptions(devDir, rm)
	opts.ActivationCode, opts.Now = issueCode(t, f, "fjord", false), now
	runClient(t, opts)

	leaf := func() *x509.Certificate {
		raw, err := os.ReadFile(filepath.Join(devDir, "enrollment.json"))
		if err != nil {
			return nil
		}
		var e struct {
			CertChain [][]byte `json:"cert_chain"`
		}
		if json.Unmarshal(raw, &e) != nil || len(e.CertChain) == 0 {
			return nil
		}
		c, _ := x509.ParseCertificate(e.CertChain[0])
		return c
	}
	// Generous deadlines: they bound how long a failure takes to show, not
	// what passes, and a loaded machine with -race is slow.
	waitFor(t, 60*time.Second, "enrollment", func() bool { _, p := rm.snapshot(); return p.State == room.Enrolled && leaf() != nil })
	first := leaf()
	life := first.NotAfter.Sub(first.NotBefore)

	// Past 2/3 + 1/10 of its life (the latest the jitter allows): renewed
	// before it expires.
	offset.Store(int64(life*8/10 + time.Hour))
	waitFor(t, 60*time.Second, "renewal before expiry", func() bool { c := leaf(); return c != nil && c.NotAfter.After(first.NotAfter) })
	second := leaf()
	if now().After(first.NotAfter) {
		t.Fatal("the test moved past expiry; it meant to renew before")
	}

	// Expired a day ago, within the grace period: renewal still works,
	// proved by the same key.
	offset.Store(int64(time.Until(second.NotAfter) + 24*time.Hour))
	waitFor(t, 60*time.Second, "renewal within the grace period", func() bool { c := leaf(); return c != nil && c.NotAfter.After(second.NotAfter) })
	third := leaf()
	if provisioning.Fingerprint(third.PublicKey) != provisioning.Fingerprint(first.PublicKey) {
		t.Fatal("renewal changed the device key")
	}

	// Expired longer than the grace period: refused; the room keeps its
	// configuration and nothing changes on disk.
	// Waited on the server having refused two renewals since, rather than
	// on a sleep that a slow machine might end before any attempt.
	refused := fs.answered(provisioning.PathRenew, http.StatusUnauthorized)
	offset.Store(int64(time.Until(third.NotAfter) + RenewGrace + 24*time.Hour))
	waitFor(t, 60*time.Second, "two refused renewals", func() bool {
		return fs.answered(provisioning.PathRenew, http.StatusUnauthorized) >= refused+2
	})
	if c := leaf(); !c.NotAfter.Equal(third.NotAfter) {
		t.Fatalf("renewed past the grace period: %v", c.NotAfter)
	}
	if s, p := rm.snapshot(); s.Name != "Fjord" || p.ConfigVersion != 1 {
		t.Fatalf("room after refused renewal: %+v %+v", s, p)
	}
}
