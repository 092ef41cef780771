package testtool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeProjectInstallFails: a project whose install does not bring the
// package fails the test, and again on the next call without re-running npm.
func TestNodeProjectInstallFails(t *testing.T) {
	SkipInShortMode(t, "Node.js and npm")
	dir := t.TempDir()
	// A valid project that does not depend on the package asked for.
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"x","private":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(`{"name":"x","lockfileVersion":3,"requires":true,"packages":{"":{"name":"x"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &NodeProject{Dir: dir, Package: "nothing-here", Why: "the test"}
	for range 2 {
		msg := FatalMessage(t, func(tb testing.TB) { p.Node(tb) })
		if !strings.Contains(msg, "npm ci in "+dir) || !strings.Contains(msg, "did not install nothing-here") {
			t.Fatalf("Node failed with %q, want the npm ci failure", msg)
		}
	}
}
