package roomdconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/room"
)

func TestDefaults(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "/var/lib/roomd:/other")
	t.Setenv("RUNTIME_DIRECTORY", "")
	c, err := Parse(nil, "empty")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.Settings()
	if s != room.DefaultSettings() || c.StateDir != "/var/lib/roomd" || c.RuntimeDir != "/run/roomd" ||
		c.SocketPath() != "/run/roomd/control.sock" || c.Board.Profile != "rpi4" {
		t.Fatalf("defaults: %+v settings %+v", c, s)
	}
}

func TestExampleConfigParses(t *testing.T) {
	b, err := os.ReadFile("../../docs/roomd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b, "example")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Settings(); s.Name != "Fjord (4th floor)" || s.DefaultVolume != 45 {
		t.Fatalf("settings %+v", s)
	}
}

func TestZeroVolumeIsKept(t *testing.T) {
	c, err := Parse([]byte("[room]\ndefault_volume = 0\ncamera_presets = 0\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Settings(); s.DefaultVolume != 0 || s.Presets != 0 {
		t.Fatalf("settings %+v, want volume 0 and no presets", s)
	}
}

func TestBadConfigsSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[room]\nnmae = \"x\"\n", "unknown keys: room.nmae"},
		{"[room]\ndefault_volume = 150\n", "default volume must be 0 to 100"},
		{"[room]\nunmute_policy = \"everyone\"\n", "use in-room or anyone"},
		{"[board]\nprofile = \"rpi3\"\n", "no built-in board profile \"rpi3\""},
		{"[console]\nadmin_pin_hash = \"1234\"\n", "not a bcrypt hash"},
		{"[log]\nlevel = \"loud\"\n", "use debug, info, warn or error"},
		{"[debug]\nlisten = \"0.0.0.0:8089\"\n", "only on a loopback address"},
		{"[room\n", "config t:"},
		{"[media]\ncodecs = [\"av1\"]\n", `media.codecs: "av1" is not h264 or vp8`},
		{"[media]\nvideo = \"hdmi\"\n", "use camera, pattern, y4m:/path/file.y4m, h264:/path/file.h264 or mjpeg:/path/file.mjpeg"},
		{"[media]\nwidth = 641\nheight = 360\n", "not a usable even size"},
		{"[provisioning]\nactivation_code = \"ABCD\"\n", "needs provisioning.server"},
		// Several problems are all reported.
		{"[log]\nlevel = \"loud\"\nformat = \"xml\"\n", "use auto, text, json or journal"},
	} {
		_, err := Parse([]byte(tc.toml), "t")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tc.toml, err, tc.want)
		}
	}
}

func TestBoardDescriptionFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "board.toml")
	os.WriteFile(p, []byte("name = \"mine\"\n[[led]]\nrole = \"mute_led\"\nline = \"GPIO4\"\n[[button]]\nrole = \"mute\"\nline = \"GPIO5\"\npull = \"sideways\"\n"), 0o644)
	c, err := Parse([]byte("[board]\ndescription = \""+p+"\"\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BoardDescription(); err == nil || !strings.Contains(err.Error(), "pull must be up, down or none") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("name = \"mine\"\n[[led]]\nrole = \"mute_led\"\nline = \"GPIO4\"\n"), 0o644)
	d, err := c.BoardDescription()
	if err != nil || d.Name != "mine" || d.LEDs[0].Line != "GPIO4" {
		t.Fatalf("board %+v err %v", d, err)
	}
}

func TestPanelConfig(t *testing.T) {
	cfg, err := Parse(nil, "defaults")
	if err != nil {
		t.Fatal(err)
	}
	if !*cfg.Panel.Enabled || cfg.Panel.Listen != "127.0.0.1:8080" || cfg.Panel.RemoteListen != "" || cfg.Panel.KioskUser != "kiosk" {
		t.Fatalf("defaults %+v", cfg.Panel)
	}
	for in, want := range map[string]string{
		"[panel]\nlisten = \"0.0.0.0:8080\"":             "only on a loopback address",
		"[panel]\nlisten = \"8080\"":                     "only on a loopback address",
		"[panel]\nremote_listen = \"somewhere\"":         "use host:port",
		"[panel]\nadmin_pin_hash = \"1234\"":             "not a bcrypt hash",
		"[panel]\nenabled = true\nkiosk = \"x\"":         "unknown keys: panel.kiosk",
		"[panel]\nenabled = false\nlisten = \"0.0.0.0\"": "",
	} {
		_, err := Parse([]byte(in), "test")
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v; want %q", in, err, want)
		}
	}
}

