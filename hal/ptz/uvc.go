package ptz

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/internal/statefile"
	"github.com/roomd/roomd/media/capture/v4l2"
)

// UVC camera controls (V4L2_CID_CAMERA_CLASS_BASE + 8, 9, 13).
const (
	CIDPanAbsolute  = 0x009a0908
	CIDTiltAbsolute = 0x009a0909
	CIDZoomAbsolute = 0x009a090d
)

// ErrNoPTZ means the camera has none of the pan, tilt and zoom controls.
var ErrNoPTZ = errors.New("ptz: the camera has no pan, tilt or zoom control")

// Controls are a V4L2 device's controls; *v4l2.Device has them.
type Controls interface {
	QueryControl(id uint32) (v4l2.ControlInfo, error)
	GetControl(id uint32) (int32, error)
	SetControl(id uint32, v int32) error
}

var _ Controls = (*v4l2.Device)(nil)

// UVC is a USB camera whose presets are the positions of its pan, tilt
// and zoom controls, which roomd stores in a file of its own (UVC cameras
// have no preset memory).
type UVC struct {
	dev   Controls
	ctrls []v4l2.ControlInfo // the PTZ controls the camera has
	path  string

	mu      sync.Mutex
	presets map[string]map[string]int32 // preset number -> control id -> value
}

var _ hal.CameraPresets = (*UVC)(nil)

// NewUVC drives dev's pan, tilt and zoom controls, with the presets kept in
// path ("" keeps them in memory only). A presets file that cannot be read is set aside (NAME.corrupt-TIME)
// and the camera starts without presets; set aside says where it went.
func NewUVC(dev Controls, path string) (u *UVC, setAside string, err error) {
	u = &UVC{dev: dev, path: path, presets: map[string]map[string]int32{}}
	for _, id := range []uint32{CIDPanAbsolute, CIDTiltAbsolute, CIDZoomAbsolute} {
		c, err := dev.QueryControl(id)
		switch {
		case errors.Is(err, v4l2.ErrNoControl):
			continue
		case err != nil:
			return nil, "", fmt.Errorf("ptz: %w", err)
		case c.Flags&v4l2.CtrlFlagReadOnly != 0:
			continue
		}
		u.ctrls = append(u.ctrls, c)
	}
	if len(u.ctrls) == 0 {
		return nil, "", ErrNoPTZ
	}
	if path == "" {
		return u, "", nil
	}
	if _, err := statefile.LoadJSON(path, &u.presets); err != nil {
		u.presets = map[string]map[string]int32{}
		if setAside, err = statefile.SetAside(path, time.Now()); err != nil {
			return nil, "", fmt.Errorf("ptz: camera presets file is damaged and cannot be set aside: %w", err)
		}
	}
	return u, setAside, nil
}

// StorePreset reads the camera's position and stores it as preset n.
func (u *UVC) StorePreset(n int) error {
	if n < 1 {
		return fmt.Errorf("ptz: preset %d is not 1 or more", n)
	}
	pos := map[string]int32{}
	for _, c := range u.ctrls {
		v, err := u.dev.GetControl(c.ID)
		if err != nil {
			return fmt.Errorf("ptz: reading %s: %w", c.Name, err)
		}
		pos[strconv.FormatUint(uint64(c.ID), 16)] = v
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.presets[strconv.Itoa(n)] = pos
	if u.path == "" {
		return nil
	}
	if err := statefile.SaveJSON(u.path, u.presets, 0o600); err != nil {
		delete(u.presets, strconv.Itoa(n))
		return fmt.Errorf("ptz: saving camera presets: %w", err)
	}
	return nil
}

// RecallPreset sets the camera's controls to preset n; a preset never
// stored is an error that says so.
func (u *UVC) RecallPreset(n int) error {
	u.mu.Lock()
	pos, ok := u.presets[strconv.Itoa(n)]
	u.mu.Unlock()
	if !ok {
		return fmt.Errorf("ptz: camera preset %d was never stored (store it first)", n)
	}
	for _, c := range u.ctrls {
		v, ok := pos[strconv.FormatUint(uint64(c.ID), 16)]
		if !ok {
			continue // a control the camera did not have when the preset was stored
		}
		if err := u.dev.SetControl(c.ID, c.Clamp(v)); err != nil {
			return fmt.Errorf("ptz: setting %s: %w", c.Name, err)
		}
	}
	return nil
}
