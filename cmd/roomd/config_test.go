package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/room"
)

func TestBuiltInSimConfig(t *testing.T) {
	c, err := loadConfig("", true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Board.Profile != "sim" || !*c.Console.Login || c.Console.AdminPINHash == "" || c.Debug.Listen != "127.0.0.1:8089" {
		t.Fatalf("built-in sim config = %+v", c)
	}
	if _, err := c.board(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "/var/lib/roomd:/other")
	t.Setenv("RUNTIME_DIRECTORY", "")
	c, err := parseConfig(nil, "empty")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.settings()
	if s != room.DefaultSettings() || c.StateDir != "/var/lib/roomd" || c.RuntimeDir != "/run/roomd" ||
		c.socketPath() != "/run/roomd/control.sock" || c.Board.Profile != "rpi4" {
		t.Fatalf("defaults: %+v settings %+v", c, s)
	}
}

func TestExampleConfigParses(t *testing.T) {
	b, err := os.ReadFile("../../docs/roomd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseConfig(b, "example")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.settings(); s.Name != "Fjord (4th floor)" || s.DefaultVolume != 45 {
		t.Fatalf("settings %+v", s)
	}
}

func TestZeroVolumeIsKept(t *testing.T) {
	c, err := parseConfig([]byte("[room]\ndefault_volume = 0\ncamera_presets = 0\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.settings(); s.DefaultVolume != 0 || s.Presets != 0 {
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
		// Several problems are all reported.
		{"[log]\nlevel = \"loud\"\nformat = \"xml\"\n", "use auto, text, json or journal"},
	} {
		_, err := parseConfig([]byte(tc.toml), "t")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tc.toml, err, tc.want)
		}
	}
}

func TestBoardDescriptionFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "board.toml")
	os.WriteFile(p, []byte("name = \"mine\"\n[[led]]\nrole = \"mute_led\"\nline = \"GPIO4\"\n[[button]]\nrole = \"mute\"\nline = \"GPIO5\"\npull = \"sideways\"\n"), 0o644)
	c, err := parseConfig([]byte("[board]\ndescription = \""+p+"\"\n"), "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.board(); err == nil || !strings.Contains(err.Error(), "pull must be up, down or none") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("name = \"mine\"\n[[led]]\nrole = \"mute_led\"\nline = \"GPIO4\"\n"), 0o644)
	d, err := c.board()
	if err != nil || d.Name != "mine" || d.LEDs[0].Line != "GPIO4" {
		t.Fatalf("board %+v err %v", d, err)
	}
}

func TestCheckPIN(t *testing.T) {
	for pin, ok := range map[string]bool{"1234": true, "0000111122223333": true, "123": false, "12a4": false, "": false, "12345678901234567": false} {
		if (checkPIN(pin) == nil) != ok {
			t.Errorf("checkPIN(%q) ok = %v", pin, !ok)
		}
	}
}
