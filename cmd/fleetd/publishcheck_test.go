package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
)

// fleetd publishes a configuration only to rooms whose reported software
// applies its bundle schema, and names the ones that cannot; it refuses
// the keys schema 2 removed whatever the rooms run.
func TestPublishChecksTheRoomsSoftware(t *testing.T) {
	ctx := context.Background()
	f := startFleet(t, t.TempDir()).f
	if err := f.Store.CreateOrg(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	addRoom(t, f, "fjord", "Fjord", nil)
	now := time.Now()
	report := func(id string, rep provisioning.HealthReport) {
		t.Helper()
		b, _ := json.Marshal(rep)
		if err := f.Store.AddReport(ctx, id, now, string(b)); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range []string{"dev-old", "dev-new", "dev-quiet", "dev-gone"} {
		state := stateActive
		if id == "dev-gone" {
			state = stateRevoked
		}
		if err := f.Store.CreateDevice(ctx, Device{ID: id, OrgID: "acme", RoomID: "fjord", Fingerprint: "FP" + string(rune('A'+i)), State: state, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	report("dev-old", provisioning.HealthReport{Software: "v1.4.0"}) // before schemas: applies 1
	report("dev-new", provisioning.HealthReport{Software: "v1.6.0", Schemas: []int{1, 2}})
	report("dev-gone", provisioning.HealthReport{Software: "v1.0.0"})

	// Schema 1: every room takes it.
	if err := f.SetConfig(ctx, "acme", "fjord", provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord"}}); err != nil {
		t.Fatalf("schema-1 configuration: %v", err)
	}
	// ssh.users needs schema 2: the old room is named, the revoked and the
	// silent ones are not.
	ssh := provisioning.Config{SSH: &provisioning.SSHConfig{Users: []provisioning.SSHUser{{Name: "crestron", AuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl crestron"}}}}}
	err := f.SetConfig(ctx, "acme", "fjord", ssh)
	if !errors.Is(err, errCannotApply) || !strings.Contains(err.Error(), `dev-old (software "v1.4.0", applies schema 1)`) ||
		strings.Contains(err.Error(), "dev-new") || strings.Contains(err.Error(), "dev-gone") || strings.Contains(err.Error(), "dev-quiet") {
		t.Fatalf("schema 2 to an old room: %v", err)
	}
	if cfg, _ := f.Store.RoomConfig(ctx, "acme", "fjord"); strings.Contains(cfg, "crestron") {
		t.Error("the refused configuration was stored")
	}
	rec := httptest.NewRecorder()
	adminStatus(rec, err)
	if rec.Code != http.StatusConflict {
		t.Errorf("admin API answers %d, want 409", rec.Code)
	}
	// Once the room reports new software, it goes through.
	report("dev-old", provisioning.HealthReport{Software: "v1.6.0", Schemas: []int{1, 2}})
	if err := f.SetConfig(ctx, "acme", "fjord", ssh); err != nil {
		t.Fatalf("after the update: %v", err)
	}
	if cfg, _ := f.Store.RoomConfig(ctx, "acme", "fjord"); !strings.Contains(cfg, `"schema":2`) {
		t.Errorf("stored configuration %s does not say its schema", cfg)
	}

	err = f.SetConfig(ctx, "acme", "fjord", provisioning.Config{Meeting: provisioning.MeetingConfig{Services: []string{"jitsi"}}})
	rec = httptest.NewRecorder()
	adminStatus(rec, err)
	if !errors.Is(err, provisioning.ErrRemovedKey) || rec.Code != http.StatusBadRequest {
		t.Errorf("meeting.services: %v (%d)", err, rec.Code)
	}
}
