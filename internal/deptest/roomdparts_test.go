package deptest

import (
	"strings"
	"testing"
)

// forbidTrees fails for each package under one of the trees in bad (the
// package or anything below it) that pkg depends on; bad maps the tree to
// what to do instead.
func forbidTrees(t *testing.T, pkg string, bad map[string]string) {
	t.Helper()
	for path := range deps(t, pkg) {
		for tree, instead := range bad {
			if path == tree || strings.HasPrefix(path, tree+"/") {
				t.Errorf("%s depends on %s; %s", pkg, path, instead)
			}
		}
	}
}

// roomd's configuration is read before any part is built, and by the
// check-config command: it names the parts' settings in plain values.
func TestRoomdConfigKnowsNoParts(t *testing.T) {
	forbidTrees(t, mod+"/internal/roomdconfig", map[string]string{
		mod + "/media":         "the [media] table is plain values; media/callsetup builds the engine from it",
		mod + "/panel":         "the [panel] table is plain values; cmd/roomd starts the panel",
		mod + "/control":       "the [console] table is plain values; cmd/roomd starts the consoles",
		mod + "/provisioning":  "the [provisioning] table is plain values; cmd/roomd makes the client",
		mod + "/hal/periphhal": "a board description is hal's plain values; cmd/roomd loads the drivers",
		mod + "/hal/sim":       "a board description is hal's plain values; cmd/roomd loads the simulated board",
	})
}

// The damaged-file scanner and the room's provisioning port need the room
// and the state files, not the surfaces or media.
func TestRoomdPartsImportOneWay(t *testing.T) {
	for _, pkg := range []string{mod + "/internal/damagedfiles", mod + "/provisioning/roomport"} {
		forbidTrees(t, pkg, map[string]string{
			mod + "/media":   "it works on the room's state; media is cmd/roomd's to wire",
			mod + "/panel":   "it works on the room's state; the panel is a surface",
			mod + "/control": "it works on the room's state; the consoles are surfaces",
		})
	}
}

// The trees above must exist as spelled, or the tests would pass whatever
// the imports: roomd links each.
func TestRoomdPartsTreesExist(t *testing.T) {
	d := deps(t, mod+"/cmd/roomd")
	for _, tree := range []string{mod + "/media", mod + "/panel", mod + "/control", mod + "/provisioning", mod + "/hal/periphhal", mod + "/hal/sim"} {
		found := false
		for path := range d {
			found = found || path == tree || strings.HasPrefix(path, tree+"/")
		}
		if !found {
			t.Errorf("cmd/roomd links nothing under %s: a test above forbids a tree that does not exist", tree)
		}
	}
}
