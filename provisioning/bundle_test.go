package provisioning

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/meetinglink/invite"
)

func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func enrolledStore(t *testing.T, f *testFleet) *Store {
	t.Helper()
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveRoot(f.rootRaw); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := s.Apply(f.bundle(5, "Fjord"), f.org, f.dev); err != nil || !changed {
		t.Fatalf("first apply: changed=%v err=%v", changed, err)
	}
	return s
}

func TestApplyRejections(t *testing.T) {
	f := newTestFleet(t)
	stranger := newKey(t)
	good := f.bundle(6, "Fjord")
	tampered := func() []byte {
		var env Envelope
		if err := json.Unmarshal(good, &env); err != nil {
			t.Fatal(err)
		}
		p, _ := base64.StdEncoding.DecodeString(env.Payload)
		p = bytes.Replace(p, []byte("Fjord"), []byte("Fjørd"), 1)
		env.Payload = base64.StdEncoding.EncodeToString(p)
		b, _ := json.Marshal(env)
		return b
	}()
	otherDevice := f.payload(6, "Fjord")
	otherDevice.DeviceID = "dev2"
	otherOrg := f.payload(6, "Fjord")
	otherOrg.OrgID = "org2"
	huge := f.payload(6, "Fjord")
	huge.Config.Calendar.ICS = strings.Repeat("X", MaxBundleSize)
	hugeRaw, _ := json.Marshal(Envelope{PayloadType: BundleType, Payload: base64.StdEncoding.EncodeToString([]byte(huge.Config.Calendar.ICS)), Signatures: []Signature{{KeyID: "x", Sig: "eA=="}}})

	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"bad signature", tampered, ErrBadSignature},
		{"wrong device", f.seal(otherDevice), ErrWrongDevice},
		{"wrong organisation", f.seal(otherOrg), ErrWrongDevice},
		{"older version", f.bundle(4, "Fjord"), ErrRollback},
		{"same version other content", f.bundle(5, "Fjell"), ErrVersionConflict},
		{"unknown key", f.seal(f.payload(6, "Fjord"), stranger), ErrUnknownKey},
		{"root key is not a config key", f.seal(f.payload(6, "Fjord"), f.rootKeys[0]), ErrUnknownKey},
		{"oversized", hugeRaw, ErrTooLarge},
		{"truncated", good[:len(good)/2], ErrMalformed},
		{"truncated by one byte", good[:len(good)-1], ErrMalformed},
		{"garbled", bytes.ReplaceAll(good, []byte(`"`), []byte(`'`)), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"trailing data", append(append([]byte(nil), good...), "{}"...), ErrMalformed},
		{"root as bundle", f.rootRaw, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := enrolledStore(t, f)
			before := snapshotDir(t, s.Dir)
			_, _, err := s.Apply(tc.raw, f.org, f.dev)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply: err = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "provisioning: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			t.Logf("refused: %v", err)
			if after := snapshotDir(t, s.Dir); !equalMaps(before, after) {
				t.Errorf("refused bundle changed the disk")
			}
			b, from, probs := s.Load(f.org, f.dev)
			if b == nil || b.Version != 5 || from != FromCurrent || len(probs) != 0 {
				t.Errorf("after refusal Load = %v %v %v", b, from, probs)
			}
		})
	}
	// And a good one goes through, keeping the old as previous.
	s := enrolledStore(t, f)
	if b, changed, err := s.Apply(good, f.org, f.dev); err != nil || !changed || b.Config.Room.Name != "Fjord" {
		t.Fatalf("good bundle: %v %v %v", b, changed, err)
	}
	if _, changed, err := s.Apply(good, f.org, f.dev); err != nil || changed {
		t.Fatalf("re-delivery: changed=%v err=%v", changed, err)
	}
	prev, _ := os.ReadFile(filepath.Join(s.Dir, previousFile))
	if !bytes.Contains(prev, []byte(base64.StdEncoding.EncodeToString([]byte(`{"org_id"`))[:8])) {
		t.Errorf("previous not kept")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLoadFallsBack(t *testing.T) {
	f := newTestFleet(t)
	s := enrolledStore(t, f)
	if _, _, err := s.Apply(f.bundle(6, "Fjell"), f.org, f.dev); err != nil {
		t.Fatal(err)
	}
	if b, from, _ := s.Load(f.org, f.dev); b.Version != 6 || from != FromCurrent {
		t.Fatalf("Load = %d %v", b.Version, from)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, currentFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, from, probs := s.Load(f.org, f.dev)
	if b == nil || b.Version != 5 || from != FromPrevious || len(probs) != 0 {
		t.Fatalf("Load with damaged current = %v %v %v", b, from, probs)
	}
	// The damaged file is set aside and reported, not left to be copied
	// over the previous bundle by the next apply.
	if notes := s.TakeNotes(); len(notes) != 1 || !strings.Contains(notes[0].Error(), "kept as bundle.current.corrupt-") {
		t.Fatalf("notes = %v", notes)
	}
	if m, _ := filepath.Glob(filepath.Join(s.Dir, currentFile+".corrupt-*")); len(m) != 1 {
		t.Fatalf("set aside: %v", m)
	}
	// A damaged current file must not allow a rollback below previous.
	if _, _, err := s.Apply(f.bundle(4, "Old"), f.org, f.dev); !errors.Is(err, ErrRollback) {
		t.Fatalf("rollback over damaged current: %v", err)
	}
	os.Remove(filepath.Join(s.Dir, previousFile))
	if b, from, _ := s.Load(f.org, f.dev); b != nil || from != FromDefaults {
		t.Fatalf("Load with nothing usable = %v %v", b, from)
	}
	if _, _, err := s.Apply(f.bundle(6, "Fjell"), f.org, f.dev); err != nil {
		t.Fatal(err)
	}
	if b, from, probs := s.Load("org1", "devX"); b != nil || from != FromDefaults || len(probs) == 0 {
		t.Fatalf("Load for another device = %v %v %v", b, from, probs)
	}
}

func TestRootRotation(t *testing.T) {
	f := newTestFleet(t)
	s := enrolledStore(t, f)
	oldKeys := f.rootKeys

	// A root signed only by the new keys is refused.
	next := &TrustRoot{Version: 2, OrgID: f.org, Threshold: 1, RootKeys: []PublicKey{pub(newKey(t))}, ConfigKeys: []PublicKey{pub(newKey(t))}}
	rogueKey := newKey(t)
	next.RootKeys = []PublicKey{pub(rogueKey)}
	rogue, err := SealRoot(next, rogueKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveRoot(rogue); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("rogue root: %v", err)
	}
	// Signed by one of the two old keys only: below threshold.
	half, _ := SealRoot(next, rogueKey, oldKeys[0])
	if _, err := s.SaveRoot(half); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("half-signed root: %v", err)
	}

	raw := f.rotate()
	if _, err := s.SaveRoot(raw); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	// Skipping a version is refused.
	f.rotate()
	f.rotate()
	if _, err := s.SaveRoot(f.rootRaw); !errors.Is(err, ErrRollback) {
		t.Fatalf("skipping a root version: %v", err)
	}

	f2 := newTestFleet(t)
	s2 := enrolledStore(t, f2)
	oldConfig := f2.configKey
	if _, err := s2.SaveRoot(f2.rotate()); err != nil {
		t.Fatal(err)
	}
	// Bundle in force (root 1) still loads after rotation.
	if b, from, probs := s2.Load(f2.org, f2.dev); b == nil || from != FromCurrent {
		t.Fatalf("Load after rotation = %v %v %v", b, from, probs)
	}
	// New bundles must be signed by the new root's config key.
	p := f2.payload(6, "Fjord")
	if _, _, err := s2.Apply(f2.seal(p, oldConfig), f2.org, f2.dev); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old config key after rotation: %v", err)
	}
	p.RootVersion = 1
	if _, _, err := s2.Apply(f2.seal(p), f2.org, f2.dev); !errors.Is(err, ErrRootMismatch) {
		t.Fatalf("stale root version: %v", err)
	}
	if _, _, err := s2.Apply(f2.bundle(6, "Fjord"), f2.org, f2.dev); err != nil {
		t.Fatalf("bundle under the new root: %v", err)
	}
}

