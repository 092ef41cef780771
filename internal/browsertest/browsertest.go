// Package browsertest runs Debian's headless Chromium as a real second
// participant in a Janus VideoRoom, driven by chromedp: it publishes a fake
// camera (a Y4M file) and microphone, subscribes to every other publisher,
// and reports what it decodes (getStats and a pixel sample of each remote
// video).
//
// Chromium is never downloaded: the test needs Debian's `chromium` package
// (make setup installs it). Without it the test fails, with or without CI.
// The one skip is a choice of the fast unit layer: under -short (make
// test-unit) Launch, Start and MakeY4M skip before they look for Chromium
// or ffmpeg; make test and CI never pass -short.
package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"

	"github.com/chromedp/chromedp"
)

//go:embed videoroom.html
var page []byte

// ChromiumPath finds Debian's Chromium.
func ChromiumPath() (string, error) {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browsertest: Debian's chromium is not installed; %s", testtool.InstallHint("chromium", "Debian's package; never a browser download"))
}

// Browser is one headless Chromium.
type Browser struct {
	ctx context.Context
	srv *httptest.Server
}

// Options for Start.
type Options struct {
	// FakeVideo is a Y4M file used as the camera; empty uses Chromium's
	// built-in moving pattern.
	FakeVideo string
}

// Launch starts Debian's headless Chromium with the flags every browser
// test shares (no sandbox, GPU, first-run screens or background traffic)
// plus extra, and returns the context of its first tab for chromedp. The
// browser is closed when the test ends, after the cleanups the caller
// registers later. Without Chromium the test fails; under -short it skips.
func Launch(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	testtool.SkipInShortMode(t, "Chromium")
	bin, err := ChromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	flags := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	flags = append(flags, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		acancel()
		t.Fatalf("browsertest: starting %s: %v", bin, err)
	}
	t.Cleanup(func() { cancel(); acancel() })
	return ctx
}

// Start launches Chromium as a WebRTC participant, with a fake camera and
// microphone; it is closed when the test ends. Under -short it skips.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	testtool.SkipInShortMode(t, "Chromium")
	flags := []chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	}
	if o.FakeVideo != "" {
		flags = append(flags, chromedp.Flag("use-file-for-fake-video-capture", o.FakeVideo))
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	srv.Listener.Close()
	var err error
	if srv.Listener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Close) // after the browser closes
	return &Browser{ctx: Launch(t, flags...), srv: srv}
}

// Join describes the room the browser joins.
type Join struct {
	WebSocket string // Janus WebSocket URL, e.g. ws://127.0.0.1:8188
	Room      uint64
	PIN       string
	Display   string
	Width     int // camera size asked for (default 640×360)
	Height    int
	FPS       int
	Codec     string // "vp8" or "h264"; empty lets Janus choose
	Bitrate   int    // max video bitrate in bit/s; 0 leaves it to the browser
	// RawAudio turns off the microphone's echo cancellation, noise
	// suppression and automatic gain control.
	RawAudio bool
	// SubscribeEarly subscribes to those already publishing as soon as
	// the page has joined, alongside publishing (as roomd does), instead
	// of once it publishes.
	SubscribeEarly bool
}

// Join opens the participant page and waits until it has joined the room.
func (b *Browser) Join(ctx context.Context, j Join) error {
	if err := b.open(j, false); err != nil {
		return err
	}
	return b.waitJoined(ctx)
}

