// Package deptest keeps the architecture honest: the room and the hardware
// interfaces never import a driver.
package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

// deps lists every package pkg depends on, with whether it is in the
// standard library.
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pkg, err, out)
	}
	m := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, std, _ := strings.Cut(l, " ")
		m[path] = std == "true"
	}
	return m
}

const mod = "github.com/roomd/roomd"

func TestRoomImportsNoDriver(t *testing.T) {
	for path, std := range deps(t, mod+"/room") {
		if !std && path != mod+"/room" {
			t.Errorf("room depends on %s; room may use only the standard library and talk to drivers through its interfaces", path)
		}
	}
}

func TestHalInterfacesImportNoDriver(t *testing.T) {
	for path, std := range deps(t, mod+"/hal") {
		if !std && path != mod+"/hal" {
			t.Errorf("hal depends on %s; drivers belong in hal/periphhal, hal/sim or hal/serialport", path)
		}
	}
}

// The test must be able to fail: a driver package does show up as a driver.
func TestDetectsDrivers(t *testing.T) {
	d := deps(t, mod+"/hal/serialport")
	if std, ok := d["go.bug.st/serial"]; !ok || std {
		t.Fatalf("go list did not report go.bug.st/serial as a non-standard dependency of hal/serialport: %v", d)
	}
}
