package room

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRestoreSourceString(t *testing.T) {
	for r, want := range map[RestoreSource]string{RestoreNone: "None", RestoreSaved: "Saved", RestoreRepaired: "Repaired",
		RestorePrevious: "Previous", RestoreDamaged: "Damaged", RestoreSource(9): "RestoreSource(9)"} {
		if got := r.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(r), got, want)
		}
	}
}

func TestRepairClampsFieldByField(t *testing.T) {
	def := DefaultSettings()
	def.Name = "Configured"
	long := strings.Repeat("å", 40) // 80 bytes
	for _, tt := range []struct {
		name  string
		in    Settings
		want  Settings
		fixed int
	}{
		{"valid stays", Settings{Name: "Fjord", DefaultVolume: 70, VolumeStep: 10, Unmute: UnmuteAnyone, MuteOnJoin: true, Presets: 3},
			Settings{Name: "Fjord", DefaultVolume: 70, VolumeStep: 10, Unmute: UnmuteAnyone, MuteOnJoin: true, Presets: 3}, 0},
		{"everything out of range", Settings{Name: "", DefaultVolume: 300, VolumeStep: 0, Unmute: 7, Presets: 99},
			Settings{Name: "Configured", DefaultVolume: 100, VolumeStep: 1, Unmute: UnmuteInRoom, Presets: 15}, 5},
		{"below range", Settings{Name: "Fjord", DefaultVolume: -5, VolumeStep: 90, Unmute: -1, Presets: -2},
			Settings{Name: "Fjord", DefaultVolume: 0, VolumeStep: 50, Unmute: UnmuteInRoom, Presets: 0}, 4},
		{"long name cut on a rune", Settings{Name: long, DefaultVolume: 50, VolumeStep: 5},
			Settings{Name: strings.Repeat("å", 32), DefaultVolume: 50, VolumeStep: 5}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, fixed := tt.in.Repair(def)
			if got != tt.want || len(fixed) != tt.fixed {
				t.Fatalf("Repair = %+v %q, want %+v with %d fixes", got, fixed, tt.want, tt.fixed)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("repaired settings do not validate: %v", err)
			}
		})
	}
}

// The pure start-up decision: privacy closes whenever the saved state could
// not be read wholly, whatever the previous state or the salvaged fields say
// (issue 12 row 3).
func TestRestore(t *testing.T) {
	def := DefaultSettings()
	def.Name = "Configured"
	saved := Persisted{Settings: Settings{Name: "Fjord", DefaultVolume: 70, VolumeStep: 5, Presets: 4}}
	outOfRange := saved
	outOfRange.Settings.DefaultVolume = 300
	clamped := saved
	clamped.Settings.DefaultVolume = 100
	damaged := fmt.Errorf("%w: room.json is damaged", ErrStateDamaged)
	for _, tt := range []struct {
		name   string
		p      Persisted
		l      Loaded
		want   Persisted
		from   RestoreSource
		detail string
	}{
		{"first start keeps the defaults", Persisted{Settings: def}, Loaded{}, Persisted{Settings: def}, RestoreNone, ""},
		{"saved open stays open", saved, Loaded{Found: true}, saved, RestoreSaved, ""},
		{"saved closed stays closed", closed(saved, true, true), Loaded{Found: true}, closed(saved, true, true), RestoreSaved, ""},
		{"out of range clamps and keeps privacy as saved", outOfRange, Loaded{Found: true}, clamped, RestoreRepaired, "default volume 300 -> 100"},
		{"out of range closed stays closed", closed(outOfRange, true, true), Loaded{Found: true}, closed(clamped, true, true), RestoreRepaired, "default volume"},
		{"damaged without previous closes", saved, Loaded{Found: true, Damaged: damaged}, closed(saved, true, true), RestoreDamaged, "room.json is damaged"},
		{"previous open is closed", saved, Loaded{Found: true, Previous: true, Damaged: damaged}, closed(saved, true, true), RestorePrevious, "previous saved state"},
		{"previous out of range is repaired and closed", outOfRange, Loaded{Found: true, Previous: true, Damaged: damaged}, closed(clamped, true, true), RestorePrevious, "default volume 300 -> 100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, r := restore(def, tt.p, tt.l)
			if got != tt.want || r.From != tt.from || !strings.Contains(r.Detail, tt.detail) {
				t.Fatalf("restore = %+v %+v, want %+v from %v with detail containing %q", got, r, tt.want, tt.from, tt.detail)
			}
			if r.Closed() != (tt.l.Damaged != nil) {
				t.Fatalf("Closed() = %v with damage %v", r.Closed(), tt.l.Damaged)
			}
		})
	}
}

func closed(p Persisted, mute, private bool) Persisted {
	p.MicMute, p.CameraPrivacy = mute, private
	return p
}

// damagedStore reports damage and hands over what it could read.
type damagedStore struct {
	memStore
	salvaged Persisted
}

func (d *damagedStore) Load(p *Persisted) Loaded {
	*p = d.salvaged
	return Loaded{Found: true, Damaged: fmt.Errorf("%w: test damage", ErrStateDamaged)}
}

// A room whose saved state is unreadable starts muted and private on the
// devices themselves, says so in its state, and writes the state it starts
// from at once.
func TestRoomStartsClosedOnDamagedState(t *testing.T) {
	st := &damagedStore{salvaged: Persisted{Settings: DefaultSettings()}}
	st.salvaged.Settings.Name = "Fjord"
	mic, cam := &fakeToggle{}, &fakeToggle{}
	r := New(Options{Devices: Devices{Mic: mic, Camera: cam}, Store: st})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-r.Ready()
	s := r.Snapshot()
	if !s.MicMute || !s.CameraPrivacy || !mic.state() || !cam.state() {
		t.Fatalf("state mute %v privacy %v, devices mute %v privacy %v; want all closed", s.MicMute, s.CameraPrivacy, mic.state(), cam.state())
	}
	if s.Restored.From != RestoreDamaged || !strings.Contains(s.Restored.Detail, "test damage") || s.Settings.Name != "Fjord" {
		t.Fatalf("restored %+v name %q", s.Restored, s.Settings.Name)
	}
	st.mu.Lock()
	saved, saves := st.p, st.saves
	st.mu.Unlock()
	if saves != 1 || !saved.MicMute || !saved.CameraPrivacy || saved.Settings.Name != "Fjord" {
		t.Fatalf("saved %d times: %+v", saves, saved)
	}
	// Someone in the room opens it again, as always.
	if err := r.Do(ctx, Command{From: panel, Do: SetMicMute{}}); err != nil || r.Snapshot().MicMute {
		t.Fatalf("unmute from the room: %v", err)
	}
	if err := r.Do(ctx, Command{From: remote, Do: SetCameraPrivacy{}}); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("privacy off from outside the room: %v", err)
	}
}