// Open loads the participant page for j without joining; JoinOpened joins.
func (b *Browser) Open(ctx context.Context, j Join) error {
	if err := b.open(j, true); err != nil {
		return err
	}
	for {
		loaded, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(window.participant && window.participant.loaded)`))
		if err != nil {
			return fmt.Errorf("browsertest: %w", err)
		}
		if loaded {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("browsertest: loading the page: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// JoinOpened joins the room of the page Open loaded and waits until it
// has joined; a page joins once, Open loads it again.
func (b *Browser) JoinOpened(ctx context.Context) error {
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`window.startJoin()`)); err != nil {
		return fmt.Errorf("browsertest: join: %w", err)
	}
	return b.waitJoined(ctx)
}

func (b *Browser) open(j Join, deferJoin bool) error {
	q := url.Values{"ws": {j.WebSocket}, "room": {fmt.Sprint(j.Room)}, "pin": {j.PIN}, "display": {j.Display}}
	for k, v := range map[string]int{"w": j.Width, "h": j.Height, "fps": j.FPS, "bitrate": j.Bitrate} {
		if v > 0 {
			q.Set(k, fmt.Sprint(v))
		}
	}
	if j.Codec != "" {
		q.Set("codec", j.Codec)
	}
	for k, on := range map[string]bool{"rawaudio": j.RawAudio, "defer": deferJoin} {
		if on {
			q.Set(k, "1")
		}
	}
	if j.SubscribeEarly {
		q.Set("subscribe", "early")
	}
	if err := chromedp.Do(b.ctx, chromedp.Navigate(b.srv.URL+"/?"+q.Encode())); err != nil {
		return fmt.Errorf("browsertest: navigate: %w", err)
	}
	return nil
}

// waitJoined waits until the page has joined its room.
func (b *Browser) waitJoined(ctx context.Context) error {
	for {
		st, err := chromedp.Run(b.ctx, chromedp.Evaluate[struct {
			Joined bool     `json:"joined"`
			Error  string   `json:"error"`
			Log    []string `json:"log"`
		}](`window.participant`))
		if err != nil {
			return fmt.Errorf("browsertest: %w", err)
		}
		if st.Error != "" {
			return fmt.Errorf("browsertest: join failed: %s (log: %s)", st.Error, strings.Join(st.Log, "; "))
		}
		if st.Joined {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("browsertest: join: %w (log: %s)", ctx.Err(), strings.Join(st.Log, "; "))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Feed is what the browser receives from one remote publisher.
type Feed struct {
	ID            uint64   `json:"id"`
	Display       string   `json:"display"`
	Gone          bool     `json:"gone"`
	Tracks        []string `json:"tracks"`
	FramesDecoded int      `json:"framesDecoded"`
	FrameWidth    int      `json:"frameWidth"`
	FrameHeight   int      `json:"frameHeight"`
	VideoBytes    int      `json:"videoBytes"`
	AudioPackets  int      `json:"audioPackets"`
	AudioBytes    int      `json:"audioBytes"`
	AudioEnergy   float64  `json:"audioEnergy"` // totalAudioEnergy: stops growing while the far end is muted
	AudioLevel    float64  `json:"audioLevel"`
	MeanLuma      float64  `json:"meanLuma"`
	LitFraction   float64  `json:"litFraction"`
	Colours       int      `json:"colours"`
}

// Feeds returns the browser's view of every remote publisher.
func (b *Browser) Feeds() ([]Feed, error) {
	return chromedp.Run(b.ctx, chromedp.Evaluate[[]Feed](`window.remoteStats()`, chromedp.EvalAwaitPromise))
}

// Outbound is the browser's published video as its encoder sends it
// (getStats outbound-rtp).
type Outbound struct {
	FramesEncoded     int     `json:"framesEncoded"`
	FramesSent        int     `json:"framesSent"`
	FramesPerSecond   float64 `json:"framesPerSecond"`
	FrameWidth        int     `json:"frameWidth"`
	FrameHeight       int     `json:"frameHeight"`
	BytesSent         int     `json:"bytesSent"`
	Encoder           string  `json:"encoder"` // encoderImplementation, e.g. "libvpx"
	Codec             string  `json:"codec"`   // MIME type, e.g. "video/VP8"
	QualityLimitation string  `json:"qualityLimitation"`
}

// Outbound returns what the browser publishes; zero before it publishes.
func (b *Browser) Outbound() (Outbound, error) {
	return chromedp.Run(b.ctx, chromedp.Evaluate[Outbound](`window.localStats()`, chromedp.EvalAwaitPromise))
}

// Log returns the page's log lines, for failure messages.
func (b *Browser) Log() []string {
	l, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`window.participant ? window.participant.log : []`))
	return l
}

// Leave leaves the room.
func (b *Browser) Leave() error {
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](`window.leave().then(() => null)`, chromedp.EvalAwaitPromise))
	return err
}

// MakeY4M writes a test video with ffmpeg (Debian's ffmpeg package) in the
// form Chromium's fake camera reads. Under -short it skips.
func MakeY4M(t testing.TB, w, h, fps int, seconds float64) string {
	t.Helper()
	testtool.SkipInShortMode(t, "ffmpeg")
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("browsertest: ffmpeg is not installed (apt-get install ffmpeg; `make setup` does it)")
	}
	p := filepath.Join(t.TempDir(), "camera.y4m")
	out, err := exec.Command(ff, "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", w, h, fps),
		"-t", fmt.Sprint(seconds), "-pix_fmt", "yuv420p", "-y", p).CombinedOutput()
	if err != nil {
		t.Fatalf("browsertest: ffmpeg: %v\n%s", err, out)
	}
	// Chromium reads only the C420 colour space tag.
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	end := strings.IndexByte(string(b[:min(len(b), 200)]), '\n')
	hdr := strings.Replace(string(b[:end]), "C420mpeg2", "C420", 1)
	hdr = strings.Replace(hdr, "C420jpeg", "C420", 1)
	if err := os.WriteFile(p, append([]byte(hdr), b[end:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
