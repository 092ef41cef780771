package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roomd/roomd/internal/browsertest"
	"github.com/roomd/roomd/internal/janustest"
)

func TestPanelTokensCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "panel-tokens.json"), []byte(`{"panels":[{"id":"ab12cd34","name":"Tablet","hash":"00","created":"2026-01-02T03:04:05Z"}]}`), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"panel-tokens", "--state-dir", dir, "list"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "ab12cd34\tTablet") {
		t.Fatalf("list: %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"panel-tokens", "--state-dir", dir, "revoke", "nope"}, nil, &out, &errb); code != 1 {
		t.Fatalf("revoke unknown: %d", code)
	}
	if code := run([]string{"panel-tokens", "--state-dir", dir, "revoke", "ab12cd34"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "revoked 1") {
		t.Fatalf("revoke: %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	run([]string{"panel-tokens", "--state-dir", dir, "list"}, nil, &out, &errb)
	if !strings.Contains(out.String(), "no paired panels") {
		t.Fatalf("after revoke: %q", out.String())
	}
}

var panelURL = regexp.MustCompile(`msg="roomd: touch panel" access=kiosk url=http://(127\.0\.0\.1:\d+)/`)

// calendarFeed serves an iCalendar feed over HTTPS with one meeting that
// starts in two minutes at link, and returns its URL and the PEM file that
// makes roomd trust it (SSL_CERT_FILE).
func calendarFeed(t *testing.T, title, link string) (url, caFile string) {
	t.Helper()
	start := time.Now().UTC().Add(2 * time.Minute).Truncate(time.Minute)
	ics := strings.Join([]string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//roomd//panel test//EN",
		"BEGIN:VEVENT", "UID:panel-test-1@roomd", "DTSTAMP:20260101T000000Z",
		"DTSTART:" + start.Format("20060102T150405Z"), "DTEND:" + start.Add(time.Hour).Format("20060102T150405Z"),
		"SUMMARY:" + title, "LOCATION:" + link,
		"END:VEVENT", "END:VCALENDAR", "",
	}, "\r\n")
	srv, caFile := serveICS(t, ics)
	return srv.URL + "/room.ics", caFile
}

// The real daemon on the simulated board with a calendar: tap Join on the
// scheduled meeting and the room joins a real Janus room; a mute typed on
// the serial console (the simulated board's pseudo-terminal) shows on the
// panel within 200 ms; Leave leaves Janus; a meeting link typed on the
// panel joins too.
func TestPanelDaemonJoinsJanusAndFollowsTheConsole(t *testing.T) {
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	link := fmt.Sprintf("janus+%s?room=%d&pin=%s", strings.TrimSuffix(j.URL, "/"), vr.ID, vr.PIN)
	feed, ca := calendarFeed(t, "Quarterly planning", link)
	d := startCallRoomd(t, `
[schedule]
url = "`+feed+`"
show_titles = true
[room]
name = "Simulated Room"
[panel]
listen = "127.0.0.1:0"
`, "SSL_CERT_FILE="+ca)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil; time.Sleep(10 * time.Millisecond) {
		if m = panelURL.FindStringSubmatch(d.logs()); m == nil && time.Now().After(deadline) {
			t.Fatalf("no panel URL in the log:\n%s", d.logs())
		}
	}

	ctx := browsertest.Launch(t)
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 800, chromedp.EmulateTouch),
		chromedp.Navigate("http://"+m[1]+"/"),
	); err != nil {
		t.Fatal(err)
	}
	js := func(expr string) bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		return err == nil && ok
	}
	waitJS := func(expr string, d time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(d); !js(expr); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				st, _ := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`window.panel.status`))
				var seen []string
				for k, v := range st {
					if strings.HasPrefix(k, "Call ") || strings.HasPrefix(k, "Schedule ") {
						seen = append(seen, k+"="+v)
					}
				}
				slices.Sort(seen)
				t.Fatalf("timed out waiting for %s; the panel's status: %s", expr, strings.Join(seen, "; "))
			}
		}
	}
	tap := func(sel string) {
		t.Helper()
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		defer tcancel()
		if err := chromedp.Do(tctx, chromedp.Tap(chromedp.CSS(sel))); err != nil {
			t.Fatalf("tap %s: %v", sel, err)
		}
	}
	waitJS(`window.panel && window.panel.connected && document.body.dataset.screen === 'home'`, 10*time.Second)
	if !js(`document.querySelector('#room-name').textContent === 'Simulated Room'`) {
		t.Fatal("the panel does not show the room's name")
	}

	// The calendar's meeting is offered: tap Join.
	waitJS(`document.querySelector('#btn-join-offer') && document.querySelector('#offer .m-title').textContent === 'Quarterly planning'`, 15*time.Second)
	tap("#btn-join-offer")
	waitJS(`document.body.dataset.screen === 'call' && document.querySelector('#call-state').dataset.state === 'InCall'`, 30*time.Second)
	if !js(`document.querySelector('#call-name').textContent === 'Quarterly planning'`) {
		t.Error("the call screen does not name the meeting")
	}
	if ps, err := j.Participants(vr.ID); err != nil || len(ps) != 1 {
		t.Fatalf("Janus participants %+v (%v)", ps, err)
	}
	if js(`document.body.innerText.includes(` + fmt.Sprintf("%q", vr.PIN) + `)`) {
		t.Error("the meeting PIN shows on the panel")
	}

	// The console, as an integrator's control system drives it.
	c := openConsole(t, d)
	c.send("")
	c.expect("PIN:")
	c.send("1234")
	c.expect("OK")
	c.send("echo off")
	c.expect("OK")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`(() => {
	  window.muteSeen = [];
	  const el = document.querySelector('#mute');
	  // Only real changes count: the panel rewrites the attribute on every update.
	  new MutationObserver((ms) => { for (const m of ms) if (m.oldValue !== el.dataset.muted) window.muteSeen.push([el.dataset.muted, Date.now()]); })
	    .observe(el, { attributes: true, attributeOldValue: true, attributeFilter: ['data-muted'] });
	  return null;
	})()`)); err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	for i, cmd := range []string{"Mute", "Unmute", "Mute", "Unmute", "Mute", "Unmute", "Mute", "Unmute"} {
		want := map[string]string{"Mute": "true", "Unmute": "false"}[cmd]
		sent := time.Now()
		c.send("xCommand Audio Microphones " + cmd)
		waitJS(fmt.Sprintf(`window.muteSeen.length === %d && window.muteSeen[%d][0] === '%s'`, i+1, i, want), 5*time.Second)
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`window.muteSeen[%d][1]`, i)))
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.UnixMilli(int64(ms)).Sub(sent))
		c.expect("OK")
	}
	// The same budget as the panel package's test: every sample but the
	// slowest within 200 ms, the slowest (a stall of the shared machine)
	// within 500 ms, the median well under.
	slices.Sort(lat)
	n := len(lat)
	t.Logf("console mute/unmute → panel shows it: median %v, max %v (%v)", lat[n/2], lat[n-1], lat)
	if lat[n-2] > 200*time.Millisecond || lat[n-1] > 500*time.Millisecond || lat[n/2] > 50*time.Millisecond {
		t.Fatalf("console mute → panel: median %v, second slowest %v, slowest %v; want under 50 ms, 200 ms and 500 ms", lat[n/2], lat[n-2], lat[n-1])
	}
	if lat[0] < -5*time.Millisecond {
		t.Fatalf("the panel changed before the command was sent (%v): the measurement is broken", lat[0])
	}

	tap("#leave")
	waitJS(`document.body.dataset.screen === 'home'`, 10*time.Second)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ps, err := j.Participants(vr.ID)
		if err == nil && len(ps) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still in Janus after Leave: %+v %v", ps, err)
		}
	}

	// Join by a link typed on the panel, its PIN in the link.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.querySelector('#link').value = `+fmt.Sprintf("%q", link))); err != nil {
		t.Fatal(err)
	}
	tap("#btn-join-link")
	waitJS(`document.body.dataset.screen === 'call' && document.querySelector('#call-state').dataset.state === 'InCall'`, 30*time.Second)
	if ps, err := j.Participants(vr.ID); err != nil || len(ps) != 1 {
		t.Fatalf("Janus participants after the link join %+v (%v)", ps, err)
	}
	tap("#leave")
	waitJS(`document.body.dataset.screen === 'home'`, 10*time.Second)
	if strings.Contains(d.logs(), vr.PIN) {
		t.Fatal("the meeting passcode reached the log")
	}
}
