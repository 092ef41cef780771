package panel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
	"golang.org/x/crypto/bcrypt"
)

// fakeCalls is a call engine that connects at once and reports media, so
// panel tests need no meeting server. Failing makes the next join fail.
type fakeCalls struct {
	mu       sync.Mutex
	r        *room.Room
	failing  string
	joined   []room.Meeting
	tones    []string // SendDTMF's digits, in order
	declined []string // Decline's call ids
}

// SendDTMF records the tones; with Decline it makes fakeCalls a
// room.CallControl, as the SIP engine is.
func (f *fakeCalls) SendDTMF(_ uint64, digits string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tones = append(f.tones, digits)
	return nil
}

// Decline records the declined call.
func (f *fakeCalls) Decline(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.declined = append(f.declined, id)
}

// sent returns the tones and declines so far.
func (f *fakeCalls) sent() (tones, declined []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tones), slices.Clone(f.declined)
}

func (f *fakeCalls) Start(_ context.Context, seq uint64, m room.Meeting) {
	f.mu.Lock()
	r, fail := f.r, f.failing
	f.failing = ""
	f.joined = append(f.joined, m)
	f.mu.Unlock()
	go func() {
		time.Sleep(50 * time.Millisecond)
		if fail != "" {
			r.Report(room.CallReported{Seq: seq, State: room.Failed, Reason: fail})
			return
		}
		r.Report(room.CallReported{Seq: seq, State: room.InCall})
		r.Report(room.MediaReported{Seq: seq, Media: room.CallMedia{
			Participants: 3, TargetBitrate: 1_500_000, SendBitrate: 1_200_000, RecvBitrate: 2_000_000,
			LossPercent: 0.4, RTTMillis: 38, SendFPS: 30, Width: 1280, Height: 720, Encoder: "openh264 (software)",
			Received: []room.ReceivedVideo{
				{Participant: "Alice (Oslo)#4711", Width: 1280, Height: 720, FPS: 30, Bitrate: 1_800_000},
				{Participant: "Bob#12", Width: 640, Height: 360, FPS: 15, Bitrate: 150_000},
				{Participant: "Phone#13", Bitrate: 50_000},
			},
		}})
	}()
}

func (f *fakeCalls) End(seq uint64) {
	f.mu.Lock()
	r := f.r
	f.mu.Unlock()
	go r.Report(room.CallReported{Seq: seq, State: room.Idle})
}

func (f *fakeCalls) failNext(reason string) {
	f.mu.Lock()
	f.failing = reason
	f.mu.Unlock()
}

func (f *fakeCalls) meetings() []room.Meeting {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]room.Meeting(nil), f.joined...)
}

// stuckMic is a microphone whose mute does not take: Set fails and Get
// keeps saying open.
type stuckMic struct{}

func (stuckMic) Set(bool) error     { return errors.New("codec register write failed") }
func (stuckMic) Get() (bool, error) { return false, nil }

// startRoom runs a real room with in-memory devices and the fake engine.
func startRoom(t *testing.T) (*room.Room, *fakeCalls) {
	t.Helper()
	return startRoomWith(t, room.Devices{})
}

func startRoomWith(t *testing.T, devs room.Devices) (*room.Room, *fakeCalls) {
	t.Helper()
	calls := &fakeCalls{}
	devs.Calls = calls
	st := room.DefaultSettings()
	st.Name = "Ada Lovelace Room"
	r := room.New(room.Options{
		Devices:      devs,
		Settings:     &st,
		PollInterval: time.Hour,
		Hardware: []room.Device{
			{Name: "mute_led", Kind: "led", State: "loaded"},
			{Name: "call_led", Kind: "led", State: "loaded"},
			{Name: "mute_button", Kind: "button", State: "loaded"},
			{Name: "display_power", Kind: "relay", State: "loaded"},
			{Name: "bme280", Kind: "sensor", State: "skipped", Reason: "not configured"},
			{Name: "console", Kind: "serial", State: "loaded"},
		},
	})
	calls.r = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-r.Ready()
	return r, calls
}

// sync returns once the room has applied everything reported before it.
func syncRoom(t *testing.T, r *room.Room) {
	t.Helper()
	if err := r.Alive(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var (
	pinOnce sync.Once
	pinHash []byte
)

// testPINHash is the bcrypt hash of 1234 at the lowest cost.
func testPINHash() []byte {
	pinOnce.Do(func() { pinHash, _ = bcrypt.GenerateFromPassword([]byte("1234"), bcrypt.MinCost) })
	return pinHash
}

// testPanel is a panel server with a kiosk and a remote listener.
type testPanel struct {
	srv    *panel.Server
	kiosk  string // http://127.0.0.1:port
	remote string
	codes  chan string // pairing codes as the room's display would show them
	dir    string
}

func startPanel(t *testing.T, r *room.Room, mod func(*panel.Options)) *testPanel {
	t.Helper()
	tp := &testPanel{codes: make(chan string, 16), dir: t.TempDir()}
	o := panel.Options{
		AdminPINHash:    testPINHash,
		StateDir:        tp.dir,
		SoftwareVersion: "1.0.0-test",
		RemoteEnabled:   true,
		RecentLogs: func() []string {
			return []string{
				`time=09:58:02 level=INFO msg="roomd: ready" room="Ada Lovelace Room" mic_muted=false`,
				`time=09:58:02 level=INFO msg="roomd: touch panel" access=kiosk url=http://127.0.0.1:8080/`,
				`time=10:01:17 level=WARN msg="schedule: calendar unreachable; using the cached copy"`,
			}
		},
		Network: func() []panel.NetInterface {
			return []panel.NetInterface{{Name: "eth0", Up: true, Addresses: []string{"192.0.2.40/24", "2001:db8::40/64"}}, {Name: "wlan0", Addresses: []string{}}}
		},
		ShowPairingCode: func(code string, _ time.Time) {
			if code != "" {
				tp.codes <- code
			}
		},
	}
	if mod != nil {
		mod(&o)
	}
	srv, err := panel.New(r, o)
	if err != nil {
		t.Fatal(err)
	}
	tp.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, a := range []panel.Access{panel.Kiosk, panel.Remote} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String()
		if a == panel.Kiosk {
			tp.kiosk = url
		} else {
			tp.remote = url
		}
		wg.Go(func() {
			if err := srv.Serve(ctx, ln, a); err != nil {
				t.Errorf("Serve %s: %v", a, err)
			}
		})
	}
	wg.Go(func() { srv.Run(ctx) })
	return tp
}

// apiClient is a plain HTTP client of the panel API, as a browser would be.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *apiClient {
	jar, _ := cookiejar.New(nil)
	c := &apiClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	return c
}

// session reads GET /api/session and keeps the CSRF token.
func (c *apiClient) session() map[string]any {
	c.t.Helper()
	var m map[string]any
	code := c.do("GET", "/api/session", nil, &m)
	if code != 200 {
		c.t.Fatalf("GET /api/session: %d %v", code, m)
	}
	c.csrf, _ = m["csrf"].(string)
	return m
}

// do sends a request with the headers a same-origin page sends.
func (c *apiClient) do(method, path string, body any, out any) int {
	c.t.Helper()
	return c.doWith(method, path, body, out, func(r *http.Request) {
		r.Header.Set("Origin", c.base)
		r.Header.Set("X-CSRF-Token", c.csrf)
	})
}

func (c *apiClient) doWith(method, path string, body any, out any, mod func(*http.Request)) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if mod != nil {
		mod(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(bytes.TrimSpace(b)) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}
