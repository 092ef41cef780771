package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/backlight"
	"github.com/roomd/roomd/provisioning"
)

// sysfsBacklight is a Pi touch display's backlight in a fake sysfs tree,
// at 128 of 255; brightness reads the file back.
func sysfsBacklight(t *testing.T) (bl hal.Backlight, brightness func() string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "sys/class/backlight/rpi_backlight")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"max_brightness": "255\n", "brightness": "128\n"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bl, st := backlight.Load(root, "auto")
	if st.State != hal.Loaded {
		t.Fatalf("backlight %+v", st)
	}
	return bl, func() string {
		b, err := os.ReadFile(filepath.Join(dir, "brightness"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
}

// The bundle's brightness reaches the display's backlight; a bundle
// without it puts the display back where it was; a backlight that fails
// does not fail the bundle but is in the health notes.
func TestApplyBrightness(t *testing.T) {
	bl, brightness := sysfsBacklight(t)
	a := New(Targets{Backlight: bl}, nil)
	apply := func(pct int) {
		t.Helper()
		if err := a.Apply(context.Background(), provisioning.Config{Display: provisioning.DisplayConfig{Brightness: pct}}); err != nil {
			t.Fatal(err)
		}
	}
	apply(0)
	if got := brightness(); got != "128" {
		t.Errorf("no brightness in the bundle moved the display to %s", got)
	}
	apply(80)
	if got := brightness(); got != "204" {
		t.Errorf("80%% gave %s of 255, want 204", got)
	}
	if n := a.Unapplied(); len(n) != 0 {
		t.Errorf("notes %q", n)
	}
	apply(0) // rollback to local: where it was before the fleet
	if got := brightness(); got != "128" {
		t.Errorf("back to local gave %s, want 128", got)
	}

	a = New(Targets{Backlight: failing{}}, nil)
	apply(30)
	if n := a.Unapplied(); len(n) != 1 || !strings.Contains(n[0], "display.brightness 30% is not applied") || !strings.Contains(n[0], "unplugged") {
		t.Errorf("a failing backlight: notes %q", n)
	}
}

type failing struct{}

func (failing) Brightness() (int, error) { return 50, nil }
func (failing) SetBrightness(int) error  { return errors.New("backlight: display unplugged") }
func (failing) RecallPreset(int) error   { return nil }
func (failing) StorePreset(int) error    { return nil }

// Presets offered on a camera that cannot move, and the keys schema 2
// removed, are said in the health notes; with a camera, nothing is.
func TestApplyNotesCameraAndRemovedKeys(t *testing.T) {
	four := 4
	cfg := provisioning.Config{Camera: provisioning.CameraConfig{Presets: &four}, Meeting: provisioning.MeetingConfig{Region: "eu"}}
	a := New(Targets{}, nil)
	if err := a.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	n := strings.Join(a.Unapplied(), "\n")
	if !strings.Contains(n, "camera.presets 4") || !strings.Contains(n, "meeting.region are not applied") {
		t.Errorf("notes %q", n)
	}
	a = New(Targets{Camera: failing{}}, nil)
	cfg.Meeting.Region = ""
	if err := a.Apply(context.Background(), cfg); err != nil || len(a.Unapplied()) != 0 {
		t.Errorf("with a PTZ camera: %v, notes %q", err, a.Unapplied())
	}
}
