package roomstate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/room"
)

var testNow = time.Date(2026, 12, 7, 4, 30, 0, 0, time.UTC)

const asideName = "room.json.corrupt-20261207T043000Z"

// startRoom runs a real room on the store in dir until its devices show
// the start-up state, then stops it and returns that state.
func startRoom(t *testing.T, dir string) room.State {
	t.Helper()
	def := room.DefaultSettings()
	def.Name = "Configured"
	r := room.New(room.Options{Store: Store{Path: filepath.Join(dir, "room.json"), Now: func() time.Time { return testNow }}, Settings: &def})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	<-r.Ready()
	// Alive returns once start-up, its save included, is done.
	if err := r.Alive(ctx); err != nil {
		t.Fatal(err)
	}
	s := r.Snapshot()
	cancel()
	<-done
	return s
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestRoomStateDamageMatrix is issue 12 row 3: the last saved state was
// muted and private; whatever happened to room.json, the room starts at
// least as closed, keeps what can be kept (from room.json.prev, or the
// readable fields), sets the damaged file aside and says so in its state.
func TestRoomStateDamageMatrix(t *testing.T) {
	last := room.Persisted{Settings: room.Settings{Name: "Fjord", DefaultVolume: 70, VolumeStep: 5, Presets: 4}, MicMute: true, CameraPrivacy: true}
	// The state before it was open: a room that trusted .prev's privacy
	// would open what someone closed.
	prev := room.Persisted{Settings: room.Settings{Name: "Fjord (before)", DefaultVolume: 30, VolumeStep: 5, Presets: 4}}
	good := mustJSON(t, last)
	type want struct {
		from  room.RestoreSource
		name  string
		vol   int
		mute  bool
		aside bool // the file was set aside with its bytes
	}
	closedDefaults := want{from: room.RestoreDamaged, name: "Configured", vol: 50, mute: true, aside: true}
	closedPrev := want{from: room.RestorePrevious, name: "Fjord (before)", vol: 30, mute: true, aside: true}
	for _, tt := range []struct {
		name     string
		content  []byte // nil: no room.json
		mode     os.FileMode
		withPrev want
		noPrev   want
	}{
		{name: "missing", withPrev: want{from: room.RestorePrevious, name: "Fjord (before)", vol: 30, mute: true},
			noPrev: want{from: room.RestoreNone, name: "Configured", vol: 50}},
		{name: "intact", content: good, withPrev: want{from: room.RestoreSaved, name: "Fjord", vol: 70, mute: true},
			noPrev: want{from: room.RestoreSaved, name: "Fjord", vol: 70, mute: true}},
		{name: "empty", content: []byte{}, withPrev: closedPrev, noPrev: closedDefaults},
		{name: "truncated", content: good[:len(good)/2], withPrev: closedPrev, noPrev: closedDefaults},
		{name: "garbage", content: []byte("\x00\xff\x13garbage\n"), withPrev: closedPrev, noPrev: closedDefaults},
		{name: "null", content: []byte("null\n"), withPrev: closedPrev, noPrev: closedDefaults},
		{name: "wrong type", content: []byte(`["Fjord", true, true]`), withPrev: closedPrev, noPrev: closedDefaults},
		{name: "wrong type of a field", content: []byte(`{"Settings":{"Name":"Fjord","DefaultVolume":"loud","VolumeStep":5,"Unmute":0,"MuteOnJoin":false,"Presets":4},"MicMute":"yes","CameraPrivacy":true}`),
			withPrev: closedPrev, noPrev: want{from: room.RestoreDamaged, name: "Fjord", vol: 50, mute: true, aside: true}},
		{name: "privacy missing", content: []byte(`{"Settings":{"Name":"Fjord","DefaultVolume":70,"VolumeStep":5,"Unmute":0,"MuteOnJoin":false,"Presets":4}}`),
			withPrev: closedPrev, noPrev: want{from: room.RestoreDamaged, name: "Fjord", vol: 70, mute: true, aside: true}},
		{name: "out of range", content: []byte(`{"Settings":{"Name":"Fjord","DefaultVolume":300,"VolumeStep":0,"Unmute":7,"MuteOnJoin":false,"Presets":99},"MicMute":true,"CameraPrivacy":true}`),
			withPrev: want{from: room.RestoreRepaired, name: "Fjord", vol: 100, mute: true},
			noPrev:   want{from: room.RestoreRepaired, name: "Fjord", vol: 100, mute: true}},
		{name: "unreadable", content: good, mode: 0o000, withPrev: closedPrev, noPrev: closedDefaults},
	} {
		for _, withPrev := range []bool{true, false} {
			w := tt.noPrev
			name := tt.name + "/no prev"
			if withPrev {
				w, name = tt.withPrev, tt.name+"/prev"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "room.json")
				if withPrev {
					if err := os.WriteFile(path+PrevSuffix, mustJSON(t, prev), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				if tt.content != nil {
					if err := os.WriteFile(path, tt.content, 0o600); err != nil {
						t.Fatal(err)
					}
					if tt.mode != 0 || tt.name == "unreadable" {
						os.Chmod(path, tt.mode)
						if _, err := os.ReadFile(path); err == nil {
							// root reads any mode: make it unreadable another way.
							os.Remove(path)
							os.Mkdir(path, 0o700)
						}
					}
				}
				s := startRoom(t, dir)
				if s.Restored.From != w.from || s.Settings.Name != w.name || s.Settings.DefaultVolume != w.vol ||
					s.MicMute != w.mute || s.CameraPrivacy != w.mute {
					t.Fatalf("started from %v (%q): name %q volume %d mute %v privacy %v\nwant from %v name %q volume %d mute and privacy %v",
						s.Restored.From, s.Restored.Detail, s.Settings.Name, s.Settings.DefaultVolume, s.MicMute, s.CameraPrivacy,
						w.from, w.name, w.vol, w.mute)
				}
				if err := s.Settings.Validate(); err != nil {
					t.Fatalf("the room runs with invalid settings: %v", err)
				}
				if (s.Restored.Detail != "") != (w.from != room.RestoreSaved && w.from != room.RestoreNone) {
					t.Fatalf("detail %q for %v", s.Restored.Detail, s.Restored.From)
				}
				// The damaged file is kept, byte for byte, and named in the report.
				aside := filepath.Join(dir, asideName)
				if w.aside {
					if !strings.Contains(s.Restored.Detail, asideName) {
						t.Errorf("detail %q does not name %s", s.Restored.Detail, asideName)
					}
					if b, err := os.ReadFile(aside); err == nil && string(b) != string(tt.content) {
						t.Errorf("set-aside file holds %q, want %q", b, tt.content)
					} else if err != nil && tt.name != "unreadable" {
						t.Errorf("damaged file not set aside: %v", err)
					} else if _, err := os.Lstat(aside); err != nil {
						t.Errorf("damaged file not set aside: %v", err)
					}
				} else if _, err := os.Lstat(aside); err == nil {
					t.Errorf("%s set aside, but nothing was damaged", asideName)
				}
				// What the room started from is on disk, whole, at once.
				if w.from != room.RestoreNone {
					var p room.Persisted
					l := Store{Path: path}.Load(&p)
					if l.Damaged != nil || p.Settings.Name != w.name || p.MicMute != w.mute || p.CameraPrivacy != w.mute {
						t.Errorf("room.json after start: %+v %+v", p, l)
					}
				}
				// The previous good state is never lost to a damaged one.
				if withPrev && w.from != room.RestoreRepaired && w.from != room.RestoreSaved {
					var p room.Persisted
					if ok, err := statefile.LoadJSON(path+PrevSuffix, &p); !ok || err != nil || p != prev {
						t.Errorf("room.json.prev after start: %+v %v %v", p, ok, err)
					}
				}
			})
		}
	}
}

// Saving keeps the state it replaces as room.json.prev, and never replaces
// a good .prev with a damaged current file.
func TestSaveKeepsThePreviousState(t *testing.T) {
	dir := t.TempDir()
	s := Store{Path: filepath.Join(dir, "room.json"), Now: func() time.Time { return testNow }}
	a := room.Persisted{Settings: room.DefaultSettings(), MicMute: true}
	b := a
	b.Settings.Name, b.MicMute = "Fjord", false
	for _, p := range []room.Persisted{a, b} {
		if err := s.Save(p); err != nil {
			t.Fatal(err)
		}
	}
	var got room.Persisted
	if ok, err := statefile.LoadJSON(s.Path+PrevSuffix, &got); !ok || err != nil || got != a {
		t.Fatalf("prev = %+v %v %v, want %+v", got, ok, err, a)
	}
	if fi, err := os.Stat(s.Path + PrevSuffix); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("prev mode: %v %v", fi, err)
	}
	// Saving the same state again leaves .prev alone.
	if err := s.Save(b); err != nil {
		t.Fatal(err)
	}
	if statefile.LoadJSON(s.Path+PrevSuffix, &got); got != a {
		t.Fatalf("prev after an unchanged save = %+v, want %+v", got, a)
	}
	// room.json damaged while roomd runs: the next save sets it aside and
	// keeps the good .prev.
	os.WriteFile(s.Path, []byte(`{"Settings":`), 0o600)
	if err := s.Save(a); err != nil {
		t.Fatal(err)
	}
	if statefile.LoadJSON(s.Path+PrevSuffix, &got); got != a {
		t.Fatalf("prev after saving over a damaged file = %+v, want %+v", got, a)
	}
	if raw, err := os.ReadFile(filepath.Join(dir, asideName)); err != nil || string(raw) != `{"Settings":` {
		t.Fatalf("damaged file not kept: %q %v", raw, err)
	}
}

