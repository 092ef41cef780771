package provisioning

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/statefile"
)

// Tests for issue 12 rows 2, 5, 9 and 13: a damaged provisioning store, a
// lost key and a revoked device are reported states, never an exit, a
// silent new identity or "fleet unreachable".

// fakeRoom records what the client reports.
type fakeRoom struct {
	mu   sync.Mutex
	last Status
	seen chan Status
}

func newFakeRoom() *fakeRoom { return &fakeRoom{seen: make(chan Status, 64)} }

func (r *fakeRoom) ApplySettings(context.Context, int64, *Config) error { return nil }

func (r *fakeRoom) ReportStatus(p Status) {
	r.mu.Lock()
	r.last = p
	r.mu.Unlock()
	select {
	case r.seen <- p:
	default:
	}
}

// waitState waits for the client to report state.
func (r *fakeRoom) waitState(t *testing.T, state Phase) Status {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case p := <-r.seen:
			if p.State == state {
				return p
			}
		case <-timeout:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no %v reported; last %+v", state, r.last)
		}
	}
}

// testPKI is a fleet CA with a server certificate for 127.0.0.1.
type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	server tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test fleet CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{ca: ca, caKey: caKey}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	sder, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.server = tls.Certificate{Certificate: [][]byte{sder, ca.Raw}, PrivateKey: srvKey}
	return p
}

