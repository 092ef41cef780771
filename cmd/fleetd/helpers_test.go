package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/provisioning/roomport"
	"github.com/roomd/roomd/room"
)

// Helpers shared by fleetd's end-to-end tests: a fleet seeded with the
// organisation acme and its rooms, and real provisioning clients run
// against it.

// seedFleet creates the organisation acme in f with one room, as addRoom.
func seedFleet(t testing.TB, f *Fleet, roomID, name string, cfg *provisioning.Config) {
	t.Helper()
	if err := f.Store.CreateOrg(context.Background(), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	addRoom(t, f, roomID, name, cfg)
}

// addRoom creates the room roomID in acme and, given a configuration, sets
// it as the room's first version.
func addRoom(t testing.TB, f *Fleet, roomID, name string, cfg *provisioning.Config) {
	t.Helper()
	ctx := context.Background()
	if err := f.Store.CreateRoom(ctx, "acme", roomID, name); err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		return
	}
	if err := f.SetConfig(ctx, "acme", roomID, *cfg); err != nil {
		t.Fatal(err)
	}
}

// issueCode issues an activation code for roomID in acme, valid for an
// hour.
func issueCode(t testing.TB, f *Fleet, roomID string, requireApproval bool) string {
	t.Helper()
	code, err := f.IssueCode(context.Background(), "acme", roomID, time.Hour, requireApproval)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// caPool trusts f's CA, as a device does.
func caPool(f *Fleet) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(f.Keys.CACert)
	return pool
}

// deviceOptions are the options of a device of ts that keeps its state in
// dir and reports to rm: fleetd's CA trusted, quick to start and to poll.
// Callers add how it enrolls.
func (ts *testServer) deviceOptions(dir string, rm *fakeRoom) provisioning.ClientOptions {
	return provisioning.ClientOptions{Server: "https://" + ts.addr, Dir: dir, RootCAs: caPool(ts.f), Room: roomport.New(rm),
		StartDelay: time.Millisecond, Poll: 100 * time.Millisecond}
}

// runClient runs a provisioning client with opts until stop, which the
// test's cleanup also calls; stop waits for the client to return.
func runClient(t testing.TB, opts provisioning.ClientOptions) (cl *provisioning.Client, stop func()) {
	t.Helper()
	cl, err := provisioning.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cl.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return cl, stop
}

// approveWhenPending waits for the device cl, reporting to rm, to wait for
// approval under its key, approves the key on f and has the device enroll
// with code again.
func approveWhenPending(t *testing.T, f *Fleet, rm *fakeRoom, cl *provisioning.Client, code string) {
	t.Helper()
	waitFor(t, 10*time.Second, "pending", func() bool {
		_, p := rm.snapshot()
		return p.State == room.Pending && p.Detail == "key "+cl.Fingerprint()
	})
	if err := f.Approve(context.Background(), cl.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	cl.Nudge()
	cl.Enroll(code)
}

// wantNoReapply waits for three polls of acme's only device, each of which
// leaves a new health report in fleetd, and fails if al applied anything in
// the meantime or what it last applied does not cap the frame rate at fps:
// the refused version was not fetched and applied again.
func wantNoReapply(t *testing.T, f *Fleet, al *applyLog, fps int) {
	t.Helper()
	_, n := al.last()
	after, polls := time.Now(), map[time.Time]bool{}
	waitFor(t, 30*time.Second, "three polls after the rollback", func() bool {
		if hs, err := f.Store.Fleet(context.Background(), "acme"); err == nil && len(hs) == 1 && hs[0].Report != "" {
			var r provisioning.HealthReport
			if json.Unmarshal([]byte(hs[0].Report), &r) == nil && r.At.After(after) {
				polls[r.At] = true
			}
		}
		return len(polls) >= 3
	})
	if c, m := al.last(); m != n || c.Media.MaxFPS != fps {
		t.Errorf("the refused version was applied again: %d more applies, last %+v", m-n, c)
	}
}
