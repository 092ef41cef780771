package panel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roomd/roomd/internal/browsertest"
)

// browser is one headless Debian Chromium showing the panel, with touch
// emulation so taps are real touch events.
type browser struct {
	t   *testing.T
	ctx context.Context
	w   int64
	h   int64
}

// startBrowser launches Debian's chromium; without it the test fails (never
// skips), and under CI=true says CI must install it.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	ctx := browsertest.Launch(t,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-GB"),
	)
	b := &browser{t: t, ctx: ctx}
	// Any uncaught script error fails the test.
	browsertest.FailOnScriptErrors(t, ctx, "the panel")
	return b
}

// open shows url at w×h and waits until the panel is connected.
func (b *browser) open(url string, w, h int64) {
	b.t.Helper()
	b.size(w, h)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("navigate %s: %v", url, err)
	}
	b.wait(`window.panel && window.panel.connected && document.body.dataset.screen !== 'loading'`)
}

func (b *browser) size(w, h int64) {
	b.t.Helper()
	b.w, b.h = w, h
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(w, h, chromedp.EmulateTouch, chromedp.EmulateLandscape)); err != nil {
		b.t.Fatal(err)
	}
}

// tap touches the element's centre.
func (b *browser) tap(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Tap(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("tap %s: %v (screen %s)", sel, err, b.screen())
	}
}

// openSettings taps Settings and types the test panel's admin PIN (1234)
// on the PIN pad, then waits for the settings view.
func (b *browser) openSettings() {
	b.t.Helper()
	b.tap("#btn-settings")
	b.wait(`document.body.dataset.screen === 'settings' && !document.querySelector('#pin-view').hidden`)
	for _, k := range []string{"1", "2", "3", "4", "ok"} {
		b.tap(`#pin-pad .key[data-key="` + k + `"]`)
	}
	b.wait(`!document.querySelector('#settings-view').hidden`)
}

func (b *browser) screen() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.dataset.screen`))
	return s
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// evalAwait evaluates js and waits for the promise it returns.
func evalAwait[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// wait polls a JavaScript condition for up to 5 s.
func (b *browser) wait(cond string) {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s (screen %q, err %v)", cond, b.screen(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// artifactsDir is where screenshots go: $ROOMD_ARTIFACTS/screenshots, or
// out/screenshots at the top of the source tree.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ROOMD_ARTIFACTS")
	if dir != "" {
		dir = filepath.Join(dir, "screenshots")
	} else {
		wd, _ := os.Getwd()
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "out", "screenshots")
				break
			}
			if filepath.Dir(d) == d {
				dir = filepath.Join(wd, "screenshots")
				break
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shoot saves a screenshot named name-WxH.png and fails the test for every
// clipped text, element off the screen or tap target under 44 px.
func (b *browser) shoot(name string) {
	b.t.Helper()
	// Let transitions and fonts settle.
	time.Sleep(150 * time.Millisecond)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(artifactsDir(b.t), fmt.Sprintf("%s-%dx%d.png", name, b.w, b.h))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	for _, pr := range eval[[]string](b, layoutCheck) {
		b.t.Errorf("%s at %dx%d: %s", name, b.w, b.h, pr)
	}
}

// layoutCheck lists what a person would see as broken: text cut off,
// elements outside the screen or their card, targets too small to touch.
const layoutCheck = `(() => {
  const probs = [];
  const vw = innerWidth, vh = innerHeight;
  const desc = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
    ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  const shown = (el) => {
    if (el.closest('[hidden]')) return false;
    const cs = getComputedStyle(el), r = el.getBoundingClientRect();
    return cs.display !== 'none' && cs.visibility !== 'hidden' && r.width > 0 && r.height > 0;
  };
  const scrolled = (el) => el.parentElement && el.parentElement.closest('[data-scroll]');
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || !shown(el)) continue;
    const cs = getComputedStyle(el), r = el.getBoundingClientRect();
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (text && cs.display !== 'inline') {
      if (el.scrollWidth > el.clientWidth + 1) probs.push(desc(el) + ' text clipped: ' + el.scrollWidth + ' > ' + el.clientWidth + ' px wide');
      if (el.scrollHeight > el.clientHeight + 1) probs.push(desc(el) + ' text clipped: ' + el.scrollHeight + ' > ' + el.clientHeight + ' px high');
    }
    const clips = /hidden|clip/.test(cs.overflowX + cs.overflowY) && !el.hasAttribute('data-scroll') && el !== document.body;
    if (clips && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) probs.push(desc(el) + ' hides overflowing content');
    if (!scrolled(el) && (r.right > vw + 0.5 || r.bottom > vh + 0.5 || r.left < -0.5 || r.top < -0.5)) probs.push(desc(el) + ' is outside the screen');
    const box = el.parentElement && el.parentElement.closest('.card, .topbar, .modal-card, .big-toggle, .btn, .toggle');
    if (text && box && !scrolled(el)) {
      const br = box.getBoundingClientRect();
      if (r.left < br.left - 1 || r.right > br.right + 1 || r.top < br.top - 1 || r.bottom > br.bottom + 1) probs.push(desc(el) + ' sticks out of ' + desc(box));
    }
    if (el.matches('button, a[href], input, select, textarea, [role=button]') && (r.width < 44 || r.height < 44))
      probs.push(desc(el) + ' is a ' + Math.round(r.width) + 'x' + Math.round(r.height) + ' px tap target (< 44 px)');
  }
  for (const sc of document.querySelectorAll('[data-scroll]')) {
    if (shown(sc) && sc.scrollWidth > sc.clientWidth + 1) probs.push(desc(sc) + ' scrolls sideways');
  }
  const de = document.documentElement;
  if (de.scrollWidth > vw || de.scrollHeight > vh) probs.push('the page is ' + de.scrollWidth + 'x' + de.scrollHeight + ', larger than the screen');
  return probs;
})()`

// textOf returns an element's visible text.
func (b *browser) textOf(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(eval[string](b, `(document.querySelector(`+jsString(sel)+`) || {}).textContent || ''`))
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }
