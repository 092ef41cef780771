package main

import (
	"context"
	"image"
	"image/png"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/internal/siptest"
)

// simSIPConfig lets a simulated room take SIP calls on free loopback ports
// and its console open the camera (the pattern must reach the far end).
const simSIPConfig = `
[room]
unmute_policy = "anyone"
[sip]
listen_udp = "127.0.0.1:0"
listen_tcp = "127.0.0.1:0"
inbound = "ring"
`

// sipTCPAddress is the room's SIP address over TCP, from its log.
var sipTCPAddress = regexp.MustCompile(`SIP listening" transport=tcp address="(sip:[^"]+)"`)

// sipConsole is a daemon's control socket with a status reader.
type sipConsole struct {
	t   *testing.T
	ctx context.Context
	c   *consoleclient.Client
}

func openSIPConsole(t *testing.T, ctx context.Context, d *daemonUnderTest) *sipConsole {
	t.Helper()
	c, err := consoleclient.Dial(filepath.Join(d.run, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sipConsole{t: t, ctx: ctx, c: c}
}

func (c *sipConsole) exec(cmd string) error {
	_, err := c.c.Exec(c.ctx, cmd)
	return err
}

func (c *sipConsole) status(path string) string {
	lines, err := c.c.Exec(c.ctx, "xStatus "+path)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "*s "+path+":") {
			return strings.Trim(strings.TrimSpace(strings.TrimPrefix(l, "*s "+path+":")), `"`)
		}
	}
	return ""
}

// seesPattern says whether d's screen shows a simulated room's pattern.
func seesPattern(d *daemonUnderTest) bool {
	resp, err := http.Get(d.debug + "/display.png")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	img, err := png.Decode(resp.Body)
	if err != nil {
		return false
	}
	return showsBars(img)
}

// showsBars says whether img shows the simulated camera's 75 % colour bars
// across its top half (upscaled, the frame counter no longer reads back).
// The pattern's box covers at most one bar.
func showsBars(img image.Image) bool {
	bars := [7][3]uint32{{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0}, {191, 0, 191}, {191, 0, 0}, {0, 0, 191}}
	b := img.Bounds()
	match := 0
	for i, want := range bars {
		r, g, bl, _ := img.At(b.Min.X+b.Dx()*(2*i+1)/14, b.Min.Y+b.Dy()/4).RGBA()
		got := [3]uint32{r >> 8, g >> 8, bl >> 8}
		ok := true
		for c := range got {
			if d := int(got[c]) - int(want[c]); d > 50 || d < -50 {
				ok = false
			}
		}
		if ok {
			match++
		}
	}
	return match >= 6
}

// Room to room on loopback, no server: roomd A calls roomd B by address;
// B rings, is accepted on its console, and each screen shows the other
// room's pattern.
func TestDaemonsCallEachOtherOverSIP(t *testing.T) {
	a := startCallRoomd(t, simSIPConfig)
	b := startCallRoomd(t, simSIPConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := sipTCPAddress.FindStringSubmatch(b.logs())
	if m == nil {
		t.Fatalf("room B logs no SIP address:\n%s", b.logs())
	}
	ca, cb := openSIPConsole(t, ctx, a), openSIPConsole(t, ctx, b)
	begin := time.Now()
	if err := ca.exec(`xCommand Call Join Uri: "` + m[1] + `"`); err != nil {
		t.Fatal(err)
	}
	// B rings; its console answers.
	for cb.exec("xCommand Call Accept") != nil {
		if ctx.Err() != nil {
			t.Fatalf("room B never rang; A is %s (%s)", ca.status("Call State"), ca.status("Call Reason"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []*sipConsole{ca, cb} {
		for c.status("Call State") != "InCall" {
			if ctx.Err() != nil {
				t.Fatalf("never in call: %s (%s)", c.status("Call State"), c.status("Call Reason"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := c.exec("xCommand Video Camera Privacy Set Mode: Off"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("join → both in call: %v", time.Since(begin))
	for _, d := range []*daemonUnderTest{a, b} {
		for !seesPattern(d) {
			if ctx.Err() != nil {
				t.Fatal("a room's screen never showed the other room's pattern")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("join → both screens show the other room: %v", time.Since(begin))
	if err := ca.exec("xCommand Call Leave"); err != nil {
		t.Fatal(err)
	}
	for cb.status("Call State") == "InCall" {
		if ctx.Err() != nil {
			t.Fatal("room B stayed in the call after A hung up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The README's call: the simulated room calls baresip (auto-answer,
// SRTP required as the room's default policy) from its console; baresip decodes the room's colour bars, the room shows
// baresip's, tones from the console reach baresip, and leaving hangs up.
func TestDaemonCallsBaresip(t *testing.T) {
	bs := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true, Encryption: siptest.EncryptionSDESMandatory})
	d := startCallRoomd(t, simSIPConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := openSIPConsole(t, ctx, d)
	begin := time.Now()
	if err := c.exec(`xCommand Call Join Uri: "` + bs.URI("udp") + `"`); err != nil {
		t.Fatal(err)
	}
	for st := c.status("Call State"); st != "InCall"; st = c.status("Call State") {
		if st == "Failed" || ctx.Err() != nil {
			t.Fatalf("never in call: %s (%s)", st, c.status("Call Reason"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("join → in call (SDES-SRTP, the default policy): %v", time.Since(begin))
	if err := c.exec("xCommand Video Camera Privacy Set Mode: Off"); err != nil {
		t.Fatal(err)
	}
	if err := c.exec("xCommand Audio Microphones Unmute"); err != nil {
		t.Fatal(err)
	}
	waitBaresipSeesBars(ctx, t, bs)
	t.Log("baresip decodes the room's bars")
	// The status says how the call is carried and keyed.
	for proto, enc := c.status("Call Protocol"), c.status("Call Encryption"); proto != "SIP" || !strings.HasPrefix(enc, "SDES-SRTP"); proto, enc = c.status("Call Protocol"), c.status("Call Encryption") {
		if ctx.Err() != nil {
			t.Fatalf("Call Protocol %q, Call Encryption %q; want SIP and SDES-SRTP", proto, enc)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for !seesColourThirds(d) {
		if ctx.Err() != nil {
			t.Fatal("the room's screen never showed baresip's bars")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Log("the room shows baresip's bars")
	if err := c.exec(`xCommand Call DTMFSend Digits: "42#"`); err != nil {
		t.Fatal(err)
	}
	for bs.DTMFReceived() != "42#" {
		if ctx.Err() != nil {
			t.Fatalf("baresip got tones %q, want 42#", bs.DTMFReceived())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.exec("xCommand Call Leave"); err != nil {
		t.Fatal(err)
	}
	bs.Expect(5*time.Second, siptest.EventCallClosed)
}

// seesColourThirds says whether d's screen shows baresip's red, green and
// blue thirds.
func seesColourThirds(d *daemonUnderTest) bool {
	resp, err := http.Get(d.debug + "/display.png")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	img, err := png.Decode(resp.Body)
	return err == nil && siptest.CheckBars(img) == nil
}

// waitBaresipSeesBars waits until bs decodes the room's colour bars, or
// fails t when ctx ends first.
func waitBaresipSeesBars(ctx context.Context, t *testing.T, bs *siptest.Baresip) {
	t.Helper()
	for {
		img, err := bs.ReceivedFrame(2 * time.Second)
		if err == nil && showsBars(img) {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("baresip never decoded the room's bars: %v", err)
		}
	}
}
