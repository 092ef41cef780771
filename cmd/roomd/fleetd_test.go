package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/roomd/roomd/internal/testtool"
)

// testFleet is a real fleetd for roomd's end-to-end tests: organisation
// "acme" with room "r1" and a configuration, serving on loopback.
type testFleet struct {
	bin, db, keys string
	port          string // of the device API on localhost
	code          string // an activation code for r1
	log           testtool.LockedBuffer
	stop          func() // SIGTERM and wait; idempotent
}

// startTestFleet builds fleetd, sets up acme/r1 with the configuration
// configJSON in dir, issues a code and starts the server.
func startTestFleet(t *testing.T, dir, configJSON string) *testFleet {
	t.Helper()
	if testing.Short() { // make test-unit: building and running the real fleetd is left to make test
		t.Skip("builds and starts the real fleetd: -short (make test-unit) leaves it to make test, which CI runs")
	}
	f := &testFleet{bin: filepath.Join(dir, "fleetd"), db: filepath.Join(dir, "fleet.db"), keys: filepath.Join(dir, "keys")}
	if out, err := exec.Command("go", "build", "-o", f.bin, "../fleetd").CombinedOutput(); err != nil {
		t.Fatalf("building fleetd: %v\n%s", err, out)
	}
	f.admin(t, "init")
	f.admin(t, "org", "create", "acme", "Acme")
	f.admin(t, "room", "create", "acme", "r1", "Fjord")
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(configJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	f.admin(t, "config", "set", "acme", "r1", cfg)
	code := f.admin(t, "code", "issue", "acme", "r1")
	f.code = code[strings.LastIndex(code, "\n")+1:]

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command(f.bin, "-db", f.db, "-keys", f.keys, "-org", "acme", "serve", "-listen", addr, "-name", "localhost")
	srv.Stdout, srv.Stderr = &f.log, &f.log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	f.stop = func() { once.Do(func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }) }
	t.Cleanup(func() {
		f.stop()
		if t.Failed() {
			t.Logf("fleetd log:\n%s", f.log.String())
		}
	})
	f.port = addr[strings.LastIndex(addr, ":")+1:]
	waitHTTPS(t, "localhost:"+f.port)
	return f
}

// admin runs a fleetd administration command and returns its output.
func (f *testFleet) admin(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(f.bin, append([]string{"-db", f.db, "-keys", f.keys, "-org", "acme"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("fleetd %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// caFile is the fleet's CA certificate, for roomd's provisioning.ca_file.
func (f *testFleet) caFile() string { return filepath.Join(f.keys, "ca.crt") }
