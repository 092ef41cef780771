package panel_test

import (
	"testing"

	"github.com/roomd/roomd/room"
)

// A paired tablet is not in the room: a meeting it joins starts with the
// microphones muted and the camera private, it cannot open them, and it
// cannot replace a call under way (issue 12 row 4). The kiosk can.
func TestPanelRemoteJoinStartsClosed(t *testing.T) {
	r, calls := startRoom(t)
	tp := startPanel(t, r, nil)
	tablet := newClient(t, tp.remote)
	pair(t, tp, tablet)
	if s := r.Snapshot(); s.MicMute || s.CameraPrivacy {
		t.Fatalf("the room starts closed (mute %v, privacy %v); this test needs it open", s.MicMute, s.CameraPrivacy)
	}
	join := func(c *apiClient, uri string, replace bool) (int, map[string]any) {
		var res map[string]any
		code := c.do("POST", "/api/command", map[string]any{"command": "Call Join", "args": map[string]any{"Uri": uri, "Replace": replace}}, &res)
		return code, res
	}
	if code, res := join(tablet, "janus+wss://attacker.example/janus?room=5", false); code != 200 {
		t.Fatalf("tablet join: %d %v", code, res)
	}
	s := r.Snapshot()
	if !s.MicMute || !s.CameraPrivacy || s.CallBy != room.FromRemote {
		t.Fatalf("after the tablet's join: mute %v, privacy %v, by %v; want muted and private", s.MicMute, s.CameraPrivacy, s.CallBy)
	}
	if n := len(calls.meetings()); n != 1 {
		t.Fatalf("engine joined %d meetings, want 1", n)
	}
	var res map[string]any
	if code := tablet.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Unmute"}, &res); code != 403 || !r.Snapshot().MicMute {
		t.Fatalf("tablet unmute in its call: %d %v", code, res)
	}
	if code, res := join(tablet, "janus+wss://attacker.example/janus?room=6", true); code != 403 || res["reason"] != "NotAllowed" {
		t.Fatalf("tablet replacing the call: %d %v", code, res)
	}
	kiosk := newClient(t, tp.kiosk)
	kiosk.session()
	if code, res := join(kiosk, "janus+wss://sfu.example/janus?room=7", true); code != 200 {
		t.Fatalf("kiosk replacing the call: %d %v", code, res)
	}
	if code := kiosk.do("POST", "/api/command", map[string]any{"command": "Audio Microphones Unmute"}, &res); code != 200 || r.Snapshot().MicMute {
		t.Fatalf("kiosk unmute: %d %v", code, res)
	}
}
