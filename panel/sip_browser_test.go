package panel_test

import (
	"slices"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

// A call rings the room: the kiosk shows the caller with Accept and
// Decline; Accept joins it (the kiosk is in the room, so the microphones
// stay as they were), the in-call keypad sends tones, and a second call is
// declined at the engine. The meeting list says why a meeting cannot be
// joined, and the dial pad calls a SIP address (issue 14).
func TestPanelBrowserIncomingCallAndKeypad(t *testing.T) {
	r, calls := startRoom(t)
	tp := startPanel(t, r, nil)
	now := time.Now().Truncate(time.Minute)
	r.Report(room.ScheduleReported{Next: []room.Meeting{
		{ID: "m-webex", Title: "Webex sync", URI: "sip:123456789@example.webex.com", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)},
		{ID: "m-teams", Title: "Customer call", Why: "a Teams meeting without a video conferencing ID", Start: now.Add(3 * time.Hour), End: now.Add(4 * time.Hour)},
	}})
	syncRoom(t, r)
	b := startBrowser(t)
	b.open(tp.kiosk+"/", 1280, 800)
	b.wait(`document.querySelectorAll('#next-list .meeting').length === 2`)
	if got := b.textOf("#next-list .meeting:nth-child(2) .m-note"); got != "Cannot join from this room: a Teams meeting without a video conferencing ID" {
		t.Errorf("undialable meeting says %q", got)
	}
	if got := b.textOf("#next-list .meeting:nth-child(1) .m-note"); got != "Join opens a few minutes before the start" {
		t.Errorf("dialable meeting says %q", got)
	}

	// It rings; nothing is answered until someone taps.
	if !b.hidden("#incoming-sheet") {
		t.Fatal("the incoming-call sheet shows with nothing ringing")
	}
	r.Report(room.IncomingCallReported{ID: "c1", From: "sip:alice@example.com", Display: "Alice Example"})
	b.wait(`!document.querySelector('#incoming-sheet').hidden`)
	if got, uri := b.textOf("#incoming-name"), b.textOf("#incoming-uri"); got != "Alice Example" || uri != "sip:alice@example.com" {
		t.Errorf("sheet shows %q %q", got, uri)
	}
	if note := b.textOf("#incoming-note"); note != "" {
		t.Errorf("the kiosk warns %q; only a tablet answers muted", note)
	}
	b.shoot("incoming-call")
	b.size(800, 480)
	b.shoot("incoming-call")
	b.size(1280, 800)
	b.tap("#btn-incoming-accept")
	b.wait(`document.querySelector('#incoming-sheet').hidden && document.querySelector('#call-state').dataset.state === 'InCall'`)
	if got := b.textOf("#call-name"); got != "Alice Example" {
		t.Errorf("call screen names %q", got)
	}
	j := calls.meetings()
	if len(j) != 1 || j[0].Incoming != "c1" || j[0].URI != "sip:alice@example.com" {
		t.Fatalf("the engine joined %+v, want the answer of c1", j)
	}
	if s := r.Snapshot(); s.MicMute || s.CameraPrivacy {
		t.Errorf("answered from the kiosk, the room muted %v private %v", s.MicMute, s.CameraPrivacy)
	}

	// Tones into the call.
	b.tap("#btn-keypad")
	b.wait(`!document.querySelector('#dtmf-sheet').hidden`)
	for _, k := range []string{"4", "7", "1", "1", "#"} {
		b.tap(`#dtmf-pad .key[data-key="` + k + `"]`)
	}
	b.wait(`document.querySelector('#dtmf-sent').textContent === '4711#'`)
	b.shoot("in-call-keypad")
	b.size(800, 480)
	b.shoot("in-call-keypad")
	b.size(1280, 800)
	if tones, _ := calls.sent(); !slices.Equal(tones, []string{"4", "7", "1", "1", "#"}) {
		t.Errorf("the engine sent %q", tones)
	}
	b.tap("#btn-dtmf-close")
	b.wait(`document.querySelector('#dtmf-sheet').hidden`)
	b.tap("#leave")
	b.wait(`document.body.dataset.screen === 'home'`)
	if !b.hidden("#btn-keypad") {
		t.Error("the keypad is offered outside a call")
	}

	// Declined.
	r.Report(room.IncomingCallReported{ID: "c2", From: "sip:bob@example.com"})
	b.wait(`!document.querySelector('#incoming-sheet').hidden && document.querySelector('#incoming-name').textContent === 'bob@example.com'`)
	b.tap("#btn-incoming-decline")
	b.wait(`document.querySelector('#incoming-sheet').hidden`)
	if _, declined := calls.sent(); !slices.Equal(declined, []string{"c2"}) {
		t.Errorf("declined %q", declined)
	}
	// Given up by the caller: the sheet goes by itself.
	r.Report(room.IncomingCallReported{ID: "c3", From: "sip:carol@example.com", Display: "Carol"})
	b.wait(`!document.querySelector('#incoming-sheet').hidden`)
	r.Report(room.IncomingCallGone{ID: "c3", Reason: "the caller hung up"})
	b.wait(`document.querySelector('#incoming-sheet').hidden && document.querySelector('#toast').textContent === 'Missed call from Carol'`)

	// Dial a room by its address: the dial pad types, the join is a sip: link.
	b.tap("#btn-dial")
	b.wait(`!document.querySelector('#dial-sheet').hidden`)
	for _, k := range []string{"1", "0", "4", "@"} {
		b.tap(`#dial-pad .key[data-key="` + k + `"]`)
	}
	eval[any](b, `(() => { const a = document.querySelector('#dial-addr'); a.value += 'rooms.example.com'; return null; })()`)
	b.shoot("dial")
	b.size(800, 480)
	b.shoot("dial")
	b.size(1280, 800)
	b.tap("#btn-dial-call")
	b.wait(`document.querySelector('#call-state').dataset.state === 'InCall' && document.querySelector('#dial-sheet').hidden`)
	if j := calls.meetings(); len(j) != 2 || j[1].URI != "sip:104@rooms.example.com" || j[1].Incoming != "" {
		t.Fatalf("the dial pad joined %+v", j)
	}
	if got := b.textOf("#call-name"); got != "104@rooms.example.com" {
		t.Errorf("call screen names %q", got)
	}
}