// device issues a device certificate for key, as fleetd does.
func (p *testPKI) device(t *testing.T, key crypto.Signer, id string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: id},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// enrolledDir writes the state of a device enrolled in f's organisation as
// f.dev: key, enrollment (with the enrollment root), root and bundle v5.
func enrolledDir(t *testing.T, f *testFleet, pki *testPKI) (dir string, key crypto.Signer) {
	t.Helper()
	dir = t.TempDir()
	key, err := LoadOrCreateKey(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	e := enrollment{DeviceID: f.dev, OrgID: f.org, CertChain: [][]byte{pki.device(t, key, f.dev)}, CA: pki.ca.Raw, TrustRoot: f.rootRaw}
	if err := statefile.SaveJSON(filepath.Join(dir, enrollmentFile), e, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := NewStore(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveRoot(f.rootRaw); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Apply(f.bundle(5, "Fjord"), f.org, f.dev); err != nil {
		t.Fatal(err)
	}
	return dir, key
}

// bootClient makes a client on dir and boots it, returning the client, the
// room it reports to and the room name of the configuration it applied.
func bootClient(t *testing.T, dir string, log *bytes.Buffer) (*Client, *fakeRoom, string) {
	t.Helper()
	rm := newFakeRoom()
	var applied string
	o := ClientOptions{Server: "https://127.0.0.1:1", Dir: dir, Room: rm,
		Apply: func(_ context.Context, c Config) error { applied = c.Room.Name; return nil }}
	if log != nil {
		o.Log = slog.New(slog.NewTextHandler(log, nil))
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.boot(context.Background())
	return c, rm, applied
}

func corruptAside(t *testing.T, path string) []string {
	t.Helper()
	m, _ := filepath.Glob(path + ".corrupt-*")
	return m
}

// Row 2: an empty, truncated, garbage or wrong-type enrollment.json leaves
// the room running on its last configuration, with provisioning Failed and
// the file set aside.
func TestDamagedEnrollmentIsAReportedFailure(t *testing.T) {
	f := newTestFleet(t)
	pki := newTestPKI(t)
	for name, damage := range map[string]func(path string) error{
		"empty":     func(p string) error { return os.WriteFile(p, nil, 0o600) },
		"garbage":   func(p string) error { return os.WriteFile(p, []byte("\x00\xffnot json"), 0o600) },
		"truncated": func(p string) error { b, _ := os.ReadFile(p); return os.WriteFile(p, b[:len(b)/2], 0o600) },
		"null":      func(p string) error { return os.WriteFile(p, []byte("null"), 0o600) },
		"bad CA": func(p string) error {
			return os.WriteFile(p, []byte(`{"device_id":"dev1","org_id":"org1","cert_chain":["AAAA"],"ca":"AAAA"}`), 0o600)
		},
		"directory": func(p string) error { os.Remove(p); return os.Mkdir(p, 0o700) },
	} {
		t.Run(name, func(t *testing.T) {
			dir, key := enrolledDir(t, f, pki)
			path := filepath.Join(dir, enrollmentFile)
			if err := damage(path); err != nil {
				t.Fatal(err)
			}
			c, rm, applied := bootClient(t, dir, nil)
			p := rm.last
			if p.State != Failed || p.Since.IsZero() || !strings.Contains(p.Detail, "enrollment.json") {
				t.Fatalf("state %+v, want Failed naming enrollment.json", p)
			}
			if applied != "Fjord" || p.ConfigVersion != 5 {
				t.Errorf("configuration in force %q v%d, want the last good one (Fjord v5)", applied, p.ConfigVersion)
			}
			if m := corruptAside(t, path); len(m) != 1 {
				t.Errorf("enrollment.json set aside as %v", m)
			}
			// The key is the identity the fleet knows: it stays.
			if k, err := LoadKey(filepath.Join(dir, keyFile)); err != nil || Fingerprint(k.Public()) != Fingerprint(key.Public()) {
				t.Errorf("device key changed: %v", err)
			}
			if c.canPoll() {
				t.Error("the client would poll without an enrollment")
			}
		})
	}
}

// A deleted enrollment.json on a device that was enrolled (its trust root
// is stored) is reported too, and the fleet is asked for it again with the
// same key, without a code.
func TestMissingEnrollmentIsRecoveredWithTheSameKey(t *testing.T) {
	f := newTestFleet(t)
	pki := newTestPKI(t)
	dir, key := enrolledDir(t, f, pki)
	os.Remove(filepath.Join(dir, enrollmentFile))
	c, rm, applied := bootClient(t, dir, nil)
	if p := rm.last; p.State != Failed || !strings.Contains(p.Detail, "enrollment.json is missing") {
		t.Fatalf("state %+v", p)
	}
	if applied != "Fjord" {
		t.Errorf("configuration in force %q, want the last good one", applied)
	}
	var gotFP, gotCode = "", "unset"
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathEnroll {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var req EnrollRequest
		json.NewDecoder(r.Body).Decode(&req)
		csr, _ := x509.ParseCertificateRequest(req.CSR)
		gotFP, gotCode = Fingerprint(csr.PublicKey), req.ActivationCode
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(EnrollResponse{DeviceID: f.dev, OrgID: f.org, CertChain: [][]byte{pki.device(t, key, f.dev)}, CA: pki.ca.Raw, TrustRoot: f.rootRaw})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}}
	srv.StartTLS()
	defer srv.Close()
	c.o.Server, c.o.StartDelay = srv.URL, time.Millisecond
	c.o.RootCAs = x509.NewCertPool()
	c.o.RootCAs.AddCert(pki.ca)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	p := rm.waitState(t, Enrolled)
	if gotFP != Fingerprint(key.Public()) || gotCode != "" {
		t.Errorf("enrolled with key %s code %q, want the same key and no code", gotFP, gotCode)
	}
	if p.ConfigVersion != 5 || p.Detail != "" {
		t.Errorf("after recovery: %+v", p)
	}
}

// Row 2: a garbage, empty or wrong-type device.key is set aside and
// reported; no new key is made behind the administrator's back.
func TestDamagedKeyIsAReportedFailure(t *testing.T) {
	f := newTestFleet(t)
	pki := newTestPKI(t)
	rsaPEM := "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n"
	for name, damage := range map[string]func(path string) error{
		"empty":     func(p string) error { return os.WriteFile(p, nil, 0o600) },
		"garbage":   func(p string) error { return os.WriteFile(p, []byte("garbage"), 0o600) },
		"truncated": func(p string) error { b, _ := os.ReadFile(p); return os.WriteFile(p, b[:len(b)-40], 0o600) },
		"wrong key": func(p string) error { return os.WriteFile(p, []byte(rsaPEM), 0o600) },
		"directory": func(p string) error { os.Remove(p); return os.Mkdir(p, 0o700) },
	} {
		t.Run(name, func(t *testing.T) {
			dir, _ := enrolledDir(t, f, pki)
			path := filepath.Join(dir, keyFile)
			if err := damage(path); err != nil {
				t.Fatal(err)
			}
			c, rm, applied := bootClient(t, dir, nil)
			p := rm.last
			if p.State != Failed || !strings.Contains(p.Detail, "device key") || !strings.Contains(p.Detail, "enroll again") {
				t.Fatalf("state %+v, want Failed naming the key and re-enrollment", p)
			}
			if applied != "Fjord" {
				t.Errorf("configuration in force %q, want the last good one", applied)
			}
			if m := corruptAside(t, path); len(m) != 1 {
				t.Errorf("device.key set aside as %v", m)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("a new device key was made without an administrator")
			}
			if c.canPoll() || c.Fingerprint() != "" {
				t.Error("the client kept a damaged identity")
			}
		})
	}
	// A key readable by others is refused in place (chmod fixes it).
	dir, _ := enrolledDir(t, f, pki)
	os.Chmod(filepath.Join(dir, keyFile), 0o644)
	_, rm, _ := bootClient(t, dir, nil)
	if p := rm.last; p.State != Failed || !strings.Contains(p.Detail, "chmod 600") {
		t.Fatalf("exposed key: %+v", p)
	}
}

// Row 9: a deleted device.key with an enrollment on disk is a failure that
// says to enroll again, never a silent new identity; a typed activation
// code then enrolls with a new key, keeping the old enrollment aside.
func TestMissingKeyWithEnrollmentNeedsReenrollment(t *testing.T) {
	f := newTestFleet(t)
	pki := newTestPKI(t)
	dir, oldKey := enrolledDir(t, f, pki)
	if err := os.Remove(filepath.Join(dir, keyFile)); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	c, rm, applied := bootClient(t, dir, &log)
	p := rm.last
	if p.State != Failed || !strings.Contains(p.Detail, "missing") || !strings.Contains(p.Detail, "enroll again") {
		t.Fatalf("state %+v, want Failed: key missing, enroll again", p)
	}
	if applied != "Fjord" {
		t.Errorf("configuration in force %q, want the last good one", applied)
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err == nil {
		t.Fatal("a new device key was made silently")
	}
	if !strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("the failure was not logged as an error:\n%s", log.String())
	}

	// The administrator types a code: the fleet sees a new key.
	var gotFP string
	enrolled := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathEnroll {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var req EnrollRequest
		json.NewDecoder(r.Body).Decode(&req)
		csr, err := x509.ParseCertificateRequest(req.CSR)
		if err != nil || req.ActivationCode != "1111-2222-3333-4444" {
			http.Error(w, "fleetd: activation code unknown, used or expired", http.StatusForbidden)
			return
		}
		gotFP = Fingerprint(csr.PublicKey)
		cert, _ := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "dev2"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, pki.ca, csr.PublicKey, pki.caKey)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(EnrollResponse{DeviceID: "dev2", OrgID: f.org, CertChain: [][]byte{cert}, CA: pki.ca.Raw, TrustRoot: f.rootRaw})
		select {
		case enrolled <- struct{}{}:
		default:
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()
	c.o.Server = srv.URL
	c.o.RootCAs = x509.NewCertPool()
	c.o.RootCAs.AddCert(pki.ca)
	c.o.StartDelay = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c.Enroll("1111-2222-3333-4444")
	select {
	case <-enrolled:
	case <-time.After(10 * time.Second):
		t.Fatal("no enrollment with the typed code")
	}
	rm.waitState(t, Enrolled)
	if gotFP == "" || gotFP == Fingerprint(oldKey.Public()) {
		t.Errorf("enrolled with key %q, want a new one", gotFP)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, enrollmentFile+".replaced-*")); len(m) != 1 {
		t.Errorf("old enrollment kept as %v", m)
	}
}

// Row 5: a garbage root.current falls back to root.previous, else to the
// root the device enrolled with; with neither, the store says exactly that,
// and re-seeding a root (roomd reseed-root) makes bundles verify again.
func TestDamagedRootFallsBack(t *testing.T) {
	f := newTestFleet(t)
	garbage := []byte(`{"payloadType":"application/vnd.roomd.root+json","payload":"!!","signatures":[]}`)

	t.Run("enrollment root", func(t *testing.T) {
		s := enrolledStore(t, f)
		s.SetEnrollmentRoot(f.org, f.rootRaw)
		os.WriteFile(filepath.Join(s.Dir, rootFile), garbage, 0o600)
		if _, changed, err := s.Apply(f.bundle(6, "Fjell"), f.org, f.dev); err != nil || !changed {
			t.Fatalf("bundle after a damaged root: changed=%v err=%v", changed, err)
		}
		if m := corruptAside(t, filepath.Join(s.Dir, rootFile)); len(m) != 1 {
			t.Errorf("root.current set aside as %v", m)
		}
		if n := s.TakeNotes(); len(n) != 2 {
			t.Errorf("notes %v, want set aside + restored", n)
		}
	})

	t.Run("previous root", func(t *testing.T) {
		s := enrolledStore(t, f)
		g := *f
		rotated := g.rotate()
		if _, err := s.SaveRoot(rotated); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(s.Dir, rootFile), []byte("{"), 0o600)
		cur, _, err := s.Roots()
		if err != nil || cur == nil || cur.Version != 1 {
			t.Fatalf("fallback root %+v, %v; want root 1 from root.previous", cur, err)
		}
		// Root 2 follows by rotation, as fetchRoots does.
		if _, err := s.SaveRoot(rotated); err != nil {
			t.Fatalf("rotation after the fallback: %v", err)
		}
		if _, _, err := s.Apply(g.bundle(6, "Fjell"), f.org, f.dev); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("none verifies", func(t *testing.T) {
		dir := t.TempDir()
		s, err := NewStore(filepath.Join(dir, "config"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveRoot(f.rootRaw); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Apply(f.bundle(5, "Fjord"), f.org, f.dev); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(s.Dir, rootFile), garbage, 0o600)
		s.SetEnrollmentRoot(f.org, nil) // an enrollment from before roots were kept in it
		if _, _, err := s.Apply(f.bundle(6, "Fjell"), f.org, f.dev); err == nil {
			t.Fatal("a bundle was accepted with no trust root")
		}
		trouble, since := s.Trouble()
		if !strings.Contains(trouble, "no trust root verifies") || !strings.Contains(trouble, "roomd reseed-root") || since.IsZero() {
			t.Fatalf("trouble %q since %v", trouble, since)
		}
		if _, err := ReseedRoot(dir, []byte("{")); err == nil {
			t.Error("a garbage root was re-seeded")
		}
		if _, err := ReseedRoot(dir, f.rootRaw); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Apply(f.bundle(6, "Fjell"), f.org, f.dev); err != nil {
			t.Fatalf("after re-seeding: %v", err)
		}
		if trouble, _ := s.Trouble(); trouble != "" {
			t.Errorf("trouble after re-seeding: %q", trouble)
		}
	})
}

// Row 5 at the client: with no root that verifies, status says Failed and
// why, and the health report carries it.
func TestNoTrustRootIsReported(t *testing.T) {
	f := newTestFleet(t)
	pki := newTestPKI(t)
	dir, _ := enrolledDir(t, f, pki)
	// An enrollment from before roots were kept in it, and both stored
	// roots damaged.
	var e enrollment
	statefile.LoadJSON(filepath.Join(dir, enrollmentFile), &e)
	e.TrustRoot = nil
	statefile.SaveJSON(filepath.Join(dir, enrollmentFile), e, 0o600)
	os.WriteFile(filepath.Join(dir, "config", rootFile), []byte("garbage"), 0o600)
	c, rm, _ := bootClient(t, dir, nil)
	p := rm.last
	if p.State != Failed || !strings.Contains(p.Detail, "no trust root verifies") || p.Since.IsZero() {
		t.Fatalf("state %+v", p)
	}
	c.queueReport()
	names := queued(c.queueDir())
	if len(names) != 1 {
		t.Fatalf("queued %v", names)
	}
	var r HealthReport
	if _, err := statefile.LoadJSON(filepath.Join(c.queueDir(), names[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Provisioning == nil || r.Provisioning.State != "Failed" || !strings.Contains(r.Provisioning.Detail, "no trust root verifies") {
		t.Fatalf("health report provisioning %+v", r.Provisioning)
	}
}

// Row 13: fleetd answers a revoked device's poll 403 "fleetd: device
// revoked". The device shows Revoked with the time, keeps it across a
// restart, and does not call the fleet unreachable.
func TestRevokedDeviceIsReported(t *testing.T) {
	f := newTestFleet(t)
	pki := newTestPKI(t)
	dir, _ := enrolledDir(t, f, pki)
	var mu sync.Mutex
	revoked := false
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "fleetd: client certificate required", http.StatusUnauthorized)
			return
		}
		if revoked {
			http.Error(w, "fleetd: device revoked", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNotModified)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS13}
	srv.StartTLS()
	defer srv.Close()

	var log bytes.Buffer
	var logMu sync.Mutex
	rm := newFakeRoom()
	now := time.Date(2026, 12, 7, 4, 40, 0, 0, time.UTC)
	c, err := NewClient(ClientOptions{Server: srv.URL, Dir: dir, Room: rm, StartDelay: time.Millisecond, Poll: time.Hour,
		Log: slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &logMu}, nil)), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	rm.waitState(t, Enrolled)
	mu.Lock()
	revoked = true
	mu.Unlock()
	c.Nudge()
	p := rm.waitState(t, Revoked)
	cancel()
	<-done
	if !p.Since.Equal(now) || !strings.Contains(p.Detail, "revoked") || !strings.Contains(p.Detail, "2026-12-07T04:40:00Z") {
		t.Errorf("revoked state %+v", p)
	}
	if p.ConfigVersion != 5 {
		t.Errorf("configuration in force v%d, want the last good one (5)", p.ConfigVersion)
	}
	logMu.Lock()
	if strings.Contains(log.String(), "fleet unreachable") {
		t.Errorf("a revocation was logged as an unreachable fleet:\n%s", log.String())
	}
	logMu.Unlock()
	// After a restart it says so before the first poll.
	_, rm2, _ := bootClient(t, dir, nil)
	if rm2.last.State != Revoked || !rm2.last.Since.Equal(now) {
		t.Errorf("after a restart: %+v", rm2.last)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
