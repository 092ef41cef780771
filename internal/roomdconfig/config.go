// Package roomdconfig is roomd's configuration file: the TOML tables,
// their defaults and their validation. docs/config.md documents every key.
//
// It knows the room's settings and the board's descriptions, and nothing
// of the parts built from it (media, panel, consoles): cmd/roomd reads a
// Config and hands each part its table.
package roomdconfig

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/internal/logging"
	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/schedule"
)

// Config is roomd's configuration file; docs/config.md documents every key.
type Config struct {
	StateDir   string `toml:"state_dir"`
	RuntimeDir string `toml:"runtime_dir"`

	Room struct {
		Name          string `toml:"name"`
		DefaultVolume *int   `toml:"default_volume"`
		VolumeStep    int    `toml:"volume_step"`
		UnmutePolicy  string `toml:"unmute_policy"`
		MuteOnJoin    bool   `toml:"mute_on_join"`
		CameraPresets *int   `toml:"camera_presets"`
	} `toml:"room"`

	Board struct {
		Profile     string `toml:"profile"`
		Description string `toml:"description"`
	} `toml:"board"`

	Console struct {
		Serial       *bool  `toml:"serial"`
		Socket       string `toml:"socket"`
		Login        *bool  `toml:"login"`
		AdminPINHash string `toml:"admin_pin_hash"`
		// Dialect is the serial port's sessions' dialect at their start:
		// "roomd" or "cisco" (for Cisco drivers, which never ask for it).
		Dialect string `toml:"dialect"`
	} `toml:"console"`

	Log struct {
		Level  string `toml:"level"`
		Format string `toml:"format"`
	} `toml:"log"`

	Debug struct {
		Listen string `toml:"listen"`
	} `toml:"debug"`

	Media Media `toml:"media"`

	Schedule schedule.Config `toml:"schedule"`

	Provisioning Provisioning `toml:"provisioning"`

	Panel Panel `toml:"panel"`

	SIP SIP `toml:"sip"`

	SSH SSH `toml:"ssh"`
}

// Parse reads a TOML configuration named name (for errors), fills in the
// defaults and validates it; unknown keys are errors, so a typo never
// silently leaves a setting at its default.
func Parse(data []byte, name string) (*Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown keys: %s", name, strings.Join(keys, ", "))
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, nil
}

// Load reads the configuration file at path; an empty path is the
// defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse(nil, "(defaults)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

func (c *Config) defaults() {
	// Under systemd, StateDirectory= and RuntimeDirectory= say where.
	if c.StateDir == "" {
		c.StateDir = firstNonEmpty(firstPath(os.Getenv("STATE_DIRECTORY")), "/var/lib/roomd")
	}
	if c.RuntimeDir == "" {
		c.RuntimeDir = firstNonEmpty(firstPath(os.Getenv("RUNTIME_DIRECTORY")), "/run/roomd")
	}
	d := room.DefaultSettings()
	if c.Room.Name == "" {
		c.Room.Name = d.Name
	}
	if c.Room.DefaultVolume == nil {
		c.Room.DefaultVolume = &d.DefaultVolume
	}
	if c.Room.VolumeStep == 0 {
		c.Room.VolumeStep = d.VolumeStep
	}
	if c.Room.UnmutePolicy == "" {
		c.Room.UnmutePolicy = "in-room"
	}
	if c.Room.CameraPresets == nil {
		c.Room.CameraPresets = &d.Presets
	}
	if c.Board.Profile == "" && c.Board.Description == "" {
		c.Board.Profile = "rpi4"
	}
	if c.Console.Socket == "" {
		c.Console.Socket = "control.sock"
	}
	if c.Console.Serial == nil {
		t := true
		c.Console.Serial = &t
	}
	if c.Console.Login == nil {
		t := true
		c.Console.Login = &t
	}
	c.Media.defaults(c.Board.Profile == "sim")
	c.Panel.defaults()
	c.SIP.defaults()
	c.SSH.defaults()
	if c.Console.Dialect == "" {
		c.Console.Dialect = "roomd"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "auto"
	}
}

