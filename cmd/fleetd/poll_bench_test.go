package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/pgtest"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// BenchmarkConfigPoll measures fleetd's GET /v1/config handler for one
// enrolled device, on one goroutine (so one core), against SQLite and
// PostgreSQL: the 304 path (nothing new, the steady state of a fleet) and
// the 200 path (a new bundle). TLS handshakes are left out; devices keep
// their connections. polls/s is what one core serves.
//
//	go test -run '^$' -bench ConfigPoll -benchtime 3s ./cmd/fleetd
func BenchmarkConfigPoll(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			dir := b.TempDir()
			dsn := filepath.Join(dir, "fleet.db")
			if backend == "postgres" {
				dsn = pgtest.Start(b, nil).DSN
			}
			f, leaf := enrolledDevice(b, dsn, dir)
			h := f.Handler()
			poll := func(etag string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, provisioning.PathConfig, nil)
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
				if etag != "" {
					r.Header.Set("If-None-Match", etag)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			first := poll("")
			if first.Code != http.StatusOK {
				b.Fatalf("first poll: %d %s", first.Code, first.Body)
			}
			tag := first.Header().Get("ETag")
			for _, path := range []struct {
				name, etag string
				code       int
			}{{"304", tag, http.StatusNotModified}, {"200", "", http.StatusOK}} {
				b.Run(path.name, func(b *testing.B) {
					for b.Loop() {
						if w := poll(path.etag); w.Code != path.code {
							b.Fatalf("poll: %d, want %d", w.Code, path.code)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
				})
			}
		})
	}
}

// enrolledDevice runs fleetd on dsn and enrolls one real provisioning
// client against it over HTTPS; it returns the fleet and the device's
// certificate.
func enrolledDevice(b *testing.B, dsn, dir string) (*Fleet, *x509.Certificate) {
	fs := startReplica(b, dsn, filepath.Join(dir, "keys"))
	f := fs.f
	seedFleet(b, f, "fjord", "Fjord", &provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord"}})
	rm := &fakeRoom{settings: room.DefaultSettings()}
	devDir := filepath.Join(dir, "device")
	opts := fs.deviceOptions(devDir, rm)
	opts.ActivationCode, opts.Poll = issueCode(b, f, "fjord", false), time.Hour
	// Stopped once enrolled: the benchmark measures the handler alone.
	_, stop := runClient(b, opts)
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, p := rm.snapshot(); p.State == room.Enrolled {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the device did not enroll")
		}
	}
	raw, err := os.ReadFile(filepath.Join(devDir, "enrollment.json"))
	if err != nil {
		b.Fatal(err)
	}
	var e struct {
		CertChain [][]byte `json:"cert_chain"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || len(e.CertChain) == 0 {
		b.Fatalf("enrollment.json: %v", err)
	}
	leaf, err := x509.ParseCertificate(e.CertChain[0])
	if err != nil {
		b.Fatal(err)
	}
	return f, leaf
}
