package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// need returns the path of a systemd tool; these tests never skip.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found: install Debian's systemd package (make setup does)", tool)
	}
	return p
}

// root makes a root file system with the host's units, roomd's files where
// Install says, and an executable at /usr/bin/roomd.
func root(t *testing.T) string {
	t.Helper()
	r := t.TempDir()
	if err := os.MkdirAll(filepath.Join(r, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(r, "usr/lib/systemd")).CombinedOutput(); err != nil {
		t.Fatalf("copying the host's units: %v %s", err, out)
	}
	for name, dst := range Install {
		b, err := Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(r, dst)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, bin := range executables(t) {
		p := filepath.Join(r, bin)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"etc", "var/lib", "usr/sbin"} {
		os.MkdirAll(filepath.Join(r, d), 0o755)
	}
	return r
}

var execLine = regexp.MustCompile(`(?m)^Exec[A-Za-z]*=[-@:+!]*(/\S+)`)

// executables are the programs the units run (the image installs them).
func executables(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{"/usr/bin/roomd": true}
	out := []string{"/usr/bin/roomd"}
	for name := range Install {
		b, err := Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range execLine.FindAllStringSubmatch(string(b), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	return out
}

// Every unit the image installs verifies cleanly, not just roomd.service.
func TestImageUnitsVerify(t *testing.T) {
	sa := need(t, "systemd-analyze")
	r := root(t)
	units := append(append([]string{}, Units...), KioskUnits...)
	out, err := exec.Command(sa, append([]string{"verify", "--man=no", "--root=" + r}, units...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify %v: %v\n%s", units, err, out)
	}
	for _, u := range units {
		if _, ok := Install[u]; !ok {
			t.Errorf("%s is enabled by the image but not in Install", u)
		}
	}
}

// The drop-in must not weaken roomd.service: its score is checked with the
// drop-in in place (root installs every file), and the crash-loop limit that
// makes rollback work is there.
func TestImageDropIn(t *testing.T) {
	b, _ := Files.ReadFile("roomd-image.conf")
	for _, want := range []string{"StartLimitIntervalSec=", "StartLimitBurst=", "RequiresMountsFor=/var/lib/roomd /etc/roomd"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("roomd-image.conf lacks %q", want)
		}
	}
	bless, _ := Files.ReadFile("roomd-bless.service")
	if !strings.Contains(string(bless), "FailureAction=reboot") {
		t.Error("roomd-bless.service must reboot when the boot is not healthy, or a bad slot never burns its tries")
	}
}

func TestVerifyPrintsNothing(t *testing.T) {
	sa := need(t, "systemd-analyze")
	r := root(t)
	// verify exits 0 even on ignored errors: any output is a failure.
	out, err := exec.Command(sa, "verify", "--man=no", "--root="+r, "roomd.service").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestVerifyCatchesMistakes(t *testing.T) {
	sa := need(t, "systemd-analyze")
	r := root(t)
	p := filepath.Join(r, Install["roomd.service"])
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "ExecStart=/usr/bin/roomd", "ExecStart=/usr/bin/roomd-missing", 1)), 0o644)
	out, _ := exec.Command(sa, "verify", "--man=no", "--root="+r, "roomd.service").CombinedOutput()
	if len(out) == 0 {
		t.Fatal("verify printed nothing for a unit whose binary is missing; the check above could not fail")
	}
}

var exposure = regexp.MustCompile(`Overall exposure level for roomd.service: ([0-9.]+)`)

func TestSecurityExposureAtMost2(t *testing.T) {
	sa := need(t, "systemd-analyze")
	r := root(t)
	unit := filepath.Join(r, Install["roomd.service"])
	// --threshold is in tenths on systemd 252: non-zero exit above 2.0.
	out, err := exec.Command(sa, "security", "--offline=true", "--threshold=20", "--root="+r, unit).CombinedOutput()
	m := exposure.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in output (%v):\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure %.1f", score)
	if err != nil || score > 2.0 {
		t.Fatalf("exposure %.1f (err %v), want at most 2.0", score, err)
	}
}

func TestUnitEssentials(t *testing.T) {
	b, _ := Files.ReadFile("roomd.service")
	u := string(b)
	for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "User=roomd",
		"SupplementaryGroups=video audio dialout gpio", "StateDirectory=roomd", "ConfigurationDirectory=roomd",
		"DevicePolicy=closed", "DeviceAllow=char-gpiochip rw", "ProtectSystem=strict"} {
		if !strings.Contains(u, want) {
			t.Errorf("roomd.service lacks %q", want)
		}
	}
}

func TestSysusersCreatesUserAndGroups(t *testing.T) {
	su := need(t, "systemd-sysusers")
	r := root(t)
	out, err := exec.Command(su, "--root="+r, filepath.Join(r, Install["roomd.sysusers"])).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(r, "etc/passwd"))
	group, _ := os.ReadFile(filepath.Join(r, "etc/group"))
	if !regexp.MustCompile(`(?m)^roomd:x:\d+:\d+:`).Match(passwd) {
		t.Fatalf("no roomd user in passwd:\n%s", passwd)
	}
	for _, g := range []string{"gpio", "i2c", "video", "audio", "dialout"} {
		if !regexp.MustCompile(`(?m)^` + g + `:x:\d+:.*\broomd\b`).Match(group) {
			t.Errorf("roomd is not in group %s:\n%s", g, group)
		}
	}
}
