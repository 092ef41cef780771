package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDebugEndpointAnswersOnlyLoopbackHosts: the sim/debug endpoint
// listens on 127.0.0.1, but a web page can point a name it controls at
// 127.0.0.1 (DNS rebinding) and press the room's buttons through a
// developer's browser. The endpoint must answer only requests naming a
// loopback host, with the panel's security headers.
func TestDebugEndpointAnswersOnlyLoopbackHosts(t *testing.T) {
	d := startRoomd(t)
	hostport := strings.TrimPrefix(d.debug, "http://")
	_, port, _ := strings.Cut(hostport, ":")
	before := simLEDs(t, d)["mute_led"]
	for _, tc := range []struct {
		method, path, host string
		want               int
	}{
		{"GET", "/sim", hostport, http.StatusOK},
		{"GET", "/room", "localhost:" + port, http.StatusOK},
		{"GET", "/", "[::1]:" + port, http.StatusOK},
		{"GET", "/sim", "evil.example", http.StatusMisdirectedRequest},
		{"GET", "/room", "evil.example:" + port, http.StatusMisdirectedRequest},
		{"POST", "/sim/button/mute/click", "evil.example:" + port, http.StatusMisdirectedRequest},
		{"GET", "/sim", "127.0.0.1.nip.example:" + port, http.StatusMisdirectedRequest},
	} {
		req, err := http.NewRequest(tc.method, d.debug+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s with Host %q: %s (%s), want %d", tc.method, tc.path, tc.host, resp.Status, body, tc.want)
		}
		if tc.want != http.StatusOK && !strings.Contains(string(body), "only the device itself") {
			t.Errorf("%s %s with Host %q: refusal does not say why: %q", tc.method, tc.path, tc.host, body)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%s %s with Host %q: no %s header", tc.method, tc.path, tc.host, h)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("Content-Security-Policy %q lets other pages frame the endpoint", csp)
		}
	}
	// The refused button press did not reach the room; the same press
	// naming 127.0.0.1 does.
	time.Sleep(200 * time.Millisecond)
	if simLEDs(t, d)["mute_led"] != before {
		t.Error("a request naming evil.example pressed mute")
	}
	post(t, d.debug+"/sim/button/mute/click")
	for deadline := time.Now().Add(5 * time.Second); simLEDs(t, d)["mute_led"] == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("mute pressed through 127.0.0.1 did not change the mute LED")
		}
	}

	// A client that never finishes its headers is cut off (the read-header
	// timeout is 5 s), and one address cannot hold more than its share of
	// connections while others are served.
	c, err := net.Dial("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /sim HTTP/1.1\r\nHost: "+hostport+"\r\n")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	io.Copy(io.Discard, c)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a request that never finished its headers held its connection %v", took)
	}
}
