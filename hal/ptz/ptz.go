// Package ptz moves the room's camera to presets: a USB (UVC) camera
// through its V4L2 pan, tilt and zoom controls, with the positions kept in
// a file of roomd's, or a PTZ camera speaking Sony's VISCA on a serial
// port, which keeps its presets itself.
//
// [Load] opens the camera a board description names and says how it went
// as a hal.DeviceStatus. [Presets] is the room's camera-preset device
// (room.Level): a room without a camera that moves refuses a preset recall
// instead of pretending it moved.
package ptz

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/media/capture/v4l2"
)

// RoleCamera is the camera control's role in a board's report.
const RoleCamera = hal.RoleCamera

// ErrNoCamera means the room has no camera that can move to presets.
var ErrNoCamera = errors.New("ptz: this room's camera cannot move to presets (no PTZ controls, no VISCA camera described)")

// Load opens the camera spec names: "" or "none" (skipped),
// "visca:/dev/ttyUSB1" (a VISCA camera, 9600 8N1) or "uvc:/dev/video0"
// (a UVC camera's controls, presets kept in presetsFile). The closer
// releases the camera; it is nil unless the status is Loaded.
func Load(spec, presetsFile string) (hal.CameraPresets, io.Closer, hal.DeviceStatus) {
	st := hal.DeviceStatus{Name: RoleCamera, Kind: "camera", State: hal.Loaded}
	kind, path, _ := strings.Cut(spec, ":")
	var (
		cam    hal.CameraPresets
		closer io.Closer
		err    error
	)
	switch kind {
	case "", "none":
		st.State, st.Reason = hal.Skipped, "no PTZ camera described (camera_control in the board description)"
		return nil, nil, st
	case "visca":
		var v *VISCA
		v, err = OpenVISCA(hal.SerialDesc{Role: RoleCamera, Port: path}, nil)
		cam, closer = v, v
	case "uvc":
		var d *v4l2.Device
		if d, err = v4l2.Open(path); err == nil {
			var u *UVC
			var aside string
			if u, aside, err = NewUVC(d, presetsFile); err != nil {
				_ = d.Close()
			} else {
				cam, closer = u, d
				if aside != "" {
					st.Reason = "damaged presets file kept aside as " + aside
				}
			}
		}
	default:
		err = fmt.Errorf("ptz: camera control %q is not visca:PORT or uvc:DEVICE", spec)
	}
	if err != nil {
		if errors.Is(err, ErrNoPTZ) {
			st.State, st.Reason = hal.Skipped, err.Error()
		} else {
			st.State, st.Reason = hal.Failed, err.Error()
		}
		return nil, nil, st
	}
	return cam, closer, st
}

// Presets is the room's camera-preset device (it has room.Level's
// methods): SetLevel recalls a preset, Level is the last one reached.
type Presets struct {
	cam hal.CameraPresets // nil: no camera that moves

	mu   sync.Mutex
	last int
}

// NewPresets drives cam; a nil cam refuses every recall with ErrNoCamera.
func NewPresets(cam hal.CameraPresets) *Presets { return &Presets{cam: cam} }

// SetLevel moves the camera to preset n.
func (p *Presets) SetLevel(n int) error {
	if p.cam == nil {
		return ErrNoCamera
	}
	if err := p.cam.RecallPreset(n); err != nil {
		return err
	}
	p.mu.Lock()
	p.last = n
	p.mu.Unlock()
	return nil
}

// Level is the preset the camera last reached, 0 for none.
func (p *Presets) Level() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, nil
}

// Store stores the camera's position as preset n.
func (p *Presets) Store(n int) error {
	if p.cam == nil {
		return ErrNoCamera
	}
	return p.cam.StorePreset(n)
}
