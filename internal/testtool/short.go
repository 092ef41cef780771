package testtool

import "testing"

// SkipInShortMode skips t when the tests run with -short: `make test-unit`,
// the contributor's fast loop, which needs none of the outside tools. The
// harnesses call it before they look for their tool, so under -short a test
// that needs Janus, Chromium, PostgreSQL or ffmpeg skips whether or not the
// tool is installed.
//
// This is a choice of the unit layer, not a missing-tool skip: `make test`
// and CI never pass -short, and there a missing tool still fails the test
// (with InstallHint's message). Outside a test binary (cmd/bench-media runs
// the harnesses with a stand-in for testing.TB) it does nothing.
func SkipInShortMode(t testing.TB, tool string) {
	t.Helper()
	if testing.Testing() && testing.Short() {
		t.Skipf("needs %s: -short (make test-unit) leaves it to make test", tool)
	}
}

// SkipSlowInShortMode skips t under -short because it waits on real time
// for seconds (a simulated day, a bounded parse of a huge feed, media
// flowing through a relay): `make test-unit` stays a loop of under a
// minute, and `make test` runs it. why says what makes it slow.
func SkipSlowInShortMode(t testing.TB, why string) {
	t.Helper()
	if testing.Testing() && testing.Short() {
		t.Skipf("slow (%s): -short (make test-unit) leaves it to make test", why)
	}
}
