//go:build imagetest

package imagetest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	pin = "2468" // the test's console PIN; the image ships with none
	// Kernel arguments the test adds through the boot counters' BOOT_EXTRA:
	// Debian's virtual-hardware modules, and a quiet UART for the shell.
	// A long device timeout: on a loaded build machine udev's coldplug under
	// emulation can take longer than systemd's default 90 s.
	bootExtra = "systemd.default_device_timeout_sec=600 modules_load=vivid,snd_aloop,uinput vivid.n_devs=1 vivid.node_types=0x1 quiet loglevel=3"
)

// paths the Makefile passes: the test image, host binaries, the image cache.
func env(t *testing.T, name, hint string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		msg := name + " is not set: " + hint
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

type partition struct {
	Node  string `json:"node"`
	Start int64  `json:"start"`
	Size  int64  `json:"size"`
}

// partitions reads the image's MBR with sfdisk.
func partitions(t *testing.T, img string) []partition {
	t.Helper()
	var pt struct {
		PartitionTable struct {
			Partitions []partition `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal([]byte(host(t, need(t, "sfdisk"), "-J", img)), &pt); err != nil {
		t.Fatal(err)
	}
	if n := len(pt.PartitionTable.Partitions); n != 4 {
		t.Fatalf("%s has %d partitions, want boot, root A, root B, data", img, n)
	}
	return pt.PartitionTable.Partitions
}

// setBootExtra writes the boot counters file on the image's FAT partition
// with mtools, as the test's kernel arguments.
func setBootExtra(t *testing.T, img string, boot partition, extra string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "roomd-boot.env")
	os.WriteFile(f, []byte("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\nBOOT_EXTRA="+extra+"\n"), 0o644)
	host(t, need(t, "mcopy"), "-o", "-i", fmt.Sprintf("%s@@%d", img, boot.Start*512), f, "::roomd-boot.env")
}

// brokenUpdate makes a signed update bundle whose roomd exits at once: it
// never becomes healthy, so the board must fall back to the slot it had.
func brokenUpdate(t *testing.T, dir, cache string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root.ext4")
	host(t, "cp", "--sparse=always", filepath.Join(dir, "root.ext4"), root)
	script := filepath.Join(t.TempDir(), "roomd")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'roomd: a broken update (boot test)' >&2\nexit 1\n"), 0o755)
	cmds := "cd /usr/bin\nrm roomd\nwrite " + script + " roomd\nsif roomd mode 0100755\n"
	cf := filepath.Join(t.TempDir(), "debugfs.cmds")
	os.WriteFile(cf, []byte(cmds), 0o644)
	host(t, need(t, "debugfs"), "-w", "-f", cf, root)
	if out := host(t, "debugfs", "-R", "cat /usr/bin/roomd", root); !strings.Contains(out, "broken update") {
		t.Fatalf("the broken root file system still has the real roomd:\n%.200s", out)
	}
	bundle := filepath.Join(t.TempDir(), "broken.raucb")
	need(t, "rauc")
	need(t, "mksquashfs")
	cmd := exec.Command(filepath.Join(repoRoot(t), "image", "mkbundle.sh"), root, "0.0.0-broken", bundle)
	cmd.Env = append(os.Environ(), "IMAGE_CACHE="+cache)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkbundle: %v\n%s", err, out)
	}
	// The bundle reaches the guest on a second disk.
	ddir := t.TempDir()
	host(t, "cp", bundle, filepath.Join(ddir, "update.raucb"))
	disk := filepath.Join(t.TempDir(), "update.ext4")
	fi, _ := os.Stat(bundle)
	host(t, need(t, "mkfs.ext4"), "-q", "-L", "update", "-d", ddir, disk, fmt.Sprintf("%dM", fi.Size()>>20+32))
	return disk
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// TestImage boots the test image once and checks roomd on it, then installs
// an update that never becomes healthy and watches the board roll back.
func TestImage(t *testing.T) {
	dir := env(t, "ROOMD_IMAGE_DIR", "the test image's directory (make test-image sets it)")
	hostBin := env(t, "ROOMD_HOST_BIN", "the host's roomd binary directory (make build)")
	cache := os.Getenv("ROOMD_IMAGE_CACHE")
	if cache == "" {
		cache = filepath.Join(repoRoot(t), "out", "image-cache")
	}
	needFile(t, filepath.Join(dir, "roomd.img"), "make image IMAGE_TEST=1")
	logDir := filepath.Join(dir, "test-logs")
	os.MkdirAll(logDir, 0o755)

	// A copy of the image, 256 MiB larger than built: the card is bigger
	// than the image and the first boot grows the data partition into it.
	img := filepath.Join(t.TempDir(), "roomd.img")
	host(t, "cp", "--sparse=always", filepath.Join(dir, "roomd.img"), img)
	fi, _ := os.Stat(img)
	built := fi.Size()
	os.Truncate(img, built+256<<20)
	parts := partitions(t, img)
	setBootExtra(t, img, parts[0], bootExtra)

	start := time.Now()
	update := brokenUpdate(t, dir, cache)
	t.Logf("broken update bundle made in %s", time.Since(start).Round(time.Second))

	hash := strings.TrimSpace(string(mustHash(t, hostBin)))

	boot := time.Now()
	v := startVM(t, vmOptions{image: img, logDir: logDir,
		extra: []string{"-drive", "if=none,id=upd,file=" + update + ",format=raw,readonly=on", "-device", "virtio-blk-pci,drive=upd"}})
	m, end := v.con.expect(t, 0, regexp.MustCompile(`roomd: booting slot ([AB])`), 60*time.Second)
	if m[1] != "A" {
		t.Fatalf("first boot took slot %s, want A", m[1])
	}
	v.login(end, 8*time.Minute) // 40 s to 2 min here; more when the machine is loaded
	t.Logf("boot to a shell: %s", time.Since(boot).Round(time.Second))

	t.Run("ReadyAndBlessed", func(t *testing.T) {
		v.t = t
		v.poll("systemctl is-active roomd.service", 2*time.Minute, func(out string, _ int) bool { return strings.TrimSpace(out) == "active" })
		t.Logf("roomd READY %s after power-on", time.Since(boot).Round(time.Second))
		if st := v.must("systemctl show -p StatusText --value roomd.service"); !strings.Contains(st, "ready") {
			t.Errorf("roomd's status: %q", st)
		}
		v.poll("systemctl is-active roomd-bless.service", 2*time.Minute, func(out string, _ int) bool { return strings.TrimSpace(out) == "active" })
		if left := strings.TrimSpace(v.must("/usr/lib/roomd/bootenv get BOOT_A_LEFT")); left != "3" {
			t.Errorf("slot A has %s tries left after a healthy boot, want 3 (blessed)", left)
		}
		if out := v.must("cat /proc/cmdline"); !strings.Contains(out, "rauc.slot=A") {
			t.Errorf("kernel command line: %s", out)
		}
		if out := v.must("rauc status --output-format=shell"); !strings.Contains(out, "RAUC_SYSTEM_BOOTED_BOOTNAME='A'") {
			t.Errorf("rauc status:\n%s", out)
		}
		t.Logf("boot blessed %s after power-on", time.Since(boot).Round(time.Second))
	})

	t.Run("ReadOnlyRootAndData", func(t *testing.T) {
		v.t = t
		if out := v.must("findmnt -no OPTIONS /"); !strings.HasPrefix(out, "ro") {
			t.Errorf("/ is mounted %s, want ro", out)
		}
		if _, code := v.sh("touch /usr/roomd-test"); code == 0 {
			t.Error("wrote to the root file system")
		}
		for _, mp := range []string{"/var/lib/roomd", "/etc/roomd"} {
			if out := v.must("findmnt -no SOURCE " + mp); !strings.Contains(out, "vda4") {
				t.Errorf("%s is on %q, want the data partition", mp, out)
			}
		}
		if _, code := v.sh("test -f /etc/roomd/roomd.toml"); code != 0 {
			t.Error("no roomd.toml was put on the data partition at first boot")
		}
		size, _ := strconv.ParseInt(strings.TrimSpace(v.must("lsblk -bno SIZE /dev/vda4")), 10, 64)
		fs := v.must("df -B1 --output=size /data | tail -1")
		fsSize, _ := strconv.ParseInt(strings.TrimSpace(fs), 10, 64)
		if want := parts[3].Size*512 + 200<<20; size < want || fsSize < 200<<20 {
			t.Errorf("data partition %d bytes, file system %d bytes: not grown to the end of the disk (want ≥ %d)", size, fsSize, want)
		}
	})

	// The test's configuration: this board's devices, the vivid camera at a
	// size the emulated CPU can encode, and a PIN for the serial console.
	cfg := fmt.Sprintf(`[board]
description = "/run/roomd-board.toml"
[console]
login = true
admin_pin_hash = %q
[media]
video = "camera"
camera = "/dev/video0"
width = 320
height = 180
fps = 10
audio = "tone"
speaker = "off"
framebuffer = "off"
codecs = ["vp8"]
hardware_encoder = false
[log]
level = "debug"
`, hash)
	v.must("cat > /etc/roomd/roomd.toml <<'EOF'\n" + cfg + "EOF\nroomd check-config /etc/roomd/roomd.toml")
	v.must("systemctl restart roomd.service")
	v.poll("systemctl is-active roomd.service", time.Minute, func(out string, _ int) bool { return strings.TrimSpace(out) == "active" })

	t.Run("HardeningLeavesDevices", func(t *testing.T) {
		v.t = t
		if out := v.must("readlink /run/roomd-board.toml"); !strings.Contains(out, "qemu-virt") {
			t.Errorf("board description: %s", out)
		}
		out := v.must("roomctl xStatus Hardware")
		for _, dev := range []string{"mute_led", "call_led", "display_power", "console"} {
			if !regexp.MustCompile(`(?m)^\*s Hardware Device ` + dev + ` State: Loaded`).MatchString(out) {
				t.Errorf("%s is not loaded under roomd.service's hardening:\n%s", dev, out)
			}
		}
		// The unit's device policy is what allows them.
		if out := v.must("systemctl show -p DevicePolicy --value roomd.service"); strings.TrimSpace(out) != "closed" {
			t.Errorf("DevicePolicy=%s", out)
		}
	})

	t.Run("AudioEchoCancel", func(t *testing.T) {
		v.t = t
		// PipeWire runs in roomd's lingering user session.
		const asRoomd = "runuser -u roomd -- env XDG_RUNTIME_DIR=/run/user/$(id -u roomd) "
		v.poll(asRoomd+"systemctl --user is-active pipewire.service pipewire-pulse.service wireplumber.service", time.Minute,
			func(out string, code int) bool { return code == 0 })
		if _, code := v.sh("test -S /run/roomd-audio/pulse"); code != 0 {
			t.Error("no PulseAudio socket for roomd in /run/roomd-audio")
		}
		// The echo canceller's source and sink, and the ALSA loopback card
		// (snd-aloop) as the room's microphone and speaker.
		nodes := v.poll(asRoomd+"pw-cli ls Node", time.Minute, func(out string, _ int) bool {
			return strings.Contains(out, `"roomd-ec-source"`) && strings.Contains(out, `"roomd-ec-sink"`) &&
				strings.Contains(out, "alsa_input.") && strings.Contains(out, "alsa_output.")
		})
		var names []string
		for _, l := range scanLines(nodes) {
			if strings.Contains(l, "node.name") {
				names = append(names, strings.TrimSpace(l))
			}
		}
		t.Logf("PipeWire nodes: %s", strings.Join(names, "; "))
		if strings.Contains(nodes, "v4l2_input") {
			t.Error("PipeWire made a node of the camera, which is roomd's")
		}
	})

	t.Run("SerialConsole", func(t *testing.T) {
		v.t = t
		u := v.usb
		// roomd prompts when it opens the port; an Enter gets a new prompt.
		prompt := regexp.MustCompile(`PIN: `)
		if _, _, err := u.wait(0, prompt, 10*time.Second); err != nil {
			from := u.mark()
			u.send(t, "\r")
			u.expect(t, from, prompt, 30*time.Second)
		}
		end := u.mark()
		u.send(t, pin+"\r")
		_, end = u.expect(t, end, regexp.MustCompile(`\*r Login successful\r?\n\*\* end\r?\nOK`), 30*time.Second)
		u.send(t, "xStatus Audio Microphones Mute\r")
		m, _ := u.expect(t, end, regexp.MustCompile(`\*s Audio Microphones Mute: (On|Off)\r?\n\*\* end\r?\nOK`), 30*time.Second)
		t.Logf("xStatus over the USB serial adapter: mute %s", m[1])
		if m[1] == "On" {
			// Only someone in the room may unmute: the serial port is.
			serialCommand(t, u, "xCommand Audio Microphones Unmute")
		}
		serialCommand(t, u, "xFeedback Register /Status/Audio/Microphones")
		end = u.mark()
		// The change comes from elsewhere (the control socket); the serial
		// session hears it as feedback: a block not followed by OK.
		v.must("roomctl xCommand Audio Microphones Mute")
		u.expect(t, end, regexp.MustCompile(`\*s Audio Microphones Mute: On\r?\n\*\* end\r?\n(?:[^O]|$)`), 30*time.Second)
	})

	t.Run("GPIOLED", func(t *testing.T) {
		v.t = t
		v.sh("mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug")
		// The first requested line of the PL061 is line 0, the mute LED.
		const line0 = `awk '/pl061/ {chip=1; next} /^gpiochip/ {chip=0} chip && /gpio-/ {print; exit}' /sys/kernel/debug/gpio`
		for _, c := range []struct{ cmd, level string }{{"Mute", "hi"}, {"Unmute", "lo"}, {"Mute", "hi"}} {
			// On the serial console, logged in above: in the room, so it may unmute.
			serialCommand(t, v.usb, "xCommand Audio Microphones "+c.cmd)
			out := v.poll(line0, 20*time.Second, func(out string, _ int) bool {
				return regexp.MustCompile(`\bout\s+` + c.level + `\b`).MatchString(out)
			})
			t.Logf("after %s: %s", c.cmd, strings.TrimSpace(out))
		}
	})

	t.Run("CameraFrames", func(t *testing.T) {
		v.t = t
		v.must("v=$(ls /sys/class/video4linux/video0/name) && cat /sys/class/video4linux/video0/name")
		v.must("systemctl reset-failed whip-relay 2>/dev/null; systemd-run --unit=whip-relay /usr/lib/roomd/test/whip-relay -url /run/whip-relay.url")
		base := strings.TrimSpace(v.poll("cat /run/whip-relay.url", 30*time.Second, func(out string, code int) bool { return code == 0 && strings.HasPrefix(out, "http://") }))
		link := "whip+" + base + "/whip/room?whep=" + url.QueryEscape(base+"/whep/room")
		v.must(fmt.Sprintf(`roomctl 'xCommand Call Join Uri: "%s"'`, link))
		// A join from the control socket (outside the room) starts with the
		// camera private; someone in the room (the serial console) opens it.
		serialCommand(t, v.usb, "xCommand Video Camera Privacy Set Mode: Off")
		var st string
		v.poll("roomctl xStatus Call", 2*time.Minute, func(out string, _ int) bool {
			st = out
			fps := regexp.MustCompile(`\*s Call SendFps: (\d+)`).FindStringSubmatch(out)
			return strings.Contains(out, "*s Call State: InCall") && fps != nil && fps[1] != "0"
		})
		t.Logf("in a call on the guest's loopback:\n%s", st)
		// roomd says when its V4L2 capture opened, and when a camera is lost.
		journal := v.poll("journalctl -b -u roomd.service -o cat | grep -i -E 'camera (live|lost|unavailable)'", 30*time.Second,
			func(out string, _ int) bool { return strings.Contains(out, "camera live") })
		t.Logf("roomd's journal:\n%s", journal)
		if !strings.Contains(journal, "vivid") && !strings.Contains(journal, "video0") {
			t.Errorf("the camera that went live is not vivid's /dev/video0")
		}
		if i := strings.LastIndex(journal, "camera live"); strings.Contains(journal[i:], "camera lost") {
			t.Errorf("the camera was lost after it went live: frames are placeholders")
		}
		if !strings.Contains(st, "video0") && !strings.Contains(strings.ToLower(st), "vivid") {
			// Status lags the capture (see the final report); the journal
			// above is roomd's own word that V4L2 capture runs.
			t.Logf("xStatus Call Camera does not name the vivid device")
		}
		v.poll("journalctl -u whip-relay -n 1 -o cat", 30*time.Second, func(out string, _ int) bool {
			m := regexp.MustCompile(`video=(\d+)`).FindStringSubmatch(out)
			return m != nil && m[1] != "0"
		})
		v.must("roomctl 'xCommand Call Leave'")
		v.sh("systemctl stop whip-relay")
	})

	t.Run("KernelDrivers", func(t *testing.T) {
		v.t = t
		realDrivers(t, v)
	})

	t.Run("WatchdogRestartsHungRoomd", func(t *testing.T) {
		v.t = t
		pid := strings.TrimSpace(v.must("systemctl show -p MainPID --value roomd.service"))
		restarts := strings.TrimSpace(v.must("systemctl show -p NRestarts --value roomd.service"))
		// A hung roomd: stopped, it feeds nobody. WatchdogSec=20s.
		v.must("kill -STOP " + pid)
		hung := time.Now()
		v.poll("systemctl show -p MainPID --value roomd.service; systemctl is-active roomd.service", 90*time.Second, func(out string, _ int) bool {
			l := scanLines(out)
			return len(l) == 2 && l[0] != pid && l[0] != "0" && l[1] == "active"
		})
		t.Logf("hung roomd replaced after %s", time.Since(hung).Round(time.Second))
		if n := strings.TrimSpace(v.must("systemctl show -p NRestarts --value roomd.service")); n == restarts {
			t.Errorf("NRestarts still %s", n)
		}
		if out, _ := v.sh("journalctl -u roomd.service -o cat | grep -i 'watchdog timeout'"); out == "" {
			t.Error("the journal does not say the watchdog fired")
		}
	})

	t.Run("BrokenUpdateRollsBack", func(t *testing.T) {
		v.t = t
		v.must("mkdir -p /run/update && mount -o ro /dev/vdb /run/update")
		inst := time.Now()
		// Copying the 1¼ GiB slot takes about a minute in emulation, over
		// three when the build machine is loaded.
		if out, code, err := v.trySh("rauc install /run/update/update.raucb", 10*time.Minute); err != nil || code != 0 {
			t.Fatalf("rauc install: exit %d, %v\n%s", code, err, out)
		}
		t.Logf("rauc install: %s", time.Since(inst).Round(time.Second))
		if out := v.must("/usr/lib/roomd/bootenv get BOOT_ORDER; /usr/lib/roomd/bootenv get BOOT_B_LEFT"); !strings.HasPrefix(out, "B A\n3") {
			t.Fatalf("after the install the counters are:\n%s", out)
		}
		from := v.con.mark()
		reboot := time.Now()
		v.con.send(t, "systemctl reboot\n")
		end := from
		for i := 1; i <= 3; i++ {
			var m []string
			m, end = v.con.expect(t, end, regexp.MustCompile(`roomd: booting slot ([AB])`), 4*time.Minute)
			if m[1] != "B" {
				t.Fatalf("boot %d after the update took slot %s, want B (it has three tries)", i, m[1])
			}
			// Slot B (written by rauc) boots to user space: the autologin on
			// the UART runs from its root file system; then its broken
			// roomd keeps it from being blessed.
			_, end = v.con.expect(t, end, regexp.MustCompile(`roomd login: root \(automatic login\)`), 6*time.Minute) // 1 to 3 min here; more when the machine is loaded
			t.Logf("trial boot %d of slot B reached user space at %s", i, time.Since(reboot).Round(time.Second))
		}
		m, end := v.con.expect(t, end, regexp.MustCompile(`roomd: booting slot ([AB])`), 4*time.Minute)
		if m[1] != "A" {
			t.Fatalf("after three unhealthy boots of B the board booted %s, want A", m[1])
		}
		t.Logf("back on slot A %s after the reboot", time.Since(reboot).Round(time.Second))
		v.login(end, 3*time.Minute)
		v.poll("systemctl is-active roomd.service", 2*time.Minute, func(out string, _ int) bool { return strings.TrimSpace(out) == "active" })
		v.poll("systemctl is-active roomd-bless.service", 2*time.Minute, func(out string, _ int) bool { return strings.TrimSpace(out) == "active" })
		out := v.must("cat /proc/cmdline; /usr/lib/roomd/bootenv get BOOT_A_LEFT; /usr/lib/roomd/bootenv get BOOT_B_LEFT")
		l := scanLines(out)
		if len(l) < 3 || !strings.Contains(l[0], "rauc.slot=A") || l[1] != "3" || l[2] != "0" {
			t.Errorf("after the rollback: %s", out)
		}
	})
}

// serialCommand sends a request on a logged-in serial console and fails
// the test unless the reply ends in OK.
func serialCommand(t *testing.T, u *console, req string) string {
	t.Helper()
	from := u.mark()
	u.send(t, req+"\r")
	m, _ := u.expect(t, from, regexp.MustCompile(`(?s)(.*?)\*\* end\r?\n(OK|ERROR[^\r\n]*)`), 30*time.Second)
	if m[2] != "OK" {
		t.Fatalf("serial console: %s: %s\n%s", req, m[2], m[1])
	}
	return m[1]
}

func mustHash(t *testing.T, hostBin string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(hostBin, "roomd"), "hash-pin")
	cmd.Stdin = strings.NewReader(pin + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("roomd hash-pin: %v", err)
	}
	return out
}
