package periphhal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/creack/pty"

	"github.com/roomd/roomd/hal"
)

// A board with a sysfs backlight reports it loaded and sets it; a board
// without one reports it skipped and has no Backlight.
func TestBoardBacklight(t *testing.T) {
	root := t.TempDir()
	b := &hal.Board{Close: func() error { return nil }}
	withBacklight(b, root, "", discardLogger())
	if b.Backlight != nil || len(b.Report) != 1 || b.Report[0].State != hal.Skipped || b.Report[0].Name != hal.RoleBacklight {
		t.Fatalf("no backlight: %v %+v", b.Backlight, b.Report)
	}

	root = fakeBacklight(t, "0")
	dir := filepath.Join(root, "sys/class/backlight/rpi_backlight")
	b = &hal.Board{Close: func() error { return nil }}
	withBacklight(b, root, "auto", discardLogger())
	if b.Backlight == nil || b.Report[0].State != hal.Loaded {
		t.Fatalf("backlight: %+v", b.Report)
	}
	if err := b.Backlight.SetBrightness(100); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "brightness")); string(got) != "255\n" {
		t.Errorf("brightness file %q", got)
	}
	if err := b.Close(); err != nil {
		t.Error(err)
	}
}

// fakeBacklight is a root holding the Pi touch display's backlight, at
// brightness (of 255).
func fakeBacklight(t *testing.T, brightness string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "sys/class/backlight/rpi_backlight")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"max_brightness": "255\n", "brightness": brightness + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// ptyPath is the slave side of a pseudo-terminal, a serial port nobody
// answers on.
func ptyPath(t *testing.T) string {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return s.Name()
}
