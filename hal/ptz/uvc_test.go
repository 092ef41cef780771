package ptz

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/media/capture/v4l2"
)

// uvcCamera is a UVC camera's control set as uvcvideo reports it: only the
// controls in info exist; values are clamped to their range as the driver
// does.
type uvcCamera struct {
	info map[uint32]v4l2.ControlInfo
	val  map[uint32]int32
}

func (c *uvcCamera) QueryControl(id uint32) (v4l2.ControlInfo, error) {
	i, ok := c.info[id]
	if !ok {
		return v4l2.ControlInfo{}, fmt.Errorf("%w: %#x", v4l2.ErrNoControl, id)
	}
	return i, nil
}

func (c *uvcCamera) GetControl(id uint32) (int32, error) {
	if _, ok := c.info[id]; !ok {
		return 0, v4l2.ErrNoControl
	}
	return c.val[id], nil
}

func (c *uvcCamera) SetControl(id uint32, v int32) error {
	i, ok := c.info[id]
	if !ok {
		return v4l2.ErrNoControl
	}
	if v < i.Minimum || v > i.Maximum {
		return errors.New("uvc: out of range")
	}
	c.val[id] = v
	return nil
}

// A PTZ webcam (pan ±180°, tilt ±90° in arc seconds, zoom 100..500).
func ptzCamera() *uvcCamera {
	return &uvcCamera{
		info: map[uint32]v4l2.ControlInfo{
			CIDPanAbsolute:  {ID: CIDPanAbsolute, Name: "Pan, Absolute", Minimum: -648000, Maximum: 648000, Step: 3600},
			CIDTiltAbsolute: {ID: CIDTiltAbsolute, Name: "Tilt, Absolute", Minimum: -324000, Maximum: 324000, Step: 3600},
			CIDZoomAbsolute: {ID: CIDZoomAbsolute, Name: "Zoom, Absolute", Minimum: 100, Maximum: 500, Step: 1},
		},
		val: map[uint32]int32{CIDZoomAbsolute: 100},
	}
}

func TestUVCPresetsAreStoredAndRecalled(t *testing.T) {
	cam := ptzCamera()
	file := filepath.Join(t.TempDir(), "camera-presets.json")
	u, aside, err := NewUVC(cam, file)
	if err != nil || aside != "" {
		t.Fatal(err, aside)
	}
	cam.val[CIDPanAbsolute], cam.val[CIDTiltAbsolute], cam.val[CIDZoomAbsolute] = 36000, -7200, 250
	if err := u.StorePreset(2); err != nil {
		t.Fatal(err)
	}
	if err := u.RecallPreset(1); err == nil || !strings.Contains(err.Error(), "never stored") {
		t.Errorf("recalling a preset never stored: %v", err)
	}
	cam.val[CIDPanAbsolute], cam.val[CIDTiltAbsolute], cam.val[CIDZoomAbsolute] = 0, 0, 100

	// The presets survive a restart: a new driver reads the file.
	u, _, err = NewUVC(cam, file)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPresets(u)
	if err := p.SetLevel(2); err != nil {
		t.Fatal(err)
	}
	if cam.val[CIDPanAbsolute] != 36000 || cam.val[CIDTiltAbsolute] != -7200 || cam.val[CIDZoomAbsolute] != 250 {
		t.Errorf("camera at %v after recalling preset 2", cam.val)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("presets file: %v %v", fi.Mode(), err)
	}
}

// A zoom-only camera moves what it has; a camera with no PTZ control is
// refused; a damaged presets file is set aside, not fatal.
func TestUVCWithoutControlsOrWithDamagedFile(t *testing.T) {
	if _, _, err := NewUVC(&uvcCamera{info: map[uint32]v4l2.ControlInfo{}}, filepath.Join(t.TempDir(), "p.json")); !errors.Is(err, ErrNoPTZ) {
		t.Errorf("fixed camera: %v", err)
	}
	cam := ptzCamera()
	delete(cam.info, CIDPanAbsolute)
	delete(cam.info, CIDTiltAbsolute)
	file := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(file, []byte(`{"1":{"9a090d":`), 0o600); err != nil {
		t.Fatal(err)
	}
	u, aside, err := NewUVC(cam, file)
	if err != nil || !strings.Contains(aside, "p.json.corrupt-") {
		t.Fatalf("damaged file: %v, aside %q", err, aside)
	}
	if _, err := os.Stat(aside); err != nil {
		t.Errorf("the damaged file was not kept: %v", err)
	}
	cam.val[CIDZoomAbsolute] = 400
	if err := u.StorePreset(1); err != nil {
		t.Fatal(err)
	}
	cam.val[CIDZoomAbsolute] = 100
	if err := u.RecallPreset(1); err != nil || cam.val[CIDZoomAbsolute] != 400 {
		t.Errorf("zoom-only recall: %v, zoom %d", err, cam.val[CIDZoomAbsolute])
	}
}
