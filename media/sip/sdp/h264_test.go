package sdp

import (
	"testing"
)

// TestH264SendLimit: the far end's profile-level-id, max-fs, max-mbps and
// max-br become the largest picture roomd sends.
func TestH264SendLimit(t *testing.T) {
	hd := VideoLimits{Width: 1280, Height: 720, FPS: 30}
	fullHD := VideoLimits{Width: 1920, Height: 1080, FPS: 30}
	for _, tc := range []struct {
		fmtp string
		ours VideoLimits
		want string
	}{
		{"profile-level-id=42e01f", hd, "1280x720@30 ≤14000 kbit/s"},
		// Level 3: 1620 macroblocks, 40500 per second.
		{"profile-level-id=42e01e", hd, "852x480@25 ≤10000 kbit/s"},
		// Level 2.2: 480p would run at 12 fps, so 360p at 22.
		{"profile-level-id=42e016", hd, "640x360@22 ≤4000 kbit/s"},
		// Cisco's level 2.2 raised to 1080p by max-fs/max-mbps.
		{"profile-level-id=428016;max-fs=8160;max-mbps=490000;max-br=5000", fullHD, "1920x1080@30 ≤5000 kbit/s"},
		// Level 4 with asymmetry: roomd's 1080p fits; without it, level 3.1 caps at 720p.
		{"profile-level-id=42e028;level-asymmetry-allowed=1", fullHD, "1920x1080@30 ≤20000 kbit/s"},
		{"profile-level-id=42e028", fullHD, "1280x720@30 ≤14000 kbit/s"},
		// No profile-level-id: Baseline level 1 (RFC 6184 §8.1), QCIF-sized.
		{"packetization-mode=1", hd, "160x90@24 ≤64 kbit/s"},
		// Level 1b is level_idc 11 with constraint_set3.
		{"profile-level-id=42f00b", hd, "160x90@24 ≤128 kbit/s"},
		// Level 1.1: 320x180 would run at 12 fps; smaller keeps 15 or more.
		{"profile-level-id=42e00b", hd, "212x120@26 ≤192 kbit/s"},
		// roomd's own ceiling wins over the far end's.
		{"profile-level-id=42e033", VideoLimits{Width: 1280, Height: 720, FPS: 30, MaxBitrate: 2_000_000}, "1280x720@30 ≤2000 kbit/s"},
	} {
		p, prof, ok := parseH264(tc.fmtp)
		if !ok {
			t.Fatalf("%q does not parse", tc.fmtp)
		}
		if got := h264SendLimit(prof, p, tc.ours, p.LevelAsymmetryAllowed).String(); got != tc.want {
			t.Errorf("%q from %v: %s, want %s", tc.fmtp, tc.ours, got, tc.want)
		}
	}
}

func TestH264Profiles(t *testing.T) {
	for id, want := range map[string]bool{
		"42e01f": true, "42001f": true, "428016": true, "42c01e": true,
		"4d401f": true, "4d001f": false, "58c01f": true, "58401f": false,
		"640c1f": false, "64001f": false, "f4001f": false,
	} {
		prof, ok := parseProfileLevelID(id)
		if !ok || prof.decodable() != want {
			t.Errorf("%s: decodable %v (parsed %v), want %v", id, prof.decodable(), ok, want)
		}
	}
	for _, bad := range []string{"", "42e0", "42e01fz", "zz0000", "42e01f00"} {
		if _, ok := parseProfileLevelID(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, _, ok := parseH264("packetization-mode=x"); ok {
		t.Error("packetization-mode=x parsed")
	}
}

// TestAnswerProfileLevelID: an answer keeps the offered profile and
// answers a level roomd decodes (RFC 6184 §8.2.2).
func TestAnswerProfileLevelID(t *testing.T) {
	for _, tc := range []struct {
		offered string
		asym    bool
		want    string
	}{
		{"42e01f", true, "42e01f"},
		{"42e01f", false, "42e01f"},
		{"42e028", false, "42e01f"}, // roomd's 3.1 is lower
		{"42e028", true, "42e01f"},  // with asymmetry, roomd states its own
		{"42e016", false, "42e016"}, // the offer's lower level
		{"428016", true, "42801f"},
		{"42f00b", true, "42e01f"}, // 1b's constraint_set3 dropped with the level
		{"42f00b", false, "42f00b"},
	} {
		prof, _ := parseProfileLevelID(tc.offered)
		if got := answerProfileLevelID(prof, tc.asym); got != tc.want {
			t.Errorf("%s asym=%v: %s, want %s", tc.offered, tc.asym, got, tc.want)
		}
	}
}

func TestFitPictureVP8(t *testing.T) {
	s := newSession(t, roomConfig("192.0.2.1", 40000, nil))
	m := newRemoteMedia(1, s.cfg.Address)
	for fmtp, want := range map[string]string{
		"":                       "1280x720@30",
		"max-fs=3600":            "1280x720@30",
		"max-fs=1200;max-fr=15":  "640x360@15",
		"max-fs=99":              "160x90@30",
		"max-fs=12000;max-fr=60": "1280x720@30",
	} {
		if got := s.sendLimit(m, Codec{Name: VP8, Fmtp: fmtp}).String(); got != want {
			t.Errorf("VP8 %q: %s, want %s", fmtp, got, want)
		}
	}
}