// Validate reports every problem of c at once, each saying what to set
// instead. Parse validates; call it again after changing fields.
func (c *Config) Validate() error {
	var errs []error
	if _, err := c.Settings(); err != nil {
		errs = append(errs, err)
	}
	if c.Board.Profile != "" && c.Board.Description != "" {
		errs = append(errs, errors.New("board: set profile or description, not both"))
	}
	if c.Board.Profile != "" {
		if _, err := hal.Profile(c.Board.Profile); err != nil {
			errs = append(errs, err)
		}
	}
	if h := c.Console.AdminPINHash; h != "" && !strings.HasPrefix(h, "$2") {
		errs = append(errs, errors.New("console.admin_pin_hash is not a bcrypt hash; make one with `roomd hash-pin`"))
	}
	if d := c.Console.Dialect; d != "roomd" && d != "cisco" {
		errs = append(errs, fmt.Errorf("console.dialect %q: use roomd or cisco", d))
	}
	if err := c.SSH.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Provisioning.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Schedule.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Media.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Panel.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.SIP.validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		errs = append(errs, err)
	}
	switch c.Log.Format {
	case "auto", "text", "json", "journal":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: use auto, text, json or journal", c.Log.Format))
	}
	if l := c.Debug.Listen; l != "" {
		host, _, err := net.SplitHostPort(l)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("debug.listen %q: the debug endpoint may listen only on a loopback address such as 127.0.0.1:8089", l))
		}
	}
	return errors.Join(errs...)
}

// Settings turns the [room] table into the room's settings.
func (c *Config) Settings() (room.Settings, error) {
	s := room.Settings{
		Name:          c.Room.Name,
		DefaultVolume: *c.Room.DefaultVolume,
		VolumeStep:    c.Room.VolumeStep,
		MuteOnJoin:    c.Room.MuteOnJoin,
		Presets:       *c.Room.CameraPresets,
	}
	switch c.Room.UnmutePolicy {
	case "in-room":
		s.Unmute = room.UnmuteInRoom
	case "anyone":
		s.Unmute = room.UnmuteAnyone
	default:
		return s, fmt.Errorf("room.unmute_policy %q: use in-room or anyone", c.Room.UnmutePolicy)
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("room: %w", err)
	}
	return s, nil
}

// BoardDescription returns the board description: a built-in profile or a
// description file.
func (c *Config) BoardDescription() (hal.Description, error) {
	if c.Board.Description == "" {
		return hal.Profile(c.Board.Profile)
	}
	var d hal.Description
	md, err := toml.DecodeFile(c.Board.Description, &d)
	if err != nil {
		return d, fmt.Errorf("board description: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return d, fmt.Errorf("board description %s: unknown keys: %v", c.Board.Description, und)
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	return d, nil
}

// SocketPath resolves the control socket's path ("" when "off").
func (c *Config) SocketPath() string {
	if c.Console.Socket == "off" {
		return ""
	}
	if filepath.IsAbs(c.Console.Socket) {
		return c.Console.Socket
	}
	return filepath.Join(c.RuntimeDir, c.Console.Socket)
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// firstPath takes the first of systemd's colon-separated directory list.
func firstPath(s string) string { p, _, _ := strings.Cut(s, ":"); return p }

// HashPIN makes the value of console.admin_pin_hash or panel.admin_pin_hash
// from a PIN of 4 to 16 digits: what a control system or a keypad can send.
func HashPIN(pin string) (string, error) {
	if len(pin) < 4 || len(pin) > 16 || strings.Trim(pin, "0123456789") != "" {
		return "", errors.New("a PIN is 4 to 16 digits")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing the PIN: %w", err)
	}
	return string(h), nil
}
