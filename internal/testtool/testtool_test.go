package testtool

import (
	"strings"
	"testing"
)

func TestInstallHint(t *testing.T) {
	t.Setenv("CI", "")
	if h := InstallHint("janus", "Janus 1.1"); !strings.Contains(h, "apt-get install -y janus") || strings.Contains(h, "CI must") {
		t.Fatalf("hint %q", h)
	}
	t.Setenv("CI", "true")
	if h := InstallHint("janus", "Janus 1.1"); !strings.Contains(h, "CI must install") {
		t.Fatalf("hint under CI %q", h)
	}
}

func TestFatalMessage(t *testing.T) {
	if m := FatalMessage(t, func(tb testing.TB) { tb.Fatalf("no %s", "janus"); tb.Fatal("not reached") }); m != "no janus" {
		t.Fatalf("message %q", m)
	}
	if m := FatalMessage(t, func(testing.TB) {}); m != "" {
		t.Fatalf("message %q for a function that did not fail", m)
	}
}

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	b.Write([]byte("ab"))
	if b.String() != "ab" || b.Len() != 2 {
		t.Fatalf("%q %d", b.String(), b.Len())
	}
}

// Under -short (make test-unit) SkipInShortMode skips; otherwise (make test,
// CI) it lets the test run on, so a missing tool fails it.
func TestSkipInShortMode(t *testing.T) {
	reached := false
	ran := t.Run("harness", func(t *testing.T) {
		SkipInShortMode(t, "janus")
		reached = true
	})
	if !ran {
		t.Fatal("the subtest failed")
	}
	if skipped := !reached; skipped != testing.Short() {
		t.Errorf("skipped=%v with testing.Short()=%v; want a skip exactly under -short", skipped, testing.Short())
	}
}
