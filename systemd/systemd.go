// Package systemd holds roomd's systemd units and the files that go with
// them, embedded so the image builder installs exactly what is tested:
//
//   - roomd.service: Type=notify with a watchdog, a dedicated user in the
//     video, audio, dialout, gpio and i2c groups, DevicePolicy=closed with
//     only the device classes roomd uses, and the rest of the hardening
//     (systemd-analyze security exposure at most 1.8).
//   - roomd.sysusers: the user and the gpio/i2c groups Debian lacks.
//   - roomd.tmpfiles: configuration and state directories.
//   - 60-roomd.rules: udev rules for GPIO chips, I2C buses, serial adapters
//     and cameras.
//
// # The flashable image
//
// The image (image/README.md) adds:
//
//   - roomd-image.conf: a drop-in for roomd.service: a crash loop ends in
//     "failed" (so the boot is not blessed), state and configuration on the
//     data partition, audio through PipeWire's echo canceller.
//   - roomd-bless.service: marks the booted A/B slot good once roomd is
//     READY under systemd and answers on its control socket; otherwise
//     reboots, burning one of the slot's tries.
//   - roomd-board.service: picks the board description from the device tree.
//   - roomd-growdata.service: grows the data partition on first boot.
//   - roomd-kiosk.service, roomd-kiosk.sysusers: Chromium in cage on the
//     touch screen, showing roomd's panel (images built with IMAGE_KIOSK=1).
//
// Every unit the image ships has a systemd-analyze security exposure of at
// most 3.0, roomd.service at most 1.8; units that keep a privilege say why.
//
// # The fleet server
//
// fleetd.service, fleetd.sysusers and fleetd.tmpfiles run cmd/fleetd on a
// server (not on the image): its own user, state and signing keys under
// /var/lib/fleetd, settings in /etc/fleetd/fleetd.env, exposure at most 2.0.
// FleetdInstall says where they go.
package systemd

import "embed"

// Files are the unit and its companions, by their names in this directory.
//
//go:embed roomd.service roomd.sysusers roomd.tmpfiles 60-roomd.rules
//go:embed roomd-image.conf roomd-bless.service roomd-board.service roomd-growdata.service
//go:embed roomd-kiosk.service roomd-kiosk.sysusers
//go:embed fleetd.service fleetd.sysusers fleetd.tmpfiles
var Files embed.FS

// Install says where each file goes on the target's root file system.
var Install = map[string]string{
	"roomd.service":  "usr/lib/systemd/system/roomd.service",
	"roomd.sysusers": "usr/lib/sysusers.d/roomd.conf",
	"roomd.tmpfiles": "usr/lib/tmpfiles.d/roomd.conf",
	"60-roomd.rules": "usr/lib/udev/rules.d/60-roomd.rules",

	"roomd-image.conf":       "usr/lib/systemd/system/roomd.service.d/image.conf",
	"roomd-bless.service":    "usr/lib/systemd/system/roomd-bless.service",
	"roomd-board.service":    "usr/lib/systemd/system/roomd-board.service",
	"roomd-growdata.service": "usr/lib/systemd/system/roomd-growdata.service",
	"roomd-kiosk.service":    "usr/lib/systemd/system/roomd-kiosk.service",
	"roomd-kiosk.sysusers":   "usr/lib/sysusers.d/roomd-kiosk.conf",
}

// FleetdInstall says where fleetd's unit and its companions go on a fleet
// server's root file system.
var FleetdInstall = map[string]string{
	"fleetd.service":  "usr/lib/systemd/system/fleetd.service",
	"fleetd.sysusers": "usr/lib/sysusers.d/fleetd.conf",
	"fleetd.tmpfiles": "usr/lib/tmpfiles.d/fleetd.conf",
}

// Units are the units the image enables, in the order it enables them.
var Units = []string{"roomd.service", "roomd-board.service", "roomd-growdata.service", "roomd-bless.service"}

// KioskUnits are enabled on images with the kiosk browser.
var KioskUnits = []string{"roomd-kiosk.service"}
