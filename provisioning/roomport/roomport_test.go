package roomport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/provisioning"
	"github.com/roomd/roomd/room"
)

// fleetd validates bundles without linking the room, so provisioning keeps
// its own copy of the room's ranges; both must accept and refuse the same
// settings at every edge.
func TestConfigValidateAgreesWithRoom(t *testing.T) {
	n := func(v int) *int { return &v }
	var cases []provisioning.Config
	for _, name := range []string{"", "x", strings.Repeat("x", 64), strings.Repeat("x", 65)} {
		cases = append(cases, provisioning.Config{Room: provisioning.RoomConfig{Name: name}})
	}
	for _, v := range []int{-1, 0, 50, 100, 101} {
		cases = append(cases, provisioning.Config{Room: provisioning.RoomConfig{DefaultVolume: n(v)}})
	}
	for _, v := range []int{-1, 0, 1, 50, 51} {
		cases = append(cases, provisioning.Config{Room: provisioning.RoomConfig{VolumeStep: v}})
	}
	for _, v := range []int{-1, 0, 15, 16} {
		cases = append(cases, provisioning.Config{Camera: provisioning.CameraConfig{Presets: n(v)}})
	}
	for _, u := range []string{"", "in-room", "anyone"} {
		cases = append(cases, provisioning.Config{Security: provisioning.SecurityConfig{Unmute: u}})
	}
	refused := 0
	for _, c := range cases {
		fleet := c.Validate()
		rm := Settings(&c, room.DefaultSettings()).Validate()
		if (fleet == nil) != (rm == nil) {
			t.Errorf("%+v: provisioning says %v, the room says %v", c, fleet, rm)
		}
		if fleet != nil {
			refused++
		}
	}
	if refused != 7 {
		t.Errorf("%d of the edge cases refused, want 7 (one past each end of each range; an empty name keeps the room's)", refused)
	}
}

func TestSettings(t *testing.T) {
	vol, presets, mute := 30, 2, true
	c := provisioning.Config{Room: provisioning.RoomConfig{Name: "Fjord", DefaultVolume: &vol, VolumeStep: 10, MuteOnJoin: &mute},
		Camera: provisioning.CameraConfig{Presets: &presets}, Security: provisioning.SecurityConfig{Unmute: "anyone"}}
	got := Settings(&c, room.DefaultSettings())
	want := room.Settings{Name: "Fjord", DefaultVolume: 30, VolumeStep: 10, MuteOnJoin: true, Presets: 2, Unmute: room.UnmuteAnyone}
	if got != want {
		t.Errorf("Settings = %+v, want %+v", got, want)
	}
	if got := Settings(&provisioning.Config{}, want); got != want {
		t.Errorf("an empty config changed the settings: %+v, want %+v", got, want)
	}
}

// fakeRoom applies settings edits like room.Room and records reports.
type fakeRoom struct {
	settings room.Settings
	from     room.Source
	reports  []room.Report
}

func (r *fakeRoom) Do(_ context.Context, c room.Command) error {
	e, ok := c.Do.(room.EditSettings)
	if !ok {
		return room.ErrInvalid
	}
	s, err := e.Edit(r.settings)
	if err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	r.settings, r.from = s, c.From
	return nil
}

func (r *fakeRoom) Report(rep room.Report) { r.reports = append(r.reports, rep) }

func TestApplySettingsComesFromTheFleet(t *testing.T) {
	rm := &fakeRoom{settings: room.DefaultSettings()}
	p := New(rm)
	if err := p.ApplySettings(context.Background(), 7, &provisioning.Config{Room: provisioning.RoomConfig{Name: "Hall"}}); err != nil {
		t.Fatal(err)
	}
	if rm.settings.Name != "Hall" || rm.from != (room.Source{Kind: room.FromFleet, ID: "v7"}) {
		t.Errorf("room has %q from %+v, want Hall from the fleet as v7", rm.settings.Name, rm.from)
	}
}

func TestReportStatus(t *testing.T) {
	since := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	phases := map[provisioning.Phase]room.ProvisioningState{
		provisioning.Unenrolled: room.Unenrolled,
		provisioning.Pending:    room.Pending,
		provisioning.Enrolled:   room.Enrolled,
		provisioning.Failed:     room.ProvisioningFailed,
		provisioning.Revoked:    room.Revoked,
		provisioning.Phase(99):  room.ProvisioningFailed, // unknown fails closed
	}
	for ph, want := range phases {
		rm := &fakeRoom{}
		New(rm).ReportStatus(provisioning.Status{State: ph, ConfigVersion: 3, Stale: true, Detail: "d", Since: since})
		if len(rm.reports) != 1 {
			t.Fatalf("%v: %d reports, want 1", ph, len(rm.reports))
		}
		got, ok := rm.reports[0].(room.ProvisioningReported)
		wantP := room.Provisioning{State: want, ConfigVersion: 3, Stale: true, Detail: "d", Since: since}
		if !ok || got.Provisioning != wantP {
			t.Errorf("%v: reported %+v, want %+v", ph, rm.reports[0], wantP)
		}
		// Health reports carry the phase's name; it must read as the
		// room's status always read.
		if ph <= provisioning.Revoked && ph.String() != want.String() {
			t.Errorf("phase %d is named %q, the room names it %q", int(ph), ph.String(), want.String())
		}
	}
}
