package sim

import (
	"fmt"
	"sync"

	"github.com/roomd/roomd/hal"
)

// camera is a simulated PTZ camera: it keeps presets as a VISCA camera
// does (1..15, each a head position; one never stored is where the camera
// left the factory, position 0) and moves at once. It fails on demand.
type camera struct {
	faults *faults

	mu       sync.Mutex
	position int         // a position id; presets store and restore it
	preset   int         // the preset last recalled, 0 for none
	presets  map[int]int // preset -> position
}

var _ hal.CameraPresets = (*camera)(nil)

const simMaxPreset = 15

func (c *camera) RecallPreset(n int) error {
	return c.do(n, func() { c.position, c.preset = c.presets[n], n })
}

func (c *camera) StorePreset(n int) error {
	return c.do(n, func() { c.presets[n] = c.position })
}

// do runs op on the camera's state for preset n, unless a fault is
// injected or n is out of range.
func (c *camera) do(n int, op func()) error {
	if err := c.faults.check(hal.RoleCamera); err != nil {
		return err
	}
	if n < 1 || n > simMaxPreset {
		return fmt.Errorf("sim: preset %d is not in 1..%d", n, simMaxPreset)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	op()
	return nil
}

// CameraPreset is the preset the simulated camera last moved to (0 for
// none), whatever faults are injected; ok is false when the board has no
// camera control.
func (b *Board) CameraPreset() (preset int, ok bool) {
	if b.camera == nil {
		return 0, false
	}
	b.camera.mu.Lock()
	defer b.camera.mu.Unlock()
	return b.camera.preset, true
}
