// Package backlight sets the room display's brightness: through a
// backlight the kernel exposes in /sys/class/backlight (panels on DSI or
// eDP, the Pi touch display), or over DDC/CI (VESA MCCS VCP code 0x10) on
// the I2C bus of an HDMI or DisplayPort connector through i2c-dev.
//
// [Load] finds one under a root directory ("/" on a device, a t.TempDir()
// in tests) and says how it went as a hal.DeviceStatus: Loaded, Skipped
// when the board has no brightness control, Failed when one is described
// but does not answer.
package backlight

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/roomd/roomd/hal"
)

// ErrNone means the board has no backlight and no DDC/CI display.
var ErrNone = errors.New("backlight: no backlight in /sys/class/backlight and no display answering DDC/CI")

// Load opens the backlight spec names (hal.Description.Backlight) under
// root. It never fails outright: the status says what loaded, what was
// skipped and why, and a nil Backlight goes with any state but Loaded.
func Load(root, spec string) (hal.Backlight, hal.DeviceStatus) {
	st := hal.DeviceStatus{Name: hal.RoleBacklight, Kind: "backlight", State: hal.Loaded}
	var (
		b   hal.Backlight
		err error
	)
	switch {
	case spec == "none":
		st.State, st.Reason = hal.Skipped, "disabled in the board description"
		return nil, st
	case spec == "" || spec == "auto":
		b, err = find(root)
		if errors.Is(err, ErrNone) {
			st.State, st.Reason = hal.Skipped, err.Error()
			return nil, st
		}
	case strings.HasPrefix(spec, "ddc:"):
		b, err = OpenDDC(filepath.Join(root, strings.TrimPrefix(spec, "ddc:")))
	default:
		b, err = OpenSysfs(filepath.Join(root, "sys/class/backlight", spec))
	}
	if err != nil {
		st.State, st.Reason = hal.Failed, err.Error()
		return nil, st
	}
	return b, st
}

// find picks the sysfs backlight the kernel documents as preferred
// (firmware, then platform, then raw), else the first display connector
// whose DDC bus answers.
func find(root string) (hal.Backlight, error) {
	dirs, _ := filepath.Glob(filepath.Join(root, "sys/class/backlight/*"))
	rank := func(dir string) int {
		t, _ := os.ReadFile(filepath.Join(dir, "type"))
		return slices.Index([]string{"firmware", "platform", "raw"}, strings.TrimSpace(string(t)))
	}
	slices.SortStableFunc(dirs, func(a, b string) int { return cmp.Compare(uint(rank(a)), uint(rank(b))) })
	var errs []error
	for _, d := range dirs {
		b, err := OpenSysfs(d)
		if err == nil {
			return b, nil
		}
		errs = append(errs, err)
	}
	for _, bus := range ddcBuses(root) {
		b, err := OpenDDC(bus)
		if err == nil {
			return b, nil
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, ErrNone
}

// ddcBuses lists the i2c-dev nodes of the DRM connectors' DDC buses
// (/sys/class/drm/card0-HDMI-A-1/ddc links to the bus's i2c-N).
func ddcBuses(root string) []string {
	links, _ := filepath.Glob(filepath.Join(root, "sys/class/drm/card*-*/ddc"))
	var out []string
	for _, l := range links {
		t, err := os.Readlink(l)
		if err != nil {
			continue
		}
		if n := filepath.Base(t); strings.HasPrefix(n, "i2c-") {
			out = append(out, filepath.Join(root, "dev", n))
		}
	}
	return out
}

// Sysfs is a backlight in /sys/class/backlight.
type Sysfs struct {
	dir string
	max int
}

var _ hal.Backlight = (*Sysfs)(nil)

// OpenSysfs opens the backlight in dir; it must have a max_brightness
// above zero and a brightness file that can be read.
func OpenSysfs(dir string) (*Sysfs, error) {
	m, err := readInt(filepath.Join(dir, "max_brightness"))
	if err != nil {
		return nil, err
	}
	if m <= 0 {
		return nil, fmt.Errorf("backlight: %s: max_brightness is %d; the driver offers no range", dir, m)
	}
	s := &Sysfs{dir: dir, max: m}
	if _, err := s.Brightness(); err != nil {
		return nil, err
	}
	return s, nil
}

// Brightness reads brightness back in percent of max_brightness.
func (s *Sysfs) Brightness() (int, error) {
	v, err := readInt(filepath.Join(s.dir, "brightness"))
	if err != nil {
		return 0, err
	}
	return toPercent(v, s.max), nil
}

// SetBrightness writes brightness; a write the driver refuses (EACCES
// without the udev rule, EINVAL out of range) is returned as is.
func (s *Sysfs) SetBrightness(percent int) error {
	if err := checkPercent(percent); err != nil {
		return err
	}
	p := filepath.Join(s.dir, "brightness")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("backlight: %w (roomd needs write access to it: see docs/hardware.md for the udev rule)", err)
	}
	_, err = f.WriteString(strconv.Itoa(fromPercent(percent, s.max)) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backlight: writing %s: %w", p, err)
	}
	return nil
}

// String names the backlight for status and logs.
func (s *Sysfs) String() string { return "sysfs:" + filepath.Base(s.dir) }

func readInt(p string) (int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("backlight: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("backlight: %s holds %q, not a number", p, strings.TrimSpace(string(b)))
	}
	return v, nil
}

func checkPercent(p int) error {
	if p < 0 || p > 100 {
		return fmt.Errorf("backlight: brightness %d%% is not in 0..100", p)
	}
	return nil
}

// toPercent and fromPercent round to the nearest step, so a value read
// back after a write gives the percent written (for ranges ≥ 100 steps).
func toPercent(v, max int) int { return (v*100 + max/2) / max }

func fromPercent(p, max int) int { return (p*max + 50) / 100 }
