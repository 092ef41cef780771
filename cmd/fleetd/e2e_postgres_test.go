package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/pgtest"
	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// startReplica runs a fleetd over HTTPS on the store at dsn with the signing
// keys in keyDir; two replicas with the same dsn and keyDir are one fleet.
func startReplica(t testing.TB, dsn, keyDir string) *testServer {
	t.Helper()
	st, err := openStore(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := loadOrCreateKeys(keyDir, "acme")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{Store: st, Keys: keys, Log: slog.New(slog.DiscardHandler)}
	tc, err := f.TLSConfig("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{f: f, addr: ln.Addr().String(), answers: map[answer]int{}}
	ts.srv = &http.Server{Handler: ts.count(f.Handler()), TLSConfig: tc}
	go ts.srv.Serve(tls.NewListener(ln, tc))
	t.Cleanup(func() { ts.srv.Close() })
	return ts
}

// answer is a request path and the status fleetd answered it with.
type answer struct {
	path   string
	status int
}

// count records every answer, so tests wait for what the server saw
// rather than for time to pass.
func (ts *testServer) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		ts.mu.Lock()
		ts.answers[answer{r.URL.Path, sw.status}]++
		ts.mu.Unlock()
	})
}

// answered returns how many times path was answered with status.
func (ts *testServer) answered(path string, status int) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.answers[answer{path, status}]
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// The enrollment flow of TestEndToEnd on PostgreSQL, with two fleetd
// replicas sharing the database as behind a load balancer: the device talks
// to one, the administrator to the other.
func TestEndToEndPostgresReplicas(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := pgtest.Start(t, nil).DSN
	keyDir := filepath.Join(dir, "keys")
	device := startReplica(t, dsn, keyDir)
	admin := startReplica(t, dsn, keyDir).f

	seedFleet(t, admin, "fjord", "Fjord", &provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord", TimeZone: "Europe/Oslo"}})
	code := issueCode(t, admin, "fjord", true)
	rm := &fakeRoom{settings: room.DefaultSettings()}
	poll := 300 * time.Millisecond
	opts := device.deviceOptions(filepath.Join(dir, "device"), rm)
	opts.ActivationCode, opts.StartDelay, opts.Poll = code, 50*time.Millisecond, poll
	opts.Health = func() provisioning.HealthReport { return provisioning.HealthReport{Software: "test"} }
	cl, _ := runClient(t, opts)

	// Pending until approved on the other replica.
	approveWhenPending(t, admin, rm, cl, code)
	waitFor(t, 40*time.Second, "enrollment config", func() bool {
		s, p := rm.snapshot()
		return s.Name == "Fjord" && p.State == room.Enrolled && p.ConfigVersion == 1
	})
	if _, err := admin.Store.UseCode(ctx, admin.Keys.HashCode(code), time.Now()); !errors.Is(err, errCodeUsed) {
		t.Errorf("code reusable: %v", err)
	}

	// A change made on one replica reaches the device through the other.
	if err := admin.SetConfig(ctx, "acme", "fjord", provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjell"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "changed config", func() bool {
		s, p := rm.snapshot()
		return s.Name == "Fjell" && p.ConfigVersion == 2
	})

	// The report sent to one replica is visible on the other.
	waitFor(t, 10*time.Second, "health report", func() bool {
		hs, err := admin.Store.Fleet(ctx, "acme")
		if err != nil || len(hs) != 1 || hs[0].Report == "" {
			return false
		}
		var r provisioning.HealthReport
		return json.Unmarshal([]byte(hs[0].Report), &r) == nil && r.ConfigVersion == 2 && r.Software == "test"
	})

	// Revoked: nothing new reaches the device and the room keeps version 2.
	hs, _ := admin.Store.Fleet(ctx, "acme")
	if err := admin.Revoke(ctx, hs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetConfig(ctx, "acme", "fjord", provisioning.Config{Room: provisioning.RoomConfig{Name: "Elsewhere"}}); err != nil {
		t.Fatal(err)
	}
	cl.Nudge()
	time.Sleep(3 * poll)
	if s, p := rm.snapshot(); s.Name != "Fjell" || p.ConfigVersion != 2 {
		t.Errorf("after revocation: %+v %+v", s, p)
	}
}
