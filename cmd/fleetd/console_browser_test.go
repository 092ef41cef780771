package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roomd/roomd/internal/browsertest"
	"github.com/roomd/roomd/internal/testtool"
)

// consoleBrowser is headless Debian Chromium showing the fleet console at
// 1440×900; an uncaught script error fails the test.
type consoleBrowser struct {
	t   *testing.T
	ctx context.Context
}

func startConsoleBrowser(t *testing.T) *consoleBrowser {
	t.Helper()
	// The admin listener's certificate is from the fleet's own CA.
	ctx := browsertest.Launch(t, chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("hide-scrollbars", true), chromedp.Flag("lang", "en-GB"))
	browsertest.FailOnScriptErrors(t, ctx, "the fleet console")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900)); err != nil {
		t.Fatal(err)
	}
	return &consoleBrowser{t: t, ctx: ctx}
}

// run runs actions, failing the test after 10 s.
func (b *consoleBrowser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (view %q)", what, err, b.text(`document.body.dataset.view`))
	}
}

// fill sets the value of the input or textarea sel as typing would.
func (b *consoleBrowser) fill(sel, value string) chromedp.Action[chromedp.Void] {
	sj, _ := json.Marshal(sel)
	vj, _ := json.Marshal(value)
	return chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector(` + string(sj) + `); e.value = ` + string(vj) +
		`; e.dispatchEvent(new Event('input', {bubbles: true})); })()`)
}

// text evaluates js to a string, "" on error.
func (b *consoleBrowser) text(js string) string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	return s
}

// wait polls a JavaScript condition for up to 10 s.
func (b *consoleBrowser) wait(cond string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s (view %q, errors %q, err %v)", cond, b.text(`document.body.dataset.view`),
				b.text(`[...document.querySelectorAll('.error')].map(e => e.textContent).join(' | ')`), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shoot keeps a screenshot of the whole 1440×900 viewport as a test
// artefact and logs where.
func (b *consoleBrowser) shoot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(browsertest.ScreenshotDir(b.t), name+"-1440x900.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
}

// An admin in a real browser signs in with the admin token, sees the
// rooms' health, approves the room waiting for approval, issues an
// activation code and pushes a configuration (first one the admin API's
// validation refuses, with its error on the page, then a good one), on
// fleetd's serve path.
func TestConsoleBrowser(t *testing.T) {
	testtool.SkipInShortMode(t, "Chromium")
	ctx := context.Background()
	sf := startServe(t, serveOptions{}, nil)
	seedConsoleRooms(t, sf.f)
	b := startConsoleBrowser(t)

	b.run("open the admin listener", chromedp.Navigate("https://"+sf.adminAddr+"/"))
	b.wait(`document.body.dataset.view === 'login' && location.pathname === '/console/'`)
	b.shoot("fleetd-console-login")

	b.run("a wrong token", b.fill("#token", "not-the-token"), chromedp.Click(chromedp.CSS(`#login-form button`)))
	b.wait(`document.querySelector('#login-error').textContent.includes('wrong admin token')`)
	b.run("sign in", b.fill("#token", sf.token),
		chromedp.Click(chromedp.CSS(`#login-form button`)))
	b.wait(`document.body.dataset.view === 'console' && window.fleetConsole.loaded > 0`)
	if got := b.text(`document.cookie`); got != "" {
		t.Errorf("the session cookie is readable by scripts: %q", got)
	}
	row := func(dev string) string { return `document.querySelector('tr[data-device="` + dev + `"]')` }
	b.wait(row("dev-birch") + `.dataset.state === 'pending'`)
	fjord := b.text(row("dev-fjord") + `.textContent`)
	for _, want := range []string{"roomd 2.3.1", "min ago", "3 calls, RTT 42 ms, loss 0.4 %", "21.5 °C", "40 % RH", "occupied", "display: failed: no backlight"} {
		if !strings.Contains(fjord, want) {
			t.Errorf("fjord's row %q lacks %q", fjord, want)
		}
	}
	b.shoot("fleetd-console-rooms")

	b.run("approve birch", chromedp.Click(chromedp.CSS(`tr[data-device="dev-birch"] button.approve`)))
	b.wait(row("dev-birch") + `.dataset.state === 'active'`)
	if d, err := sf.f.Store.Device(ctx, "dev-birch"); err != nil || d.State != stateActive {
		t.Fatalf("after Approve: %+v %v", d, err)
	}

	b.run("issue a code", b.fill("#code-room", "birch"), chromedp.Click(chromedp.CSS(`#code-approval`)),
		chromedp.Click(chromedp.CSS(`#code-form button`)))
	b.wait(`!document.querySelector('#code-result').hidden`)
	code := b.text(`document.querySelector('#code-value').textContent`)
	if c, err := sf.f.Store.UseCode(ctx, sf.f.Keys.HashCode(code), time.Now()); err != nil || c.RoomID != "birch" || !c.NeedsApproval {
		t.Errorf("the code the page shows, %q: %+v %v", code, c, err)
	}
	b.shoot("fleetd-console-code")

	b.run("a configuration the API refuses", b.fill("#config-room", "birch"),
		b.fill("#config-json", `{"room": {"name": "Birch", "time_zone": "Mars/Olympus_Mons"}}`),
		chromedp.Click(chromedp.CSS(`#config-form button`)))
	b.wait(`document.querySelector('#config-error').textContent.includes('Mars/Olympus_Mons')`)
	b.shoot("fleetd-console-config-refused")
	if cfg, _ := sf.f.Store.RoomConfig(ctx, "acme", "birch"); cfg != "" {
		t.Fatalf("a refused configuration was stored: %s", cfg)
	}
	b.run("push a configuration", b.fill("#config-json", `{"room": {"name": "Birch (console)", "time_zone": "Europe/Oslo"}}`),
		chromedp.Click(chromedp.CSS(`#config-form button`)))
	b.wait(`document.querySelector('#config-result').textContent.includes('Signed')`)
	if cfg, _ := sf.f.Store.RoomConfig(ctx, "acme", "birch"); !strings.Contains(cfg, "Birch (console)") {
		t.Errorf("stored configuration %q", cfg)
	}
	if v, _, err := sf.f.Store.Bundle(ctx, "dev-birch"); err != nil || v != 1 {
		t.Errorf("birch's bundle: version %d, %v", v, err)
	}
	b.wait(row("dev-birch") + `.textContent.includes('v1')`)
	b.shoot("fleetd-console-config")

	b.run("sign out", chromedp.Click(chromedp.CSS(`#logout`)))
	b.wait(`document.body.dataset.view === 'login'`)
}
