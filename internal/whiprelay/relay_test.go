package whiprelay

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// The relay holds clients to the protocol: the checks media/whip's tests
// rely on to fail.
func TestProtocolChecks(t *testing.T) {
	srv := start(t, Options{Token: "tok", StreamWait: 50 * time.Millisecond,
		ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.net"}}}})
	do := func(method, path, token, ctype, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	offer := "v=0\r\n"
	for _, tc := range []struct {
		method, path, token, ctype string
		want                       int
	}{
		{"POST", "/whip/s", "", "application/sdp", 401},
		{"POST", "/whip/s", "nope", "application/sdp", 401},
		{"POST", "/whip/s", "tok", "text/plain", 415},
		{"POST", "/whip/s", "tok", "application/sdp", 400}, // not a usable offer
		{"POST", "/whep/s", "tok", "application/sdp", 404}, // nobody publishes s
		{"POST", "/elsewhere", "tok", "application/sdp", 404},
		{"GET", "/whip/s", "tok", "", 405},
		{"PATCH", "/resource/x", "tok", "application/trickle-ice-sdpfrag", 405},
		{"DELETE", "/resource/x", "tok", "", 404},
		{"DELETE", "/resource/x", "", "", 401},
	} {
		if got := do(tc.method, tc.path, tc.token, tc.ctype, offer).StatusCode; got != tc.want {
			t.Errorf("%s %s (token %q, %s): %d, want %d", tc.method, tc.path, tc.token, tc.ctype, got, tc.want)
		}
	}
	if r := do("POST", "/whip/s", "", "application/sdp", offer); r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	if l := do("OPTIONS", "/whip/s", "tok", "", "").Header.Values("Link"); len(l) != 1 || !strings.Contains(l[0], `rel="ice-server"`) {
		t.Errorf("OPTIONS with the token: Link %q", l)
	}
	if l := do("OPTIONS", "/whip/s", "", "", "").Header.Values("Link"); len(l) != 0 {
		t.Errorf("OPTIONS without the token shows the ICE servers: %q", l)
	}
	if rs := srv.Resources(); len(rs) != 0 {
		t.Errorf("refused requests left sessions: %+v", rs)
	}
}

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// A WHEP offer waiting for its stream gives up when the relay closes, and
// Close returns once the relay no longer answers.
func TestCloseEndsWaitingOffers(t *testing.T) {
	srv := start(t, Options{StreamWait: time.Minute})
	done := make(chan int, 1)
	go func() {
		resp, err := http.Post(srv.WHEP("nobody"), "application/sdp", strings.NewReader("v=0\r\n"))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	// The offer is under way once the relay has recorded it.
	for deadline := time.Now().Add(5 * time.Second); len(srv.Requests()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the relay never saw the WHEP offer")
		}
	}
	srv.Close()
	select {
	case code := <-done:
		if code != http.StatusServiceUnavailable {
			t.Errorf("waiting WHEP offer answered %d when the relay closed, want 503", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting WHEP offer outlived Close")
	}
	if _, err := http.Post(srv.WHIP("s"), "application/sdp", strings.NewReader("v=0\r\n")); err == nil {
		t.Error("the relay still answers after Close")
	}
	srv.Close() // idempotent
}
