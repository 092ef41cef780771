package sim

import (
	"fmt"
	"sync"

	"github.com/roomd/roomd/hal"
)

// backlight is the simulated display's brightness, in percent. It starts at
// 100, as a panel does at power-on, and fails on demand like every device.
type backlight struct {
	faults *faults

	mu      sync.Mutex
	percent int
}

var _ hal.Backlight = (*backlight)(nil)

func (l *backlight) Brightness() (int, error) {
	if err := l.faults.check(hal.RoleBacklight); err != nil {
		return 0, err
	}
	return l.level(), nil
}

func (l *backlight) SetBrightness(percent int) error {
	if err := l.faults.check(hal.RoleBacklight); err != nil {
		return err
	}
	if percent < 0 || percent > 100 {
		return fmt.Errorf("sim: brightness %d%% is not in 0..100", percent)
	}
	l.mu.Lock()
	l.percent = percent
	l.mu.Unlock()
	return nil
}

// level is the true brightness, whatever faults are injected.
func (l *backlight) level() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.percent
}

// Brightness is the simulated display's brightness in percent, whatever
// faults are injected; ok is false when the board has no backlight.
func (b *Board) Brightness() (percent int, ok bool) {
	if b.backlight == nil {
		return 0, false
	}
	return b.backlight.level(), true
}
