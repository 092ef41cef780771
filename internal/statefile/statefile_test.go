package statefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/room"
)

func TestRoomStoreRoundTrip(t *testing.T) {
	s := RoomStore{Path: filepath.Join(t.TempDir(), "room.json")}
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
	l := RoomStore{Path: path}.Load(&p)
	if !errors.Is(l.Damaged, room.ErrStateDamaged) || !strings.Contains(l.Damaged.Error(), "damaged") {
		t.Fatalf("damage = %v, want a 'damaged' error wrapping ErrStateDamaged", l.Damaged)
	}
}

func TestWriteIntoMissingDirectoryFails(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestReadFileMakesAStateFilePrivateAgain(t *testing.T) {
	p := filepath.Join(t.TempDir(), "room.json")
	if err := os.WriteFile(p, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644) // whatever the umask did
	b, err := ReadFile(p)
	if err != nil || string(b) != "{}\n" {
		t.Fatalf("ReadFile: %q, %v", b, err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after reading: %v, %v; want 0600", st.Mode(), err)
	}
	var v map[string]any
	os.Chmod(p, 0o640)
	if ok, err := LoadJSON(p, &v); !ok || err != nil {
		t.Fatalf("LoadJSON: %v, %v", ok, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("LoadJSON left mode %v", st.Mode())
	}
}
