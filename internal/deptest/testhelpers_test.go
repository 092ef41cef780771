package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

// testHelperExceptions are programs allowed to link test helpers, with why;
// each must still need it, so the list only shrinks.
var testHelperExceptions = map[string]string{
	// Developers' benchmarks, never installed: they run Janus and Chromium
	// through internal/janustest and internal/browsertest, and baresip
	// through internal/siptest.
	mod + "/cmd/bench-media": "internal/benchmedia drives janustest and browsertest",
	mod + "/cmd/bench-sip":   "internal/benchmedia drives siptest's baresips",
}

// mainPackages lists the programs under the given patterns.
func mainPackages(t *testing.T, patterns ...string) []string {
	t.Helper()
	args := append([]string{"list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`}, patterns...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", patterns, err, out)
	}
	return strings.Fields(string(out))
}

// testHelpers lists what of the testing package and the module's test
// helpers (internal/*test) pkg links.
func testHelpers(t *testing.T, pkg string) []string {
	t.Helper()
	var bad []string
	for path := range deps(t, pkg) {
		rest, inModule := strings.CutPrefix(path, mod+"/internal/")
		switch {
		case path == "testing" || strings.HasPrefix(path, "testing/"):
			bad = append(bad, path)
		case inModule && !strings.Contains(rest, "/") && strings.HasSuffix(rest, "test") && rest != "deptest":
			bad = append(bad, path)
		}
	}
	return bad
}

// Programs built for the device or its images link no test code: a test
// helper's shortcuts (fatal exits, open relays, fixed credentials) have no
// place in them.
func TestProgramsLinkNoTestHelpers(t *testing.T) {
	progs := mainPackages(t, mod+"/cmd/...", mod+"/image/cmd/...")
	if len(progs) < 4 {
		t.Fatalf("found only %v under cmd/ and image/cmd/", progs)
	}
	for _, p := range progs {
		bad := testHelpers(t, p)
		why, excepted := testHelperExceptions[p]
		switch {
		case len(bad) > 0 && !excepted:
			t.Errorf("%s links %v; move what it needs into a non-test package (as internal/whiprelay for whip-relay)", p, bad)
		case len(bad) == 0 && excepted:
			t.Errorf("%s links no test helper any more; drop its exception (%s)", p, why)
		}
	}
}

// The check must be able to fail: a test helper shows up as one.
func TestDetectsTestHelpers(t *testing.T) {
	bad := testHelpers(t, mod+"/internal/whiptest")
	var sawTesting, sawHelper bool
	for _, p := range bad {
		sawTesting = sawTesting || p == "testing"
		sawHelper = sawHelper || p == mod+"/internal/whiptest"
	}
	if !sawTesting || !sawHelper {
		t.Errorf("internal/whiptest's test code reported as %v; want testing and internal/whiptest itself", bad)
	}
}
