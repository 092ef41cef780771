package statefile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFindSetAside(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := FindSetAside(dir); err != nil || len(got) != 0 {
		t.Fatalf("an empty state directory: %v %v", got, err)
	}
	if got, err := FindSetAside(filepath.Join(dir, "missing")); err != nil || len(got) != 0 {
		t.Fatalf("a missing state directory: %v %v", got, err)
	}

	// Set aside the way each component does it.
	write("room.json", "{")
	roomAside, err := SetAside(filepath.Join(dir, "room.json"), t0)
	if err != nil {
		t.Fatal(err)
	}
	write("schedule.json", "garbage")
	if _, err := SetAside(filepath.Join(dir, "schedule.json"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	write("schedule.json", "again")
	if _, err := SetAside(filepath.Join(dir, "schedule.json"), t0.Add(time.Minute)); err != nil { // NAME.corrupt-TIME-2
		t.Fatal(err)
	}
	write("provisioning/root.current.corrupt-20261207T040000Z.1", "xx") // provisioning's counter
	// Not damage: files in use, a deliberate re-enrollment, a directory
	// and a symbolic link with the name, a name with no time in it.
	write("panel-tokens.json", "{}")
	write("provisioning/enrollment.json.replaced-20261207T030000Z", "{}")
	if err := os.Mkdir(filepath.Join(dir, "x.corrupt-20261207T060000Z"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(roomAside, filepath.Join(dir, "link.corrupt-20261207T060000Z")); err != nil {
		t.Fatal(err)
	}
	write("clock-floor.corrupt-by-hand", "1")
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "clock-floor.corrupt-by-hand"), old, old); err != nil {
		t.Fatal(err)
	}

	got, err := FindSetAside(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []SetAsideFile{
		{Name: "schedule.json.corrupt-20261207T050100Z", Since: t0.Add(time.Minute), Size: 7},
		{Name: "schedule.json.corrupt-20261207T050100Z-2", Since: t0.Add(time.Minute), Size: 5},
		{Name: "room.json.corrupt-20261207T050000Z", Since: t0, Size: 1},
		{Name: "provisioning/root.current.corrupt-20261207T040000Z.1", Since: t0.Add(-time.Hour), Size: 2},
		{Name: "clock-floor.corrupt-by-hand", Since: old, Size: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("found\n%v\nwant\n%v", got, want)
	}

	// Bounded: the newest MaxSetAside, and a deep tree is not searched.
	write("a/b/c/d/e/deep.corrupt-20301207T070000Z", "x") // newer than all, too deep
	for i := range MaxSetAside + 3 {
		write(fmt.Sprintf("many/f%d.corrupt-%s", i, t0.Add(time.Duration(i)*time.Hour).Format("20060102T150405Z")), "x")
	}
	got, err = FindSetAside(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxSetAside {
		t.Fatalf("%d files listed, want %d", len(got), MaxSetAside)
	}
	if got[0].Name != fmt.Sprintf("many/f%d.corrupt-%s", MaxSetAside+2, t0.Add(time.Duration(MaxSetAside+2)*time.Hour).Format("20060102T150405Z")) {
		t.Errorf("the newest is %v, want the last one written", got[0])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Since.After(got[i-1].Since) {
			t.Errorf("not newest first: %v after %v", got[i], got[i-1])
		}
	}
}

// A second set-aside in the same second gets a name of its own.
func TestSetAsideNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	var got []string
	for _, content := range []string{"one", "two"} {
		os.WriteFile(path, []byte(content), 0o600)
		to, err := SetAside(path, time.Date(2026, 12, 7, 4, 30, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(to))
	}
	if got[0] != "f.corrupt-20261207T043000Z" || got[1] != "f.corrupt-20261207T043000Z-2" {
		t.Fatalf("set aside as %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, got[0])); string(b) != "one" {
		t.Fatalf("first set-aside file holds %q", b)
	}
}
