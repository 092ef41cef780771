package debugserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/room"
)

type fakeRoom struct{ s room.State }

func (r fakeRoom) Snapshot() room.State { return r.s }

type fakeCalls struct{ s call.Stats }

func (c fakeCalls) Stats() call.Stats { return c.s }

func options() Options {
	board := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "board "+r.URL.Path) })
	return Options{
		Board:   board,
		Room:    fakeRoom{room.State{Settings: room.Settings{Name: "Fjord"}, MicMute: true}},
		Display: display.NewCompositor(64, 36),
		Calls:   fakeCalls{call.Stats{Encoder: "vp8 (software)", FramesSent: 42}},
	}
}

// Each path answers with its part; anything else is the board's; hosts
// that are not loopback get 421; every answer carries the security
// headers.
func TestEndpoints(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); Serve(ctx, ln, options()) }()
	base := "http://" + ln.Addr().String()
	get := func(path, host string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	var st room.State
	if resp, b := get("/room", ""); resp.StatusCode != 200 || Decode(b, &st) != nil || st.Settings.Name != "Fjord" || !st.MicMute {
		t.Errorf("/room: %d %s", resp.StatusCode, b)
	}
	var stats call.Stats
	if resp, b := get("/media", ""); resp.StatusCode != 200 || Decode(b, &stats) != nil || stats.FramesSent != 42 {
		t.Errorf("/media: %d %s", resp.StatusCode, b)
	}
	// The live heap is 0 before the first collection: only its key is sure.
	var rt map[string]uint64
	if resp, b := get("/runtime", ""); resp.StatusCode != 200 || json.Unmarshal(b, &rt) != nil || rt["goroutines"] == 0 || len(rt) != 2 {
		t.Errorf("/runtime: %d %s", resp.StatusCode, b)
	}
	if resp, b := get("/display.png", ""); resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("/display.png: %d, %d bytes", resp.StatusCode, len(b))
	}
	resp, b := get("/sim/button/mute", "")
	if resp.StatusCode != 200 || string(b) != "board /sim/button/mute" {
		t.Errorf("/sim/button/mute: %d %q, want the board's", resp.StatusCode, b)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if resp, _ := get("/room", "evil.example"); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("/room for evil.example: %d, want 421", resp.StatusCode)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not end with its context")
	}
	if _, err := http.Get(base + "/room"); err == nil {
		t.Error("still served after Serve returned")
	}
}

// On a real board (no poke page) the endpoint serves the room's parts and
// /metrics, answers 404 elsewhere, and keeps its loopback-host check.
func TestRealBoardServesMetrics(t *testing.T) {
	o := options()
	o.Board = nil
	o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "roomd_call_state 1\n") })
	h := Handler(o)
	for _, tc := range []struct {
		path, host string
		want       int
		body       string
	}{
		{"/metrics", "127.0.0.1:8089", http.StatusOK, "roomd_call_state 1\n"},
		{"/room", "localhost:8089", http.StatusOK, ""},
		{"/sim", "127.0.0.1:8089", http.StatusNotFound, ""},
		{"/metrics", "evil.example:8089", http.StatusMisdirectedRequest, ""},
	} {
		req := httptest.NewRequest("GET", "http://"+tc.host+tc.path, nil)
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want || (tc.body != "" && rec.Body.String() != tc.body) {
			t.Errorf("GET %s (Host %s): %d %q; want %d %q", tc.path, tc.host, rec.Code, rec.Body.String(), tc.want, tc.body)
		}
	}
}
