package panel_test

import (
	"testing"

	"github.com/roomd/roomd/room"
)

// The fleet's room directory is the Call sheet's "Call a room" list: a tap
// joins the room's SIP address through Call Join. In the call, the lock
// mark says whether the media is encrypted (issue 14).
func TestPanelBrowserCallARoom(t *testing.T) {
	r, calls := startRoom(t)
	tp := startPanel(t, r, nil)
	b := startBrowser(t)
	b.open(tp.kiosk+"/", 1280, 800)
	b.tap("#btn-dial")
	b.wait(`!document.querySelector('#dial-sheet').hidden`)
	if !b.hidden("#dial-rooms-box") {
		t.Error("the Call a room list shows with no directory")
	}
	r.Report(room.DirectoryReported{Entries: []room.DirectoryEntry{
		{Name: "Oslo — Fjord", URI: "sips:fjord@rooms.example.com"},
		{Name: "Bergen", URI: "sip:bergen@10.0.0.7"},
	}})
	b.wait(`document.querySelectorAll('#dial-rooms .room-entry').length === 2 && !document.querySelector('#dial-rooms-box').hidden`)
	if got := b.textOf("#dial-rooms li:nth-child(1) .room-entry"); got != "Oslo — Fjord" {
		t.Errorf("first room %q", got)
	}
	b.shoot("call-a-room")
	b.size(800, 480)
	b.shoot("call-a-room")
	b.size(1280, 800)
	b.tap("#dial-rooms li:nth-child(2) .room-entry")
	b.wait(`document.querySelector('#call-state').dataset.state === 'InCall'`)
	if j := calls.meetings(); len(j) != 1 || j[0].URI != "sip:bergen@10.0.0.7" {
		t.Fatalf("the directory joined %+v", j)
	}
	if got := b.textOf("#call-name"); got != "Bergen" {
		t.Errorf("call screen names %q", got)
	}

	// The lock shows only for end-to-end encryption where everyone's
	// frames decrypt (issue 17).
	for _, tc := range []struct{ protocol, encryption, label, level string }{
		{"SIP", "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)", "Encrypted", "yes"},
		{"SIP", "none", "Not encrypted", "no"},
		{"Janus", "end-to-end (SFrame AES_128_GCM_SHA256_128)", "End-to-end encrypted", "e2e"},
		{"Janus", "end-to-end (SFrame AES_128_GCM_SHA256_128); cannot decrypt: C#12", "Cannot decrypt", "no"},
		{"Janus", "DTLS-SRTP", "Encrypted", "yes"},
	} {
		r.Report(room.MediaReported{Seq: r.Snapshot().CallSeq, Media: room.CallMedia{Protocol: tc.protocol, Encryption: tc.encryption, Participants: 1}})
		b.wait(`document.querySelector('#encryption').dataset.encrypted === ` + jsString(tc.level) +
			` && document.querySelector('#encryption').title === ` + jsString(tc.encryption))
		if got, proto := b.textOf("#encryption"), b.textOf("#call-protocol"); got != tc.label || proto != tc.protocol {
			t.Errorf("%s: the call shows %q %q, want %q %q", tc.encryption, proto, got, tc.protocol, tc.label)
		}
		lock := eval[string](b, `getComputedStyle(document.querySelector("#encryption-lock")).visibility`)
		if want := map[bool]string{true: "visible", false: "hidden"}[tc.level == "e2e"]; lock != want {
			t.Errorf("%s: the lock is %s, want %s", tc.encryption, lock, want)
		}
	}
}
