package statefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/room"
)

func TestRoomStoreRoundTrip(t *testing.T) {
	s := RoomStore{Path: filepath.Join(t.TempDir(), "room.json")}
	if _, ok, err := s.Load(); ok || err != nil {
		t.Fatalf("empty store: ok %v err %v", ok, err)
	}
	p := room.Persisted{Settings: room.DefaultSettings(), MicMute: true}
	p.Settings.Name = "Fjord"
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Load()
	if !ok || err != nil || got != p {
		t.Fatalf("load = %+v %v %v, want %+v", got, ok, err, p)
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

func TestDamagedFileIsAnErrorNotAReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "room.json")
	os.WriteFile(path, []byte(`{"Settings":`), 0o600)
	_, _, err := RoomStore{Path: path}.Load()
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("err = %v, want a 'damaged' error", err)
	}
}

func TestWriteIntoMissingDirectoryFails(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}
