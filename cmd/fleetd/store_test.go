package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/pgtest"
)

// storeBackends are the databases fleetd supports; every store test runs
// against each. PostgreSQL is a real server from Debian's packages.
var storeBackends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "fleet.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Start(t, nil).DSN }},
}

// forEachStore runs f against a fresh store of every backend.
func forEachStore(t *testing.T, f func(t *testing.T, st Store)) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			st, err := openStore(context.Background(), b.dsn(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			f(t, st)
		})
	}
}

func TestStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		now := time.UnixMilli(1_800_000_000_000)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}

		// Orgs and rooms.
		must(st.CreateOrg(ctx, "acme", "Acme"))
		if err := st.CreateOrg(ctx, "acme", "Acme again"); !errors.Is(err, errExists) {
			t.Errorf("duplicate org: %v, want errExists", err)
		}
		must(st.CreateRoom(ctx, "acme", "fjord", "Fjord"))
		if err := st.CreateRoom(ctx, "acme", "fjord", "Fjord"); !errors.Is(err, errExists) {
			t.Errorf("duplicate room: %v, want errExists", err)
		}
		must(st.CreateRoom(ctx, "acme", "fjell", "Fjell"))
		if err := st.CreateRoom(ctx, "initech", "attic", "Attic"); !errors.Is(err, errNotFound) {
			t.Errorf("room in missing org: %v, want errNotFound", err)
		}

		// Codes: once only, not after expiry, not for a missing room.
		codes := []struct {
			hash     string
			expires  time.Time
			approval bool
			useAt    time.Time
			wantErr  error
		}{
			{"fresh", now.Add(time.Hour), false, now, nil},
			{"approval", now.Add(time.Hour), true, now, nil},
			{"expired", now.Add(-time.Second), false, now, errCodeUsed},
			{"at-expiry", now, false, now, errCodeUsed},
		}
		for _, c := range codes {
			must(st.CreateCode(ctx, Code{Hash: c.hash, OrgID: "acme", RoomID: "fjord", ExpiresAt: c.expires, NeedsApproval: c.approval}))
		}
		if err := st.CreateCode(ctx, Code{Hash: "nowhere", OrgID: "acme", RoomID: "attic", ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, errNotFound) {
			t.Errorf("code for missing room: %v, want errNotFound", err)
		}
		for _, c := range codes {
			got, err := st.UseCode(ctx, c.hash, c.useAt)
			if !errors.Is(err, c.wantErr) {
				t.Errorf("UseCode(%s) = %v, want %v", c.hash, err, c.wantErr)
				continue
			}
			if c.wantErr != nil {
				continue
			}
			want := Code{Hash: c.hash, OrgID: "acme", RoomID: "fjord", ExpiresAt: c.expires, NeedsApproval: c.approval}
			if !got.ExpiresAt.Equal(want.ExpiresAt) || got.OrgID != want.OrgID || got.RoomID != want.RoomID || got.NeedsApproval != want.NeedsApproval {
				t.Errorf("UseCode(%s) = %+v, want %+v", c.hash, got, want)
			}
			if _, err := st.UseCode(ctx, c.hash, c.useAt); !errors.Is(err, errCodeUsed) {
				t.Errorf("second UseCode(%s) = %v, want errCodeUsed", c.hash, err)
			}
		}
		if _, err := st.UseCode(ctx, "unknown", now); !errors.Is(err, errCodeUsed) {
			t.Errorf("unknown code: %v, want errCodeUsed", err)
		}

		// Devices: pending, approve, revoke.
		dev := Device{ID: "d1", OrgID: "acme", RoomID: "fjord", Fingerprint: "fp1", State: statePending, Serial: "S1", CreatedAt: now}
		must(st.CreateDevice(ctx, dev))
		if err := st.CreateDevice(ctx, Device{ID: "d9", OrgID: "acme", RoomID: "fjord", Fingerprint: "fp1", State: statePending, CreatedAt: now}); !errors.Is(err, errExists) {
			t.Errorf("same key twice: %v, want errExists", err)
		}
		must(st.CreateDevice(ctx, Device{ID: "d2", OrgID: "acme", RoomID: "fjord", Fingerprint: "fp2", State: stateActive, Serial: "S2", CreatedAt: now}))
		got, err := st.Device(ctx, "d1")
		must(err)
		if got.CreatedAt.Equal(dev.CreatedAt) {
			got.CreatedAt = dev.CreatedAt
		}
		if got != dev {
			t.Errorf("Device(d1) = %+v, want %+v", got, dev)
		}
		if _, err := st.Device(ctx, "nobody"); !errors.Is(err, errNotFound) {
			t.Errorf("missing device: %v, want errNotFound", err)
		}
		if _, err := st.DeviceByFingerprint(ctx, "fp-none"); !errors.Is(err, errNotFound) {
			t.Errorf("missing fingerprint: %v, want errNotFound", err)
		}
		for _, state := range []string{stateActive, stateRevoked} {
			must(st.SetDeviceState(ctx, "d1", state))
			d, err := st.DeviceByFingerprint(ctx, "fp1")
			must(err)
			if d.State != state {
				t.Errorf("after SetDeviceState(%s): state %s", state, d.State)
			}
		}
		if err := st.SetDeviceState(ctx, "nobody", stateActive); !errors.Is(err, errNotFound) {
			t.Errorf("state of missing device: %v, want errNotFound", err)
		}
		ds, err := st.RoomDevices(ctx, "acme", "fjord")
		must(err)
		if len(ds) != 2 || ds[0].ID != "d1" || ds[1].ID != "d2" {
			t.Errorf("RoomDevices = %+v, want d1, d2", ds)
		}
		if ds, _ := st.RoomDevices(ctx, "acme", "fjell"); len(ds) != 0 {
			t.Errorf("RoomDevices(fjell) = %+v, want none", ds)
		}

		// Room configuration.
		if c, err := st.RoomConfig(ctx, "acme", "fjord"); err != nil || c != "" {
			t.Errorf("fresh RoomConfig = %q, %v", c, err)
		}
		must(st.SetRoomConfig(ctx, "acme", "fjord", `{"room":{"name":"Fjord"}}`))
		if c, _ := st.RoomConfig(ctx, "acme", "fjord"); c != `{"room":{"name":"Fjord"}}` {
			t.Errorf("RoomConfig = %q", c)
		}
		if err := st.SetRoomConfig(ctx, "acme", "attic", "{}"); !errors.Is(err, errNotFound) {
			t.Errorf("config of missing room: %v, want errNotFound", err)
		}
		if _, err := st.RoomConfig(ctx, "acme", "attic"); !errors.Is(err, errNotFound) {
			t.Errorf("RoomConfig of missing room: %v, want errNotFound", err)
		}

		// Bundle versions are per device, start at 1 and never repeat.
		if _, _, err := st.Bundle(ctx, "d2"); !errors.Is(err, errNotFound) {
			t.Errorf("Bundle before any: %v, want errNotFound", err)
		}
		for want := int64(1); want <= 3; want++ {
			v, err := st.NextBundleVersion(ctx, "d2")
			must(err)
			if v != want {
				t.Errorf("NextBundleVersion = %d, want %d", v, want)
			}
			must(st.PutBundle(ctx, "d2", v, []byte{0, byte(v), 0xff}))
		}
		if v, _ := st.NextBundleVersion(ctx, "d1"); v != 1 {
			t.Errorf("d1's first version = %d, want 1", v)
		}
		if _, err := st.NextBundleVersion(ctx, "nobody"); !errors.Is(err, errNotFound) {
			t.Errorf("version for missing device: %v, want errNotFound", err)
		}
		v, raw, err := st.Bundle(ctx, "d2")
		must(err)
		if v != 3 || string(raw) != string([]byte{0, 3, 0xff}) {
			t.Errorf("Bundle = %d %x, want 3 0003ff", v, raw)
		}
		if err := st.PutBundle(ctx, "d2", 3, []byte("again")); err == nil {
			t.Error("PutBundle of an existing version succeeded")
		}

		// Reports: the latest one wins; Fleet shows every device.
		must(st.AddReport(ctx, "d2", now, `{"n":1}`))
		must(st.AddReport(ctx, "d2", now.Add(time.Minute), `{"n":2}`))
		hs, err := st.Fleet(ctx, "acme")
		must(err)
		if len(hs) != 2 {
			t.Fatalf("Fleet = %+v, want 2 devices", hs)
		}
		byID := map[string]Health{}
		for _, h := range hs {
			byID[h.ID] = h
		}
		if h := byID["d2"]; h.Report != `{"n":2}` || !h.ReportAt.Equal(now.Add(time.Minute)) || h.ConfigVersion != 3 || h.State != stateActive {
			t.Errorf("Fleet d2 = %+v", h)
		}
		if h := byID["d1"]; h.Report != "" || !h.ReportAt.IsZero() || h.ConfigVersion != 0 || h.State != stateRevoked {
			t.Errorf("Fleet d1 = %+v", h)
		}
		if hs, _ := st.Fleet(ctx, "other"); len(hs) != 0 {
			t.Errorf("Fleet(other) = %+v, want none", hs)
		}
	})
}

// Concurrent redemption of one code succeeds exactly once on every backend:
// with several fleetd replicas on PostgreSQL this is the race that matters.
func TestStoreCodeRedeemedOnceUnderConcurrency(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		now := time.Now()
		if err := st.CreateOrg(ctx, "acme", "Acme"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateRoom(ctx, "acme", "fjord", "Fjord"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateCode(ctx, Code{Hash: "race", OrgID: "acme", RoomID: "fjord", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		const n = 16
		errs := make(chan error, n)
		for range n {
			go func() { _, err := st.UseCode(ctx, "race", now); errs <- err }()
		}
		ok := 0
		for range n {
			switch err := <-errs; {
			case err == nil:
				ok++
			case !errors.Is(err, errCodeUsed):
				t.Errorf("UseCode: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("code redeemed %d times, want once", ok)
		}
	})
}
