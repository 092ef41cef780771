package backlight

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/hal"
)

// fakeSysfs makes /sys/class/backlight/<name> under root as the kernel
// lays it out.
func fakeSysfs(t *testing.T, root, name, typ string, max, cur int) string {
	t.Helper()
	dir := filepath.Join(root, "sys/class/backlight", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"max_brightness": strconv.Itoa(max), "brightness": strconv.Itoa(cur), "type": typ} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// The backlight writes the kernel's scale and reads back in percent; the
// firmware backlight wins over a raw one, as the kernel's ABI document
// asks.
func TestSysfsBacklight(t *testing.T) {
	root := t.TempDir()
	raw := fakeSysfs(t, root, "10-0045", "raw", 255, 255)
	fw := fakeSysfs(t, root, "acpi_video0", "firmware", 1000, 500)
	b, st := Load(root, "auto")
	if st.State != hal.Loaded || b == nil {
		t.Fatalf("status %+v", st)
	}
	if got, err := b.Brightness(); err != nil || got != 50 {
		t.Fatalf("brightness %d, %v; want 50", got, err)
	}
	if err := b.SetBrightness(80); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(fw, "brightness")); got != "800" {
		t.Errorf("firmware backlight holds %s, want 800", got)
	}
	if got := readFile(t, filepath.Join(raw, "brightness")); got != "255" {
		t.Errorf("the raw backlight was written too: %s", got)
	}
	if got, _ := b.Brightness(); got != 80 {
		t.Errorf("read back %d%%, want 80", got)
	}
	if err := b.SetBrightness(101); err == nil {
		t.Error("101% accepted")
	}
	// By name, on a 0..255 scale: every percent survives the round trip.
	b, st = Load(root, "10-0045")
	if st.State != hal.Loaded {
		t.Fatalf("status %+v", st)
	}
	for p := 0; p <= 100; p++ {
		if err := b.SetBrightness(p); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.Brightness(); got != p {
			t.Fatalf("wrote %d%%, read back %d%%", p, got)
		}
	}
}

// No backlight is not an error: the device is skipped with the reason. One
// described but broken is failed; "none" is skipped.
func TestLoadReportsWhyNot(t *testing.T) {
	root := t.TempDir()
	b, st := Load(root, "")
	if b != nil || st.State != hal.Skipped || !strings.Contains(st.Reason, "no backlight") {
		t.Errorf("empty board: %v %+v", b, st)
	}
	if _, st = Load(root, "none"); st.State != hal.Skipped {
		t.Errorf("none: %+v", st)
	}
	if _, st = Load(root, "panel"); st.State != hal.Failed || !strings.Contains(st.Reason, "max_brightness") {
		t.Errorf("missing named backlight: %+v", st)
	}
	fakeSysfs(t, root, "zero", "raw", 0, 0)
	if _, st = Load(root, "auto"); st.State != hal.Failed || !strings.Contains(st.Reason, "no range") {
		t.Errorf("backlight without a range: %+v", st)
	}
	if _, st = Load(root, "ddc:/dev/i2c-9"); st.State != hal.Failed {
		t.Errorf("missing i2c bus: %+v", st)
	}
}

// monitor answers DDC/CI as a display's scaler does: a Get VCP request for
// 0x10 is answered with the current and maximum luminance, a Set VCP
// changes it; anything else gets a "not supported" reply.
type monitor struct {
	cur, max int
	reply    bytes.Buffer
	writes   int
	garble   bool
}

func (m *monitor) Write(p []byte) (int, error) {
	m.writes++
	sum := byte(0x6E)
	for _, b := range p[:len(p)-1] {
		sum ^= b
	}
	if p[0] != 0x51 || int(p[1]&0x7f) != len(p)-3 || sum != p[len(p)-1] {
		return 0, errors.New("monitor: garbled request")
	}
	switch op := p[2]; {
	case op == 0x01:
		rc := byte(0)
		if p[3] != 0x10 {
			rc = 1
		}
		r := []byte{0x6E, 0x88, 0x02, rc, p[3], 0, byte(m.max >> 8), byte(m.max), byte(m.cur >> 8), byte(m.cur)}
		s := byte(0x50)
		for _, b := range r {
			s ^= b
		}
		if m.garble {
			s ^= 0xff
		}
		m.reply.Write(append(r, s))
	case op == 0x03 && p[3] == 0x10:
		m.cur = int(p[4])<<8 | int(p[5])
	}
	return len(p), nil
}

func (m *monitor) Read(p []byte) (int, error) { return m.reply.Read(p) }

func TestDDCBrightness(t *testing.T) {
	m := &monitor{cur: 30, max: 100}
	var waited time.Duration
	d, err := NewDDC("i2c-5", m, func(d time.Duration) { waited += d })
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Brightness(); err != nil || got != 30 {
		t.Fatalf("brightness %d, %v", got, err)
	}
	if err := d.SetBrightness(75); err != nil {
		t.Fatal(err)
	}
	if m.cur != 75 {
		t.Errorf("display at %d, want 75", m.cur)
	}
	if got, _ := d.Brightness(); got != 75 {
		t.Errorf("read back %d", got)
	}
	if waited < 4*40*time.Millisecond {
		t.Errorf("waited %v over 4 requests; DDC/CI needs 40 ms after each", waited)
	}
	// A display whose reply does not add up is refused at open.
	if _, err := NewDDC("i2c-6", &monitor{cur: 1, max: 100, garble: true}, func(time.Duration) {}); !errors.Is(err, ErrDDCReply) {
		t.Errorf("garbled reply: %v", err)
	}
	// A display that stays silent (no DDC/CI) is refused too.
	if _, err := NewDDC("i2c-7", struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(nil), io.Discard}, func(time.Duration) {}); err == nil {
		t.Error("silent display accepted")
	}
}

// Auto mode finds the DDC bus through the DRM connector's ddc link.
func TestDDCBusesFromDRM(t *testing.T) {
	root := t.TempDir()
	conn := filepath.Join(root, "sys/class/drm/card0-HDMI-A-1")
	if err := os.MkdirAll(conn, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../devices/platform/i2c-5", filepath.Join(conn, "ddc")); err != nil {
		t.Fatal(err)
	}
	got := ddcBuses(root)
	if len(got) != 1 || got[0] != filepath.Join(root, "dev/i2c-5") {
		t.Errorf("buses %q", got)
	}
	// The node is missing here: auto mode fails naming it, not skips.
	if _, st := Load(root, "auto"); st.State != hal.Failed || !strings.Contains(st.Reason, "i2c-5") {
		t.Errorf("status %+v", st)
	}
}
