package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
)

// Storm sizes: the issue's 2,000 devices; the outage and poll interval are
// scaled down from 30 s and minutes so the test fits in about a minute.
const (
	stormDevices = 2000
	stormPoll    = 5 * time.Second
	stormOutage  = 20 * time.Second
	stormSteady  = 2 * stormPoll
	stormAfter   = 12 * time.Second
)

// requestMeter counts served requests per second since start.
type requestMeter struct {
	start time.Time
	mu    sync.Mutex
	per   map[int]int
}

func (m *requestMeter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.per[int(time.Since(m.start)/time.Second)]++
		m.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// rate returns the mean and the peak requests per second over [from, to).
func (m *requestMeter) rate(from, to time.Time) (mean float64, peak int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, b := int(from.Sub(m.start)/time.Second), int(to.Sub(m.start)/time.Second)
	total := 0
	for s := a; s < b; s++ {
		total += m.per[s]
		peak = max(peak, m.per[s])
	}
	return float64(total) / float64(b-a), peak
}

// fastDir is a temporary directory on tmpfs when there is one: 2,000
// devices fsyncing their state would measure the disk, not the protocol.
func fastDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "fleetd-storm-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// Reconnect storm: 2,000 real provisioning clients (their own jitter,
// backoff and start delay) poll a fleetd that goes away and comes back on
// the same address; the peak request rate afterwards stays under 3× the
// steady rate.
func TestReconnectStorm(t *testing.T) {
	n := stormDevices
	switch {
	case testing.Short():
		n /= 10
		t.Logf("short mode: %d devices", n)
	case raceBuild:
		// The race detector slows every client several times over; a
		// quarter of the fleet still storms a 2-core machine.
		n /= 4
		t.Logf("race build: %d devices (the full 2,000 run without -race)", n)
	}
	ctx := context.Background()
	dir := fastDir(t)
	st, err := openStore(ctx, filepath.Join(dir, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := loadOrCreateKeys(filepath.Join(dir, "keys"), "acme")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{Store: st, Keys: keys, Log: slog.New(slog.DiscardHandler)}
	tc, err := f.TLSConfig("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	m := &requestMeter{start: time.Now(), per: map[int]int{}}
	handler := m.wrap(f.Handler())
	serve := func(addr string) *http.Server {
		t.Helper()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// Handshakes cut by the outage are expected; keep them out of the log.
		srv := &http.Server{Handler: handler, TLSConfig: tc, ErrorLog: log.New(io.Discard, "", 0)}
		go srv.Serve(tls.NewListener(ln, tc))
		return srv
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := serve(addr)
	defer func() { srv.Close() }()

	if err := f.Store.CreateOrg(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.CreateRoom(ctx, "acme", "hall", "Hall"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetConfig(ctx, "acme", "hall", provisioning.Config{Room: provisioning.RoomConfig{Name: "Hall"}}); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(keys.CACert)
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	began := time.Now()
	for i := range n {
		code, err := f.IssueCode(ctx, "acme", "hall", time.Hour, false)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := provisioning.NewClient(provisioning.ClientOptions{
			Server: "https://" + addr, Dir: filepath.Join(dir, fmt.Sprintf("dev%04d", i)), ActivationCode: code,
			RootCAs: pool, StartDelay: stormPoll, Poll: stormPoll,
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); cl.Run(cctx) }()
	}

	// Every device enrolled and reporting; asked once a second, since the
	// question itself loads the database the devices are enrolling in.
	for k := 0; k < n; time.Sleep(time.Second) {
		if time.Since(began) > 90*time.Second {
			t.Fatalf("only %d of %d devices reporting after %v", k, n, time.Since(began))
		}
		hs, err := f.Store.Fleet(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		k = 0
		for _, h := range hs {
			if h.Report != "" {
				k++
			}
		}
	}
	t.Logf("%d devices enrolled and reporting after %v", n, time.Since(began).Round(time.Millisecond))

	// Steady state over a whole number of poll intervals: every device is
	// past its start delay once it has reported.
	steadyFrom := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(steadyFrom.Add(stormSteady)))
	steady, steadyPeak := m.rate(steadyFrom, steadyFrom.Add(stormSteady))
	t.Logf("steady: %.0f requests/s (peak %d/s)", steady, steadyPeak)
	if steady < float64(n)/stormPoll.Seconds() {
		t.Fatalf("steady rate %.0f/s is below one poll per device per interval (%d/s)", steady, n/int(stormPoll.Seconds()))
	}

	// fleetd goes away and comes back on the same address.
	srv.Close()
	time.Sleep(stormOutage)
	back := time.Now().Truncate(time.Second)
	srv = serve(addr)
	time.Sleep(time.Until(back.Add(stormAfter + time.Second)))
	after, peak := m.rate(back, back.Add(stormAfter))
	var buckets []int
	m.mu.Lock()
	for s := int(back.Sub(m.start) / time.Second); s < int(back.Add(stormAfter).Sub(m.start)/time.Second); s++ {
		buckets = append(buckets, m.per[s])
	}
	m.mu.Unlock()
	t.Logf("after the %v outage: mean %.0f requests/s, peak %d/s (%.2f× steady); per second %v", stormOutage, after, peak, float64(peak)/steady, buckets)
	if float64(peak) >= 3*steady {
		t.Errorf("peak %d requests/s after fleetd returned is ≥ 3× the steady %.0f/s", peak, steady)
	}
	// And the fleet did come back: every device polled again.
	if after*stormAfter.Seconds() < float64(n) {
		t.Errorf("only %.0f requests in the %v after fleetd returned, for %d devices", after*stormAfter.Seconds(), stormAfter, n)
	}
}
