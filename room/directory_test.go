package room

import (
	"slices"
	"testing"
)

// The fleet's directory replaces the one before; the snapshot is a copy.
func TestDirectoryReported(t *testing.T) {
	in := []DirectoryEntry{{Name: "Fjord", URI: "sip:fjord@rooms.example.com"}, {Name: "Bergen", URI: "sips:bergen@10.0.0.7"}}
	s, _, err := Next(State{}, DirectoryReported{Entries: in})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Directory, in) {
		t.Fatalf("directory %+v", s.Directory)
	}
	in[0].Name = "changed"
	if s.Directory[0].Name != "Fjord" {
		t.Error("the state shares the report's slice")
	}
	if c := s.clone(); !c.Equal(s) || s.Equal(State{}) {
		t.Error("Equal does not see the directory")
	}
	if s, _, _ = Next(s, DirectoryReported{}); s.Directory != nil {
		t.Errorf("an empty directory left %+v", s.Directory)
	}
}
