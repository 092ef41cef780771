package provisioning

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/roomd/roomd/meetinglink/invite"
)

// Payload is what a configuration bundle carries.
type Payload struct {
	OrgID       string    `json:"org_id"`
	DeviceID    string    `json:"device_id"`
	Version     int64     `json:"version"` // increases with every change for this device
	IssuedAt    time.Time `json:"issued_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	RootVersion int       `json:"root_version"` // the trust root that signs it
	Config      Config    `json:"config"`
}

// Config is the room's configuration as the fleet sets it. Zero fields keep
// the room's local value.
type Config struct {
	// Schema is the bundle schema the configuration needs (see
	// [SchemaVersion]); absent means 1.
	Schema   int            `json:"schema,omitempty"`
	Room     RoomConfig     `json:"room"`
	Calendar CalendarConfig `json:"calendar"`
	Meeting  MeetingConfig  `json:"meeting"`
	PINs     PINConfig      `json:"pins"`
	Security SecurityConfig `json:"security"`
	// PollSeconds is how often the device asks for a new bundle; 0 means
	// [DefaultPollInterval].
	PollSeconds int           `json:"poll_seconds,omitempty"`
	Media       MediaCaps     `json:"media"`
	Display     DisplayConfig `json:"display"`
	Camera      CameraConfig  `json:"camera"`
	// Directory is the organisation's rooms this room can call (the
	// panel's "Call a room" list); nil means none.
	Directory []DirectoryEntry `json:"directory,omitempty"`
	// SSH is the users of the room's remote xAPI (the console over SSH and
	// the panel's /ws); nil means the configuration file's alone.
	SSH *SSHConfig `json:"ssh,omitempty"`
}

// SSHConfig is the bundle's ssh section.
type SSHConfig struct {
	// Users join the configuration file's [[ssh.users]], replacing one of
	// the same name; at most MaxSSHUsers.
	Users []SSHUser `json:"users,omitempty"`
}

// SSHUser is one account: a bcrypt hash (never a password) and/or OpenSSH
// public key lines.
type SSHUser struct {
	Name           string   `json:"name"`
	PasswordHash   string   `json:"password_hash,omitempty"`
	AuthorizedKeys []string `json:"authorized_keys,omitempty"`
}

// MaxSSHUsers bounds a bundle's ssh.users.
const MaxSSHUsers = 32

// RoomConfig names the room and its place.
type RoomConfig struct {
	Name          string `json:"name,omitempty"`
	TimeZone      string `json:"time_zone,omitempty"` // IANA, e.g. "Europe/Oslo"
	DefaultVolume *int   `json:"default_volume,omitempty"`
	VolumeStep    int    `json:"volume_step,omitempty"`
	MuteOnJoin    *bool  `json:"mute_on_join,omitempty"`
}

// CalendarConfig is a feed URL or an inline ICS calendar (not both).
type CalendarConfig struct {
	FeedURL string `json:"feed_url,omitempty"`
	ICS     string `json:"ics,omitempty"`
}

// MeetingConfig is how the room turns invitations into calls.
type MeetingConfig struct {
	// Services and Region are read from schema-1 bundles only, and not
	// applied: schema 2 removed them (see [SchemaVersion]).
	Services []string `json:"services,omitempty"`
	Region   string   `json:"region,omitempty"`
	// DialRules turn meeting IDs in invitations into SIP addresses (a
	// Zoom connector, a Teams CVI pattern, a default SIP domain: see
	// docs/schedule.md); nil keeps the room's local rules.
	DialRules *invite.DialRules `json:"dial_rules,omitempty"`
}

// PINConfig holds bcrypt hashes, never PINs.
type PINConfig struct {
	PanelHash  string `json:"panel_hash,omitempty"`
	SerialHash string `json:"serial_hash,omitempty"`
}

// SecurityConfig is the room's security policy.
type SecurityConfig struct {
	Unmute string `json:"unmute,omitempty"` // "in-room" or "anyone"
}

// MediaCaps limit what the room sends.
type MediaCaps struct {
	MaxWidth       int `json:"max_width,omitempty"`
	MaxHeight      int `json:"max_height,omitempty"`
	MaxFPS         int `json:"max_fps,omitempty"`
	MaxBitrateKbps int `json:"max_bitrate_kbps,omitempty"`
}

// Validate checks the caps' ranges; zero fields mean no cap.
func (m MediaCaps) Validate() error {
	switch {
	case m.MaxWidth < 0 || m.MaxHeight < 0 || m.MaxFPS < 0 || m.MaxBitrateKbps < 0:
		return errors.New("media caps must not be negative")
	case m.MaxWidth != 0 && (m.MaxWidth < 160 || m.MaxWidth > 3840):
		return errors.New("media max_width must be 160 to 3840")
	case m.MaxHeight != 0 && (m.MaxHeight < 90 || m.MaxHeight > 2160):
		return errors.New("media max_height must be 90 to 2160")
	case m.MaxFPS > 60:
		return errors.New("media max_fps must be 1 to 60")
	case m.MaxBitrateKbps != 0 && (m.MaxBitrateKbps < 100 || m.MaxBitrateKbps > 20000):
		return errors.New("media max_bitrate_kbps must be 100 to 20000")
	}
	return nil
}

// DisplayConfig controls the room display.
type DisplayConfig struct {
	// SleepAfterMinutes switches the display off after this long without a
	// call, a join offer or anyone present; 0 keeps the local behaviour
	// (never).
	SleepAfterMinutes int `json:"sleep_after_minutes,omitempty"`
	Brightness        int `json:"brightness,omitempty"` // percent, 0 keeps local
}

// MaxSleepAfterMinutes bounds DisplayConfig.SleepAfterMinutes (a day).
const MaxSleepAfterMinutes = 24 * 60

// CameraConfig controls the camera.
type CameraConfig struct {
	Presets        *int `json:"presets,omitempty"`
	PrivacyDefault bool `json:"privacy_default,omitempty"`
}

// Poll interval bounds.
const (
	DefaultPollInterval = 5 * time.Minute
	MinPollInterval     = 10 * time.Second
	MaxPollInterval     = 24 * time.Hour
)

// PollInterval returns the configured interval or the default.
func (c *Config) PollInterval() time.Duration {
	if c.PollSeconds == 0 {
		return DefaultPollInterval
	}
	return time.Duration(c.PollSeconds) * time.Second
}

// Validate checks the configuration before it is signed or applied.
func (c *Config) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrInvalidConfig}, a...)...) }
	if err := c.validateSchema(); err != nil {
		return bad("%w", err)
	}
	if c.Room.TimeZone != "" {
		if _, err := time.LoadLocation(c.Room.TimeZone); err != nil {
			return bad("time zone %q: %v", c.Room.TimeZone, err)
		}
	}
	if c.Calendar.FeedURL != "" && c.Calendar.ICS != "" {
		return bad("calendar has both a feed URL and an inline ICS")
	}
	if u := c.Calendar.FeedURL; u != "" {
		// The room fetches feeds over HTTPS only (webcal:// is HTTPS by
		// another name); the URL is often the calendar's password, so it is
		// not repeated in the error.
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "webcal" && p.Scheme != "webcals") {
			return bad("calendar feed URL must be https:// or webcal:// with a host")
		}
	}
	for _, h := range []string{c.PINs.PanelHash, c.PINs.SerialHash} {
		if h == "" {
			continue
		}
		if !(strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")) {
			return bad("PIN hashes must be bcrypt")
		}
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return bad("PIN hash is not a well-formed bcrypt hash")
		}
	}
	if r := c.Meeting.DialRules; r != nil {
		if err := r.Validate(); err != nil {
			return bad("meeting %v", err)
		}
	}
	switch c.Security.Unmute {
	case "", "in-room", "anyone":
	default:
		return bad("unmute policy %q: want in-room or anyone", c.Security.Unmute)
	}
	if c.PollSeconds != 0 {
		if d := c.PollInterval(); d < MinPollInterval || d > MaxPollInterval {
			return bad("poll interval %v outside %v..%v", d, MinPollInterval, MaxPollInterval)
		}
	}
	if c.Display.Brightness < 0 || c.Display.Brightness > 100 {
		return bad("brightness must be 0 to 100")
	}
	if m := c.Display.SleepAfterMinutes; m < 0 || m > MaxSleepAfterMinutes {
		return bad("display sleep_after_minutes must be 0 (never) to %d", MaxSleepAfterMinutes)
	}
	if err := c.Media.Validate(); err != nil {
		return bad("%v", err)
	}
	// The room's own ranges (room.Settings.Validate); roomport's tests
	// check that the two agree, so fleetd refuses what a room would.
	if n := c.Room.Name; len(n) > MaxRoomNameBytes {
		return bad("room name must be 1 to %d bytes", MaxRoomNameBytes)
	}
	if v := c.Room.DefaultVolume; v != nil && (*v < 0 || *v > 100) {
		return bad("default volume must be 0 to 100")
	}
	if st := c.Room.VolumeStep; st != 0 && (st < 1 || st > MaxVolumeStep) {
		return bad("volume step must be 1 to %d", MaxVolumeStep)
	}
	if p := c.Camera.Presets; p != nil && (*p < 0 || *p > MaxPresets) {
		return bad("presets must be 0 to %d", MaxPresets)
	}
	if err := validateDirectory(c.Directory); err != nil {
		return bad("%v", err)
	}
	if c.SSH != nil {
		if err := c.SSH.validate(); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// validate checks names, bcrypt hashes and key lines, as a room would.
func (c *SSHConfig) validate() error {
	if len(c.Users) > MaxSSHUsers {
		return fmt.Errorf("ssh: %d users, at most %d", len(c.Users), MaxSSHUsers)
	}
	seen := map[string]bool{}
	for _, u := range c.Users {
		if u.Name == "" || len(u.Name) > 64 || strings.ContainsAny(u.Name, ": \t\r\n") || seen[u.Name] {
			return fmt.Errorf("ssh: user name %q: 1 to 64 bytes without spaces or colons, each name once", u.Name)
		}
		seen[u.Name] = true
		if u.PasswordHash == "" && len(u.AuthorizedKeys) == 0 {
			return fmt.Errorf("ssh: user %q has neither password_hash nor authorized_keys", u.Name)
		}
		if h := u.PasswordHash; h != "" {
			if _, err := bcrypt.Cost([]byte(h)); err != nil {
				return fmt.Errorf("ssh: user %q: password_hash is not a well-formed bcrypt hash (send hashes, never passwords)", u.Name)
			}
		}
		for _, k := range u.AuthorizedKeys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
				return fmt.Errorf("ssh: user %q: an authorized key is not an OpenSSH public key line: %v", u.Name, err)
			}
		}
	}
	return nil
}

// Ranges of the room settings a bundle may set; they are the room's own
// (package room) and provisioning/roomport's tests keep them equal.
const (
	MaxRoomNameBytes = 64
	MaxVolumeStep    = 50
	MaxPresets       = 15
)

// Bundle is a verified configuration bundle.
type Bundle struct {
	Raw        []byte // the envelope as received and stored
	PayloadRaw []byte // the signed payload bytes
	Payload
}

// Stale reports whether the bundle has expired at now. An expired bundle
// stays in force; it is reported so an administrator knows the device has not
// heard from the fleet.
func (b *Bundle) Stale(now time.Time) bool {
	return !b.ExpiresAt.IsZero() && now.After(b.ExpiresAt)
}

// SealBundle signs a payload with config keys; fleetd uses it.
func SealBundle(p *Payload, keys ...ed25519.PrivateKey) ([]byte, error) {
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("provisioning: encoding payload: %w", err)
	}
	return Seal(BundleType, b, keys...)
}

// Verifier decides whether a bundle may replace the one in force.
type Verifier struct {
	Root     *TrustRoot
	OrgID    string
	DeviceID string
}

// Verify checks raw against the trust root and the bundle in force (nil for
// none). It never changes anything; the error says why a bundle is refused.
func (v *Verifier) Verify(raw []byte, current *Bundle) (*Bundle, error) {
	if v.Root == nil {
		return nil, fmt.Errorf("%w: no trust root; enroll first", ErrUnknownKey)
	}
	env, payload, err := ParseEnvelope(raw, BundleType)
	if err != nil {
		return nil, err
	}
	signers, err := verifiedBy(env, payload, v.Root.ConfigKeys)
	if err != nil {
		return nil, err
	}
	if len(signers) == 0 {
		ids := make([]string, len(env.Signatures))
		for i, s := range env.Signatures {
			ids[i] = short(s.KeyID)
		}
		return nil, fmt.Errorf("%w (root %d; signed by %s)", ErrUnknownKey, v.Root.Version, strings.Join(ids, ", "))
	}
	var p Payload
	if err := decodeStrict(payload, &p); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if p.OrgID != v.OrgID || p.DeviceID != v.DeviceID {
		return nil, fmt.Errorf("%w: bundle for %s/%s, this is %s/%s", ErrWrongDevice, p.OrgID, p.DeviceID, v.OrgID, v.DeviceID)
	}
	if p.RootVersion != v.Root.Version {
		return nil, fmt.Errorf("%w: bundle names root %d, device trusts root %d", ErrRootMismatch, p.RootVersion, v.Root.Version)
	}
	if p.Version < 1 {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, p.Version)
	}
	if current != nil {
		switch {
		case p.Version < current.Version:
			return nil, fmt.Errorf("%w: version %d, in force %d", ErrRollback, p.Version, current.Version)
		case p.Version == current.Version && !bytes.Equal(payload, current.PayloadRaw):
			return nil, fmt.Errorf("%w: version %d", ErrVersionConflict, p.Version)
		}
	}
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	return &Bundle{Raw: raw, PayloadRaw: payload, Payload: p}, nil
}
