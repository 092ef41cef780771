package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/roomd/roomd/hal"
)

func loadBoard(t *testing.T, name string) hal.Description {
	t.Helper()
	var d hal.Description
	md, err := toml.DecodeFile(filepath.Join("boards", name), &d)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("%s: unknown keys %v", name, und)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// The Pi's description file is the built-in rpi4 profile, written out.
func TestRPi4BoardIsTheProfile(t *testing.T) {
	got := loadBoard(t, "rpi4.toml")
	want, err := hal.Profile("rpi4")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("boards/rpi4.toml differs from hal.Profile(\"rpi4\"):\n got %+v\nwant %+v", got, want)
	}
}

// The emulated board leaves line 3 (the virt machine's power key) alone and
// uses the USB serial adapter qemu emulates.
func TestQemuBoard(t *testing.T) {
	d := loadBoard(t, "qemu-virt.toml")
	if d.GPIOChip != "gpiochip0" {
		t.Errorf("gpio_chip %q", d.GPIOChip)
	}
	for _, o := range append(d.LEDs, d.Relays...) {
		if o.Line == "3" {
			t.Errorf("%s uses line 3, the power key", o.Role)
		}
	}
	if len(d.Serial) != 1 || d.Serial[0].Port != "/dev/ttyUSB0" {
		t.Errorf("serial %+v", d.Serial)
	}
}

// The default configuration the image installs is one roomd accepts.
func TestDefaultConfig(t *testing.T) {
	b, err := os.ReadFile("rootfs/usr/share/roomd/roomd.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `description = "/run/roomd-board.toml"`) {
		t.Error("roomd.toml does not use the board picked at boot")
	}
	var any map[string]any
	if _, err := toml.Decode(string(b), &any); err != nil {
		t.Fatal(err)
	}
}

// The shell parts of the recipe at least parse.
func TestScriptsParse(t *testing.T) {
	scripts, _ := filepath.Glob("*.sh")
	helpers, _ := filepath.Glob("rootfs/usr/lib/roomd/*")
	for _, s := range append(scripts, helpers...) {
		shell := "sh"
		if b, _ := os.ReadFile(s); strings.HasPrefix(string(b), "#!/usr/bin/env bash") || strings.HasPrefix(string(b), "#!/bin/bash") {
			shell = "bash"
		}
		if out, err := exec.Command(shell, "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", shell, s, err, out)
		}
	}
}

// bootenv is RAUC's bootloader backend: it must keep the counters the way
// boot.cmd reads them.
func TestBootenvBackend(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "roomd-boot.env")
	os.WriteFile(envFile, []byte("BOOT_ORDER=A B\nBOOT_A_LEFT=2\nBOOT_B_LEFT=0\nBOOT_EXTRA=quiet x=1\n\x00"), 0o644)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("rootfs/usr/lib/roomd/bootenv", args...)
		cmd.Env = append(os.Environ(), "ROOMD_BOOTENV="+envFile)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bootenv %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run("get-primary"); got != "A" {
		t.Errorf("get-primary %q", got)
	}
	if got := run("get-state", "B"); got != "bad" {
		t.Errorf("B with no tries is %q, want bad", got)
	}
	run("set-primary", "B")
	if got := run("get", "BOOT_ORDER"); got != "B A" {
		t.Errorf("after set-primary B: order %q", got)
	}
	if got := run("get", "BOOT_B_LEFT"); got != "3" {
		t.Errorf("after set-primary B: B has %q tries", got)
	}
	run("set-state", "A", "good")
	run("set-state", "B", "bad")
	b, _ := os.ReadFile(envFile)
	want := "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\nBOOT_EXTRA=quiet x=1\n"
	if string(b) != want {
		t.Errorf("env file:\n%q\nwant\n%q", b, want)
	}
}
