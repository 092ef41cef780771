package panel_test

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/serialport"
	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

// schedule gives the room a calendar: one meeting offered for one-touch
// join, and the rest of the day.
func schedule(r *room.Room) room.Meeting {
	now := time.Now().Truncate(time.Minute)
	offer := room.Meeting{ID: "m-planning", Title: "Quarterly planning", URI: "janus+wss://sfu.example.com/janus?room=1234", Passcode: "4711",
		Start: now.Add(3 * time.Minute), End: now.Add(63 * time.Minute)}
	next := []room.Meeting{
		{ID: offer.ID, Title: offer.Title, URI: offer.URI, Start: offer.Start, End: offer.End},
		{ID: "m-design", Title: "Design review", URI: "janus+wss://sfu.example.com/janus?room=88", Start: now.Add(90 * time.Minute), End: now.Add(135 * time.Minute)},
		{ID: "m-sam", Title: "1:1 with Sam", URI: "whip+https://media.example.com/whip/sam", Start: now.Add(150 * time.Minute), End: now.Add(180 * time.Minute)},
		{ID: "m-teams", Title: "Customer call", Start: now.Add(210 * time.Minute), End: now.Add(240 * time.Minute)},
	}
	r.Report(room.ScheduleReported{Next: next, Offer: offer})
	return offer
}

// Tap Join on the scheduled meeting → the in-call screen; then privacy,
// volume and leave round-trip through the room.
func TestPanelBrowserJoinAndCallControls(t *testing.T) {
	r, calls := startRoom(t)
	tp := startPanel(t, r, nil)
	offer := schedule(r)
	syncRoom(t, r)
	b := startBrowser(t)
	b.open(tp.kiosk+"/", 1280, 800)
	b.wait(`document.querySelector('#btn-join-offer')`)
	if got := b.textOf("#offer .m-title"); got != "Quarterly planning" {
		t.Fatalf("offered meeting shows %q", got)
	}
	b.tap("#btn-join-offer")
	b.wait(`document.body.dataset.screen === 'call' && document.querySelector('#call-state').dataset.state === 'InCall'`)
	if got := b.textOf("#call-name"); got != "Quarterly planning" {
		t.Errorf("call screen names %q", got)
	}
	if j := calls.meetings(); len(j) != 1 || j[0].ID != offer.ID || j[0].Passcode != offer.Passcode {
		t.Fatalf("the engine joined %+v", j)
	}
	b.wait(`document.querySelector('#participants').textContent === '3'`)
	if q := b.textOf("#quality"); q != "Good" {
		t.Errorf("quality %q", q)
	}
	// What roomd receives from each participant, as the engine reported it.
	b.wait(`document.querySelectorAll('#received dt').length === 3`)
	for sel, want := range map[string]string{
		"#received dt:nth-of-type(1)": "Alice (Oslo)", "#received dd:nth-of-type(1)": "1280x720 @ 30 fps · 1.8 Mbit/s",
		"#received dt:nth-of-type(2)": "Bob", "#received dd:nth-of-type(2)": "640x360 @ 15 fps · 150 kbit/s",
		"#received dt:nth-of-type(3)": "Phone", "#received dd:nth-of-type(3)": "No video yet · 50 kbit/s",
	} {
		if got := b.textOf(sel); got != want {
			t.Errorf("%s shows %q, want %q", sel, got, want)
		}
	}

	// Privacy on and off.
	b.tap("#privacy")
	b.wait(`document.querySelector('#privacy').dataset.privacy === 'true'`)
	if !r.Snapshot().CameraPrivacy {
		t.Fatal("panel shows privacy but the room has none")
	}
	b.tap("#privacy")
	b.wait(`document.querySelector('#privacy').dataset.privacy === 'false'`)
	if r.Snapshot().CameraPrivacy {
		t.Fatal("privacy still on")
	}
	// Volume up and down by the configured step.
	v0 := r.Snapshot().Volume
	b.tap("#screen-call .vol-up")
	b.wait(`document.querySelector('#screen-call [data-volume]').dataset.volume === '` + itoa(v0+5) + `'`)
	if r.Snapshot().Volume != v0+5 {
		t.Fatalf("volume %d, want %d", r.Snapshot().Volume, v0+5)
	}
	b.tap("#screen-call .vol-down")
	b.wait(`document.querySelector('#screen-call [data-volume]').dataset.volume === '` + itoa(v0) + `'`)
	// A camera preset.
	b.tap("#presets .btn:nth-child(2)")
	b.wait(`document.querySelector('#presets .btn:nth-child(2)').classList.contains('active')`)
	if r.Snapshot().CameraPreset != 2 {
		t.Fatalf("preset %d", r.Snapshot().CameraPreset)
	}
	// A volume change from elsewhere shows too: the panel follows the room.
	if err := r.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromSocket}, Do: room.SetVolume{Level: 20}}); err != nil {
		t.Fatal(err)
	}
	b.wait(`document.querySelector('#screen-call .vol-num').textContent === '20'`)

	b.tap("#leave")
	b.wait(`document.body.dataset.screen === 'home'`)
	if s := r.Snapshot(); s.Call != room.Idle {
		t.Fatalf("after leave the room is %v", s.Call)
	}

	// A failed join says why and offers Retry, which joins the same meeting.
	calls.failNext("the meeting server did not answer")
	b.tap("#link")
	typeLink(b, "janus+ws://127.0.0.1:1/?room=5&pin=99")
	b.tap("#btn-join-link")
	b.wait(`document.querySelector('#call-state').dataset.state === 'Failed'`)
	if got := b.textOf("#cp-reason"); got != "the meeting server did not answer" {
		t.Errorf("failure reason %q", got)
	}
	b.tap("#btn-retry")
	b.wait(`document.querySelector('#call-state').dataset.state === 'InCall'`)
	j := calls.meetings()
	if last := j[len(j)-1]; last.URI != "janus+ws://127.0.0.1:1/?room=5" || last.Passcode != "99" {
		t.Errorf("retry joined %+v", last)
	}
	b.tap("#leave")
	b.wait(`document.body.dataset.screen === 'home'`)
}

