package statefile

import (
	"os"
	"path/filepath"
	"testing"
)

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
