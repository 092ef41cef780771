package browsertest

import (
	"os"
	"path/filepath"
	"testing"
)

// ScreenshotDir is where browser tests keep their screenshots as test
// artefacts, as the panel's do: $ROOMD_ARTIFACTS/screenshots when the
// variable is set (CI collects it), else out/screenshots at the top of the
// source tree (the directory holding go.mod), else a directory of the test's
// own. It is created if missing.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := ""
	if a := os.Getenv("ROOMD_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "screenshots")
	} else if root := moduleRoot(); root != "" {
		dir = filepath.Join(root, "out", "screenshots")
	} else {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return dir
}

// moduleRoot is the nearest directory above the working directory that
// holds go.mod, or "".
func moduleRoot() string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	for ; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !fi.IsDir() {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