// typeLink puts a meeting link in the link field, as the on-screen keyboard would.
func typeLink(b *browser, link string) {
	eval[any](b, `(() => { document.querySelector('#link').value = `+jsString(link)+`; return null; })()`)
}

func itoa(n int) string { return strconv.Itoa(n) }

// Mute from the serial console (a real pseudo-terminal) shows on the panel
// within 200 ms: the time from writing the command to the mute button
// showing the room's new state.
func TestPanelBrowserSerialMuteLatency(t *testing.T) {
	r, _ := startRoom(t)
	tp := startPanel(t, r, nil)

	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	line, err := serialport.Open(hal.SerialDesc{Role: "console", Port: slave.Name()})
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	con, err := serial.NewServer(r, serial.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- con.ServeLine(ctx, line) }()
	t.Cleanup(func() { cancel(); <-done })
	go func() { // the integrator reads what the console answers
		buf := make([]byte, 4096)
		for {
			if _, err := master.Read(buf); err != nil {
				return
			}
		}
	}()

	b := startBrowser(t)
	b.open(tp.kiosk+"/", 800, 480)
	// The page notes when the button changes, on the browser's clock (the
	// same machine's wall clock as the test's).
	eval[any](b, `(() => {
	  window.muteSeen = [];
	  const el = document.querySelector('#home-mute');
	  // Only real changes count: the panel rewrites the attribute on every update.
	  new MutationObserver((ms) => { for (const m of ms) if (m.oldValue !== el.dataset.muted) window.muteSeen.push([el.dataset.muted, Date.now()]); })
	    .observe(el, { attributes: true, attributeOldValue: true, attributeFilter: ['data-muted'] });
	  return null;
	})()`)
	var lat []time.Duration
	for i, cmd := range []string{"Mute", "Unmute", "Mute", "Unmute", "Mute", "Unmute", "Mute", "Unmute"} {
		want := "true"
		if cmd == "Unmute" {
			want = "false"
		}
		sent := time.Now()
		if _, err := master.Write([]byte("xCommand Audio Microphones " + cmd + "\r")); err != nil {
			t.Fatal(err)
		}
		b.wait(`window.muteSeen.length === ` + itoa(i+1) + ` && window.muteSeen[` + itoa(i) + `][0] === '` + want + `'`)
		ms := eval[float64](b, `window.muteSeen[`+itoa(i)+`][1]`)
		d := time.UnixMilli(int64(ms)).Sub(sent)
		lat = append(lat, d)
		if (r.Snapshot().MicMute) != (want == "true") {
			t.Fatalf("panel shows muted=%s but the room says %v", want, r.Snapshot().MicMute)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("serial command → panel shows it: median %v, max %v (%d samples: %v)", lat[len(lat)/2], lat[len(lat)-1], len(lat), lat)
	checkLatency(t, lat)
	if lat[0] < -5*time.Millisecond {
		t.Fatalf("the panel changed before the command was sent (%v): the measurement is broken", lat[0])
	}
}

// checkLatency asserts the 200 ms budget on sorted samples. Every sample but
// the slowest must be within it; the slowest may be a scheduling stall of
// the shared test machine (seen once at 311 ms while three race builds ran
// beside it), so it gets 500 ms, and the median must be well under budget.
func checkLatency(t *testing.T, lat []time.Duration) {
	t.Helper()
	n := len(lat)
	if lat[n-2] > 200*time.Millisecond || lat[n-1] > 500*time.Millisecond || lat[n/2] > 50*time.Millisecond {
		t.Fatalf("serial mute → panel: median %v, second slowest %v, slowest %v; want under 50 ms, 200 ms and 500 ms", lat[n/2], lat[n-2], lat[n-1])
	}
}

// A remote tablet: refused until paired with the code from the room's
// panel; then it works until revoked by the local command.
func TestPanelBrowserRemotePairing(t *testing.T) {
	r, _ := startRoom(t)
	tp := startPanel(t, r, nil)
	b := startBrowser(t)
	b.open(tp.remote+"/", 1280, 800)
	b.wait(`document.body.dataset.screen === 'pair'`)
	if eval[bool](b, `!!window.panel.ws`) {
		t.Fatal("an unpaired panel opened a WebSocket")
	}
	status := evalAwait[float64](b, `fetch('/api/status').then(r => r.status)`)
	if status != 401 {
		t.Fatalf("unpaired GET /api/status from the page: %v", status)
	}
	b.tap("#btn-get-code")
	var code string
	select {
	case code = <-tp.codes:
	case <-time.After(5 * time.Second):
		t.Fatal("no pairing code shown")
	}
	for _, d := range code {
		b.tap(`#pair-pad .key[data-key="` + string(d) + `"]`)
	}
	b.wait(`document.body.dataset.screen === 'home' && window.panel.connected`)
	b.tap("#home-mute")
	b.wait(`document.querySelector('#home-mute').dataset.muted === 'true'`)
	if !r.Snapshot().MicMute {
		t.Fatal("not muted")
	}
	// Unmute is refused (a tablet is not in the room) and the panel says so.
	b.tap("#home-mute")
	b.wait(`!document.querySelector('#toast').hidden && document.querySelector('#toast').textContent.includes('Not allowed')`)
	if !r.Snapshot().MicMute {
		t.Fatal("a remote panel unmuted the room")
	}
	ps, err := panel.ListPaired(tp.dir)
	if err != nil || len(ps) != 1 {
		t.Fatalf("paired panels %v %v", ps, err)
	}
	if _, err := panel.Revoke(tp.dir, ps[0].ID); err != nil {
		t.Fatal(err)
	}
	b.wait(`document.body.dataset.screen === 'pair'`)
	status = evalAwait[float64](b, `fetch('/api/command', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': window.panel.session.csrf}, body: '{"command":"Audio Volume Set","args":{"Level":10}}'}).then(r => r.status)`)
	if status != 401 || r.Snapshot().Volume == 10 {
		t.Fatalf("revoked panel's command: %v, volume %d", status, r.Snapshot().Volume)
	}
}

// The mute button shows what the microphones report: a mute that does not
// take leaves the panel showing the microphones open, and says why.
func TestPanelBrowserShowsTheMicrophonesRealState(t *testing.T) {
	r, _ := startRoomWith(t, room.Devices{Mic: stuckMic{}})
	tp := startPanel(t, r, nil)
	b := startBrowser(t)
	b.open(tp.kiosk+"/", 1280, 800)
	eval[any](b, `(() => {
	  window.muteSeen = [];
	  const el = document.querySelector('#home-mute');
	  new MutationObserver((ms) => { for (const m of ms) if (m.oldValue !== el.dataset.muted) window.muteSeen.push(el.dataset.muted); })
	    .observe(el, { attributes: true, attributeOldValue: true, attributeFilter: ['data-muted'] });
	  return null;
	})()`)
	b.tap("#home-mute")
	b.wait(`!document.querySelector('#toast').hidden && document.querySelector('#toast').textContent.includes('codec register write failed')`)
	if r.Snapshot().MicMute {
		t.Fatal("the room says muted")
	}
	if seen := eval[[]string](b, `window.muteSeen`); len(seen) != 0 {
		t.Fatalf("the mute button changed to %v although the microphones never muted", seen)
	}
	if got := b.textOf("#home-mute .t-label"); got != "Mic on" {
		t.Fatalf("button says %q", got)
	}
}