func TestExpiredBundleStaysInForce(t *testing.T) {
	f := newTestFleet(t)
	s := enrolledStore(t, f)
	p := f.payload(6, "Fjord")
	p.ExpiresAt = f.now.Add(time.Hour)
	b, _, err := s.Apply(f.seal(p), f.org, f.dev)
	if err != nil {
		t.Fatalf("a bundle is applied regardless of the clock: %v", err)
	}
	if b.Stale(f.now) {
		t.Error("stale before expiry")
	}
	if !b.Stale(f.now.Add(2 * time.Hour)) {
		t.Error("not stale after expiry")
	}
	if got, _, _ := s.Load(f.org, f.dev); got == nil || got.Version != 6 || !got.Stale(f.now.Add(2*time.Hour)) {
		t.Errorf("expired bundle not in force: %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"zone":      {Room: RoomConfig{TimeZone: "Mars/Olympus"}},
		"pin":       {PINs: PINConfig{PanelHash: "1234"}},
		"unmute":    {Security: SecurityConfig{Unmute: "everyone"}},
		"poll":      {PollSeconds: 1},
		"calendar":  {Calendar: CalendarConfig{FeedURL: "https://x", ICS: "BEGIN:VCALENDAR"}},
		"name":      {Room: RoomConfig{Name: strings.Repeat("n", 65)}},
		"pin form":  {PINs: PINConfig{SerialHash: "$2b$10$tooshort"}},
		"feed http": {Calendar: CalendarConfig{FeedURL: "http://cal.example/room.ics"}},
		"feed host": {Calendar: CalendarConfig{FeedURL: "https:///room.ics"}},
		"width":     {Media: MediaCaps{MaxWidth: 100}},
		"fps":       {Media: MediaCaps{MaxFPS: 120}},
		"bitrate":   {Media: MediaCaps{MaxBitrateKbps: -1}},
		"sleep":     {Display: DisplayConfig{SleepAfterMinutes: -5}},
		"presets":   {Camera: CameraConfig{Presets: ptr(16)}},
		"dial rule": {Meeting: MeetingConfig{DialRules: &invite.DialRules{Zoom: invite.Rule{Dial: "{passcode}@zoomcrc.com"}}}},
		// The room directory (issue 14): names, SIP addresses, a size cap.
		"directory no name":   {Directory: []DirectoryEntry{{Name: " ", URI: "sip:fjord@rooms.example.com"}}},
		"directory long name": {Directory: []DirectoryEntry{{Name: strings.Repeat("n", 65), URI: "sip:fjord@rooms.example.com"}}},
		"directory https":     {Directory: []DirectoryEntry{{Name: "Fjord", URI: "https://meet.example/fjord"}}},
		"directory empty uri": {Directory: []DirectoryEntry{{Name: "Fjord"}}},
		"directory bad sip":   {Directory: []DirectoryEntry{{Name: "Fjord", URI: "sip://fjord@rooms.example.com"}}},
		"directory sips udp":  {Directory: []DirectoryEntry{{Name: "Fjord", URI: "sips:fjord@rooms.example.com;transport=udp"}}},
		"directory too long":  {Directory: directory(MaxDirectoryEntries + 1)},
		// The remote xAPI's users (issue 16): hashes only, real key lines.
		"ssh password":   {SSH: &SSHConfig{Users: []SSHUser{{Name: "integrator", PasswordHash: "s3cret"}}}},
		"ssh no secret":  {SSH: &SSHConfig{Users: []SSHUser{{Name: "integrator"}}}},
		"ssh no name":    {SSH: &SSHConfig{Users: []SSHUser{{PasswordHash: testHash}}}},
		"ssh colon name": {SSH: &SSHConfig{Users: []SSHUser{{Name: "a:b", PasswordHash: testHash}}}},
		"ssh twice":      {SSH: &SSHConfig{Users: []SSHUser{{Name: "a", PasswordHash: testHash}, {Name: "a", PasswordHash: testHash}}}},
		"ssh bad key":    {SSH: &SSHConfig{Users: []SSHUser{{Name: "a", AuthorizedKeys: []string{"ssh-ed25519 AAAA"}}}}},
		"ssh too many":   {SSH: &SSHConfig{Users: sshUsers(MaxSSHUsers + 1)}},
	} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := (&Config{}).Validate(); err != nil {
		t.Errorf("empty config: %v", err)
	}
	full := Config{Room: RoomConfig{TimeZone: "America/New_York"}, Calendar: CalendarConfig{FeedURL: "webcal://cal.example/r.ics"},
		PINs:  PINConfig{SerialHash: "$2a$04$C6UzMDM.H6dfI/f/IKxGhuS6LSdBzRT1Vv3kwBjGByZq1yZj2VWtu"},
		Media: MediaCaps{MaxWidth: 640, MaxHeight: 360, MaxFPS: 15, MaxBitrateKbps: 800}, Display: DisplayConfig{SleepAfterMinutes: 10, Brightness: 70},
		Meeting:   MeetingConfig{DialRules: &invite.DialRules{DefaultDomain: "video.example.com", Teams: invite.Rule{Dial: "{tenant}.{conference}@t.plcm.vc"}}},
		Directory: append(directory(MaxDirectoryEntries-1), DirectoryEntry{Name: "Oslo — Fjord", URI: "sips:fjord@10.0.0.7"}),
		SSH: &SSHConfig{Users: append(sshUsers(MaxSSHUsers-1), SSHUser{Name: "crestron",
			AuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl crestron"}})}}
	if err := full.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

const testHash = "$2a$04$C6UzMDM.H6dfI/f/IKxGhuS6LSdBzRT1Vv3kwBjGByZq1yZj2VWtu"

func sshUsers(n int) []SSHUser {
	out := make([]SSHUser, n)
	for i := range out {
		out[i] = SSHUser{Name: fmt.Sprintf("user%d", i), PasswordHash: testHash}
	}
	return out
}

func TestPAE(t *testing.T) {
	// The example from the DSSE specification.
	if got := string(PAE("http://example.com/HelloWorld", []byte("hello world"))); got != "DSSEv1 29 http://example.com/HelloWorld 11 hello world" {
		t.Errorf("PAE = %q", got)
	}
}

// RollBack returns to the previous bundle, or, after a refused first
// bundle, to nothing: the room boots on its local configuration.
func TestRollBack(t *testing.T) {
	f := newTestFleet(t)
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveRoot(f.rootRaw); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Apply(f.bundle(1, "First"), f.org, f.dev); err != nil {
		t.Fatal(err)
	}
	if err := s.RollBack(); err != nil {
		t.Fatal(err)
	}
	if b, from, probs := s.Load(f.org, f.dev); b != nil || from != FromDefaults || len(probs) != 0 {
		t.Fatalf("after rolling back the first bundle: %v %v %v", b, from, probs)
	}
	for _, v := range []int64{2, 3} {
		if _, _, err := s.Apply(f.bundle(v, "B"+strconv.FormatInt(v, 10)), f.org, f.dev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RollBack(); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := s.Load(f.org, f.dev); b == nil || b.Version != 2 || b.Config.Room.Name != "B2" {
		t.Fatalf("after rolling back version 3: %+v", b)
	}
}

// directory is n valid directory entries.
func directory(n int) []DirectoryEntry {
	d := make([]DirectoryEntry, n)
	for i := range d {
		d[i] = DirectoryEntry{Name: fmt.Sprintf("Room %d", i+1), URI: fmt.Sprintf("sip:room%d@rooms.example.com", i+1)}
	}
	return d
}