// hidden reports whether the element is hidden.
func (b *browser) hidden(sel string) bool {
	b.t.Helper()
	return eval[bool](b, `document.querySelector(`+jsString(sel)+`).hidden`)
}

// A paired tablet answers a ringing call the same way it joins a meeting:
// from outside the room, so the room mutes and goes private before the
// engine answers; Call Reject and tones work from it too.
func TestPanelRemoteAcceptStartsClosed(t *testing.T) {
	r, calls := startRoom(t)
	tp := startPanel(t, r, nil)
	tablet := newClient(t, tp.remote)
	pair(t, tp, tablet)
	cmd := func(name string, args map[string]any) (int, map[string]any) {
		var res map[string]any
		return tablet.do("POST", "/api/command", map[string]any{"command": name, "args": args}, &res), res
	}
	r.Report(room.IncomingCallReported{ID: "c1", From: "sip:alice@example.com", Display: "Alice"})
	syncRoom(t, r)
	if code, res := cmd("Call Accept", map[string]any{"Id": "c1"}); code != 200 {
		t.Fatalf("tablet accept: %d %v", code, res)
	}
	s := r.Snapshot()
	if !s.MicMute || !s.CameraPrivacy || s.CallBy != room.FromRemote {
		t.Fatalf("after the tablet answered: mute %v privacy %v by %v", s.MicMute, s.CameraPrivacy, s.CallBy)
	}
	waitCall(t, r, room.InCall)
	if code, res := cmd("Call DTMFSend", map[string]any{"Digits": "123#"}); code != 200 {
		t.Fatalf("tablet tones: %d %v", code, res)
	}
	if code, res := cmd("Call DTMFSend", map[string]any{"Digits": "12x"}); code == 200 {
		t.Fatalf("bad tones accepted: %v", res)
	}
	if code, _ := cmd("Call Leave", nil); code != 200 {
		t.Fatal("leave")
	}
	waitCall(t, r, room.Idle)
	r.Report(room.IncomingCallReported{ID: "c2", From: "sip:bob@example.com"})
	syncRoom(t, r)
	if code, res := cmd("Call Reject", nil); code != 200 {
		t.Fatalf("tablet reject: %d %v", code, res)
	}
	if tones, declined := calls.sent(); !slices.Equal(tones, []string{"123#"}) || !slices.Equal(declined, []string{"c2"}) {
		t.Errorf("tones %q declined %q", tones, declined)
	}
}

// waitCall waits up to 3 s for the room's call to reach want.
func waitCall(t *testing.T, r *room.Room, want room.CallState) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for r.Snapshot().Call != want {
		if time.Now().After(deadline) {
			t.Fatalf("the call is %v, want %v", r.Snapshot().Call, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
