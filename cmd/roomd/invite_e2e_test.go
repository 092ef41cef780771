package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// zoomMeetingID and zoomPasscode are what the Zoom invitation fixture
// carries ("Meeting ID: 812 3456 7890", "Passcode: 314159").
const zoomMeetingID, zoomPasscode = "81234567890", "314159"

// invitationNow is the Zoom invitation fixture with its meeting moved to
// run now.
func invitationNow(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../schedule/testdata/invitations/zoom-dial-rule.ics")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Minute)
	ics := regexp.MustCompile(`(?m)^DTSTART:\S+`).ReplaceAllString(string(raw), "DTSTART:"+start.Format("20060102T150405Z"))
	ics = regexp.MustCompile(`(?m)^DTEND:\S+`).ReplaceAllString(ics, "DTEND:"+start.Add(time.Hour).Format("20060102T150405Z"))
	if !strings.Contains(ics, "Passcode: "+zoomPasscode) {
		t.Fatal("the Zoom fixture no longer carries its passcode")
	}
	return ics
}

// The acceptance of issue 14, end to end: a room's calendar holds a Zoom
// invitation (the web link, "Meeting ID" and "Passcode" as Zoom writes
// them); the organisation's Zoom dial rule points at a room connector —
// here baresip on loopback. The meeting list shows the SIP address the
// rule makes of the meeting ID, without the passcode; the room offers it
// for one-touch join (auto mode would join only with an NTP-trusted clock,
// which a test machine need not have), the console takes the offer,
// baresip answers and decodes the room's bars, and the passcode reaches
// baresip as DTMF.
func TestDaemonJoinsInvitation(t *testing.T) {
	bs := siptest.StartBaresip(t, &siptest.Options{User: zoomMeetingID, AutoAnswer: true, Encryption: siptest.EncryptionSDESMandatory})
	ics := invitationNow(t)
	feed, ca := serveICS(t, ics)
	// The connector's address has the meeting ID as its user; the
	// passcode, not in the pattern, follows as DTMF.
	connector := fmt.Sprintf("127.0.0.1:%d", bs.Port)
	d := startCallRoomd(t, simSIPConfig+`
[schedule]
url = "`+feed.URL+`/room.ics"
mode = "one-touch"
[schedule.dial_rules]
zoom = { dial = "{meeting}@`+connector+`;transport=udp" }
`, "SSL_CERT_FILE="+ca)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	c := openSIPConsole(t, ctx, d)
	begin := time.Now()

	want := "sip:" + zoomMeetingID + "@" + connector + ";transport=udp"
	uri := c.status("Schedule Next 1 Uri")
	for ; uri == ""; uri = c.status("Schedule Next 1 Uri") {
		if ctx.Err() != nil {
			t.Fatalf("the invitation never reached the meeting list:\n%s", d.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if uri != want {
		t.Errorf("Schedule Next 1 Uri = %q, want %q", uri, want)
	}
	if strings.Contains(uri, zoomPasscode) {
		t.Errorf("the meeting list shows the passcode: %q", uri)
	}
	t.Logf("calendar → meeting listed: %v", time.Since(begin))

	id := c.status("Schedule Next 1 Id")
	for c.status("Call JoinOffer Id") != id {
		if ctx.Err() != nil {
			t.Fatalf("the meeting %q was never offered", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.exec("xCommand Call JoinOffered"); err != nil {
		t.Fatal(err)
	}
	for st := c.status("Call State"); st != "InCall"; st = c.status("Call State") {
		if st == "Failed" || ctx.Err() != nil {
			t.Fatalf("the room never joined the meeting: %s (%s)\n%s", st, c.status("Call Reason"), bs.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for got := c.status("Call Protocol"); got != "SIP"; got = c.status("Call Protocol") {
		if ctx.Err() != nil {
			t.Fatalf("Call Protocol = %q, want SIP", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("calendar → offer taken → in call: %v", time.Since(begin))

	if err := c.exec("xCommand Video Camera Privacy Set Mode: Off"); err != nil {
		t.Fatal(err)
	}
	waitBaresipSeesBars(ctx, t, bs)
	t.Logf("calendar → baresip decodes the room's bars: %v", time.Since(begin))

	for bs.DTMFReceived() != zoomPasscode+"#" {
		if ctx.Err() != nil {
			t.Fatalf("baresip got tones %q, want the passcode %s#", bs.DTMFReceived(), zoomPasscode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("calendar → passcode received as DTMF: %v", time.Since(begin))
	if strings.Contains(d.logs(), zoomPasscode) {
		t.Error("roomd logged the passcode")
	}
	if err := c.exec("xCommand Call Leave"); err != nil {
		t.Fatal(err)
	}
	bs.Expect(5*time.Second, siptest.EventCallClosed)
}
