// Package deptest keeps the architecture honest: the room and the hardware
// interfaces never import a driver, and each binary and library links only
// what its job needs (imports go one way, as tailscale's per-binary deps
// tests pin them).
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

const (
	ical  = "github.com/emersion/go-ical"
	rrule = "github.com/teambition/rrule-go"
)

// forbid fails for each package in bad that pkg depends on; bad maps the
// package to what to do instead.
func forbid(t *testing.T, pkg string, bad map[string]string) {
	t.Helper()
	d := deps(t, pkg)
	for path, instead := range bad {
		if _, ok := d[path]; ok {
			t.Errorf("%s depends on %s; %s", pkg, path, instead)
		}
	}
}

func TestControlImportsNoSchedule(t *testing.T) {
	forbid(t, mod+"/control", map[string]string{
		mod + "/schedule": "the vocabulary carries plain values; links are parsed by meetinglink",
		ical:              "the vocabulary must not link a calendar parser",
		rrule:             "the vocabulary must not link a calendar parser",
	})
}

func TestRoomctlLinksOnlyTheConsoleClient(t *testing.T) {
	forbid(t, mod+"/cmd/roomctl", map[string]string{
		mod + "/schedule":       "roomctl only speaks the console protocol",
		ical:                    "roomctl must not link a calendar parser",
		rrule:                   "roomctl must not link a calendar parser",
		mod + "/control/serial": "roomctl dials with control/consoleclient; the console server stays in roomd",
		mod + "/room":           "roomctl sends lines; the room is roomd's",
	})
}

func TestFleetdLinksNoDeviceSide(t *testing.T) {
	forbid(t, mod+"/cmd/fleetd", map[string]string{
		mod + "/control":  "the fleet server does not speak the room's control vocabulary",
		mod + "/schedule": "the fleet server does not read calendars",
		mod + "/media":    "the fleet server does not run calls",
		mod + "/hal":      "the fleet server drives no hardware",
		mod + "/panel":    "the fleet server serves no touch panel",
		mod + "/room":     "the fleet server shares only the protocol and bundle format; the room side of provisioning is provisioning/roomport",
	})
}

func TestStatefileKnowsNoRoom(t *testing.T) {
	forbid(t, mod+"/internal/statefile", map[string]string{
		mod + "/room": "statefile writes any file; the room's store is internal/roomstate",
	})
}

// The forbidden paths above must be spelled as go list spells them, or the
// tests would pass whatever the imports: roomd links every one of them.
func TestForbiddenPathsExist(t *testing.T) {
	d := deps(t, mod+"/cmd/roomd")
	for _, path := range []string{mod + "/schedule", ical, rrule, mod + "/control", mod + "/control/serial",
		mod + "/room", mod + "/media", mod + "/hal", mod + "/panel"} {
		if _, ok := d[path]; !ok {
			t.Errorf("cmd/roomd does not depend on %s: a test above forbids a package that does not exist", path)
		}
	}
}