// The kiosk panel serves roomd's own user and panel.kiosk_user's, and only
// roomd's when that user does not exist.
func TestPanelKioskUIDs(t *testing.T) {
	me := os.Getuid()
	root := Panel{KioskUser: "root"}
	if got := root.KioskUIDs(slog.New(slog.DiscardHandler)); !slices.Equal(got, []int{me, 0}) {
		t.Errorf("kiosk_user root: %v; want [%d 0]", got, me)
	}
	none := Panel{KioskUser: "no-such-user-roomd"}
	if got := none.KioskUIDs(slog.New(slog.DiscardHandler)); !slices.Equal(got, []int{me}) {
		t.Errorf("a missing kiosk_user: %v; want [%d]", got, me)
	}
}

// A PIN of 4 to 16 digits hashes to a bcrypt hash the configuration takes
// and that verifies the PIN; anything else is refused.
func TestHashPIN(t *testing.T) {
	for pin, ok := range map[string]bool{"1234": true, "0000111122223333": true, "123": false, "12a4": false, "": false, "12345678901234567": false, " 1234": false} {
		h, err := HashPIN(pin)
		if (err == nil) != ok {
			t.Errorf("HashPIN(%q): err %v, want ok = %v", pin, err, ok)
			continue
		}
		if !ok {
			if !strings.Contains(err.Error(), "4 to 16 digits") {
				t.Errorf("HashPIN(%q): %v does not say what a PIN is", pin, err)
			}
			continue
		}
		if bcrypt.CompareHashAndPassword([]byte(h), []byte(pin)) != nil {
			t.Errorf("HashPIN(%q) = %q does not verify the PIN", pin, h)
		}
		if _, err := Parse([]byte("[console]\nadmin_pin_hash = \""+h+"\"\n"), "t"); err != nil {
			t.Errorf("the configuration refuses the hash of %q: %v", pin, err)
		}
	}
}

// Load reads a file, says which one it could not read, and reads no file
// as the defaults.
func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "roomd.toml")
	if err := os.WriteFile(p, []byte("[room]\nname = \"Fjord\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(p); err != nil || c.Room.Name != "Fjord" {
		t.Fatalf("Load(%s): %+v, %v", p, c, err)
	}
	if _, err := Load(p + ".missing"); err == nil || !strings.Contains(err.Error(), "roomd.toml.missing") {
		t.Fatalf("a missing file: %v", err)
	}
	if c, err := Load(""); err != nil || c.Board.Profile != "rpi4" {
		t.Fatalf("no file: %+v, %v", c, err)
	}
}

// ca_file holds the fleet's first-contact roots; a file without a
// certificate is refused, and no file is the system's roots.
func TestProvisioningRootCAs(t *testing.T) {
	if roots, err := (Provisioning{}).RootCAs(); roots != nil || err != nil {
		t.Fatalf("no ca_file: %v, %v; want the system's roots (nil)", roots, err)
	}
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o644)
	if _, err := (Provisioning{CAFile: junk}).RootCAs(); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("junk ca_file: %v", err)
	}
	if _, err := (Provisioning{CAFile: filepath.Join(dir, "none.pem")}).RootCAs(); err == nil || !strings.HasPrefix(err.Error(), "provisioning: ") {
		t.Fatalf("missing ca_file: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fleet test root"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "root.pem")
	os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	roots, err := (Provisioning{CAFile: good}).RootCAs()
	if err != nil || roots == nil {
		t.Fatalf("good ca_file: %v, %v", roots, err)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Fatalf("the root read from ca_file does not verify itself: %v", err)
	}
}