// Every field of room.Persisted survives a save and a load: the field-by-
// field decoder must learn each new field.
func TestRoomStoreReadsEveryField(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "room.json")}
	p := room.Persisted{Settings: room.Settings{Name: "Fjord", DefaultVolume: 77, VolumeStep: 7, Unmute: room.UnmuteAnyone, MuteOnJoin: true, Presets: 9},
		MicMute: true, CameraPrivacy: true}
	for _, v := range []reflect.Value{reflect.ValueOf(p), reflect.ValueOf(p.Settings)} {
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Fatalf("give %s.%s a value that is not zero in this test", v.Type(), v.Type().Field(i).Name)
			}
		}
	}
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	var got room.Persisted
	if l := s.Load(&got); l.Damaged != nil || got != p {
		t.Fatalf("load = %+v %v, want %+v", got, l.Damaged, p)
	}
}

func TestRoomStoreRoundTrip(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "room.json")}
	var got room.Persisted
	if l := s.Load(&got); l.Found || l.Damaged != nil {
		t.Fatalf("empty store: %+v", l)
	}
	p := room.Persisted{Settings: room.DefaultSettings(), MicMute: true}
	p.Settings.Name = "Fjord"
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	got = room.Persisted{}
	if l := s.Load(&got); !l.Found || l.Damaged != nil || l.Previous || got != p {
		t.Fatalf("load = %+v %+v, want %+v", got, l, p)
	}
	fi, _ := os.Stat(s.Path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(s.Path))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want 1", len(ents))
	}
}

func TestDamagedFileIsReportedNotReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "room.json")
	os.WriteFile(path, []byte(`{"Settings":`), 0o600)
	var p room.Persisted
	l := Store{Path: path}.Load(&p)
	if !errors.Is(l.Damaged, room.ErrStateDamaged) || !strings.Contains(l.Damaged.Error(), "damaged") {
		t.Fatalf("damage = %v, want a 'damaged' error wrapping ErrStateDamaged", l.Damaged)
	}
}
