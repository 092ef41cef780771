// Package systemd holds roomd's systemd units and the files that go with
// them, embedded so the image builder installs exactly what is tested:
//
//   - roomd.service: Type=notify with a watchdog, a dedicated user in the
//     video, audio, dialout, gpio and i2c groups, DevicePolicy=closed with
//     only the device classes roomd uses, and the rest of the hardening
//     (systemd-analyze security exposure at most 2.0).
//   - roomd.sysusers: the user and the gpio/i2c groups Debian lacks.
//   - roomd.tmpfiles: configuration and state directories.
//   - 60-roomd.rules: udev rules for GPIO chips, I2C buses, serial adapters
//     and cameras.
package systemd

import "embed"

// Files are the unit and its companions, by their names in this directory.
//
//go:embed roomd.service roomd.sysusers roomd.tmpfiles 60-roomd.rules
var Files embed.FS

// Install says where each file goes on the target's root file system.
var Install = map[string]string{
	"roomd.service":  "usr/lib/systemd/system/roomd.service",
	"roomd.sysusers": "usr/lib/sysusers.d/roomd.conf",
	"roomd.tmpfiles": "usr/lib/tmpfiles.d/roomd.conf",
	"60-roomd.rules": "usr/lib/udev/rules.d/60-roomd.rules",
}
