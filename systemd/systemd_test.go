package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// need returns the path of a systemd tool; a missing tool fails the test.
func need(t *testing.T, tool string) string {
	t.Helper()
	if testing.Short() { // make test-unit: the host's systemd tools are left to make test
		t.Skipf("needs %s: -short (make test-unit) leaves it to make test, which CI runs", tool)
	}
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found: install Debian's systemd package (make setup does)", tool)
	}
	return p
}

// installed are every file of this package and where it goes: the image's
// (Install) and the fleet server's (FleetdInstall).
func installed() map[string]string {
	m := map[string]string{}
	for _, in := range []map[string]string{Install, FleetdInstall} {
		for name, dst := range in {
			m[name] = dst
		}
	}
	return m
}

// root makes a root file system with the host's units, this package's files
// where Install and FleetdInstall say, and an executable at each path the
// units run.
func root(t *testing.T) string {
	t.Helper()
	r := t.TempDir()
	if err := os.MkdirAll(filepath.Join(r, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(r, "usr/lib/systemd")).CombinedOutput(); err != nil {
		t.Fatalf("copying the host's units: %v %s", err, out)
	}
	for name, dst := range installed() {
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
	for name := range installed() {
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

var exposure = regexp.MustCompile(`Overall exposure level for (\S+): ([0-9.]+)`)

// maxExposure is each unit's highest allowed systemd-analyze security
// exposure (issue 12 row 17): roomd's own 1.8, the fleet server 2.0, every
// other unit the image ships 3.0.
var maxExposure = map[string]float64{
	"roomd.service":          1.8,
	"fleetd.service":         2.0,
	"roomd-bless.service":    3.0,
	"roomd-board.service":    3.0,
	"roomd-growdata.service": 3.0,
	"roomd-kiosk.service":    3.0,
}

// score runs systemd-analyze security on a unit installed in r and returns
// its exposure; err is the tool's (non-zero above threshold, in tenths).
func score(t *testing.T, sa, r, unit string, threshold float64) (float64, []byte, error) {
	t.Helper()
	arg := "--threshold=" + strconv.Itoa(int(threshold*10+0.5))
	out, err := exec.Command(sa, "security", "--offline=true", arg, "--root="+r, filepath.Join(r, installed()[unit])).CombinedOutput()
	m := exposure.FindSubmatch(out)
	if m == nil || string(m[1]) != unit {
		t.Fatalf("%s: no exposure level in output (%v):\n%s", unit, err, out)
	}
	v, perr := strconv.ParseFloat(string(m[2]), 64)
	if perr != nil {
		t.Fatalf("%s: exposure %q: %v", unit, m[2], perr)
	}
	return v, out, err
}

// Every unit the image ships and fleetd's are scored, with the image's
// drop-in in place for roomd.service (root installs every file).
func TestSecurityExposure(t *testing.T) {
	sa := need(t, "systemd-analyze")
	r := root(t)
	for _, u := range append(append(append([]string{}, Units...), KioskUnits...), "fleetd.service") {
		max, ok := maxExposure[u]
		if !ok {
			t.Errorf("%s has no exposure limit in maxExposure", u)
			continue
		}
		v, out, err := score(t, sa, r, u, max)
		t.Logf("%s: exposure %.1f (at most %.1f)", u, v, max)
		if err != nil || v > max {
			t.Errorf("%s: exposure %.1f (err %v), want at most %.1f\n%s", u, v, err, max, out)
		}
	}
}

// The score check can fail: a unit stripped of its hardening scores high.
func TestSecurityExposureCatchesWeakUnit(t *testing.T) {
	sa := need(t, "systemd-analyze")
	r := root(t)
	p := filepath.Join(r, FleetdInstall["fleetd.service"])
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	u := string(b)
	u = u[:strings.Index(u, "# Hardening.")] + u[strings.Index(u, "[Install]"):]
	if err := os.WriteFile(p, []byte(u), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, _, err := score(t, sa, r, "fleetd.service", 2.0); err == nil || v <= 2.0 {
		t.Fatalf("fleetd.service without its hardening scored %.1f (err %v); the check above could not fail", v, err)
	}
}

// Units that keep privileges keep exactly these, for the reasons their
// comments give; a wider set must be a deliberate change here too.
func TestUnitPrivileges(t *testing.T) {
	for unit, want := range map[string][]string{
		"roomd.service":          {"User=roomd", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes"},
		"roomd-board.service":    {"User=root", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes", "PrivateDevices=yes"},
		"roomd-growdata.service": {"User=root", "CapabilityBoundingSet=CAP_SYS_ADMIN CAP_SYS_RESOURCE\n", "NoNewPrivileges=yes", "DevicePolicy=closed", "DeviceAllow=block-* rw"},
		"roomd-bless.service":    {"User=root", "CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH\n", "NoNewPrivileges=yes"},
		"roomd-kiosk.service":    {"User=kiosk", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes", "IPAddressAllow=localhost"},
		"fleetd.service":         {"User=fleetd", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes", "PrivateUsers=yes"},
	} {
		b, err := Files.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", unit, w)
			}
		}
		if n := strings.Count(string(b), "CapabilityBoundingSet="); n != 1 {
			t.Errorf("%s sets CapabilityBoundingSet= %d times, want once", unit, n)
		}
	}
}

// The kiosk's hardening leaves what cage and Chromium need: /run/user (cage's
// Wayland socket is in XDG_RUNTIME_DIR, which ProtectHome= would hide), the
// namespaces Chromium's sandbox makes, executable memory for V8's JIT, and
// the display and input devices (no device list; ProtectClock= adds one).
func TestKioskKeepsWhatTheBrowserNeeds(t *testing.T) {
	b, err := Files.ReadFile("roomd-kiosk.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		for _, bad := range []string{"ProtectHome=", "PrivateDevices=yes", "DeviceAllow=", "DevicePolicy=", "ProtectClock=yes",
			"MemoryDenyWriteExecute=yes", "PrivateNetwork=yes", "PrivateUsers=yes", "ProcSubset=", "RestrictNamespaces=yes", "DynamicUser="} {
			if strings.HasPrefix(line, bad) {
				t.Errorf("roomd-kiosk.service sets %q: the kiosk browser would not run", line)
			}
		}
	}
	if !strings.Contains(string(b), "RestrictNamespaces=user pid net\n") {
		t.Error("roomd-kiosk.service must allow exactly the user, PID and network namespaces (Chromium's sandbox)")
	}
}

// fleetd's unit verifies cleanly, and runs fleetd on its state directory
// with the keys apart from the database.
func TestFleetdUnit(t *testing.T) {
	sa := need(t, "systemd-analyze")
	r := root(t)
	out, err := exec.Command(sa, "verify", "--man=no", "--root="+r, "fleetd.service").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify fleetd.service: %v\n%s", err, out)
	}
	b, _ := Files.ReadFile("fleetd.service")
	u := string(b)
	for _, want := range []string{"ExecStart=/usr/bin/fleetd -db ${FLEETD_DB} -keys /var/lib/fleetd/keys ", " serve -listen ${FLEETD_LISTEN} -name ${FLEETD_NAME}",
		"FLEETD_DB=/var/lib/fleetd/fleet.db", "StateDirectory=fleetd fleetd/keys", "StateDirectoryMode=0700", "UMask=0077", "Restart=on-failure", "LimitNOFILE=65536"} {
		if !strings.Contains(u, want) {
			t.Errorf("fleetd.service lacks %q", want)
		}
	}
}

// fleetd's user exists after sysusers, and tmpfiles makes its state and key
// directories its own, mode 0700.
func TestFleetdSysusersAndTmpfiles(t *testing.T) {
	su := need(t, "systemd-sysusers")
	tf := need(t, "systemd-tmpfiles")
	r := root(t)
	if out, err := exec.Command(su, "--root="+r, filepath.Join(r, FleetdInstall["fleetd.sysusers"])).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(r, "etc/passwd"))
	m := regexp.MustCompile(`(?m)^fleetd:x:(\d+):(\d+):[^:]*:/var/lib/fleetd:/usr/sbin/nologin$`).FindSubmatch(passwd)
	if m == nil {
		t.Fatalf("no fleetd user with home /var/lib/fleetd and no login in passwd:\n%s", passwd)
	}
	uid, _ := strconv.Atoi(string(m[1]))
	if out, err := exec.Command(tf, "--create", "--root="+r, filepath.Join(r, FleetdInstall["fleetd.tmpfiles"])).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	for _, d := range []string{"var/lib/fleetd", "var/lib/fleetd/keys"} {
		fi, err := os.Stat(filepath.Join(r, d))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 || int(st.Uid) != uid {
			t.Errorf("/%s: %v owner %d, want a directory 0700 owned by fleetd (%d)", d, fi.Mode(), st.Uid, uid)
		}
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
