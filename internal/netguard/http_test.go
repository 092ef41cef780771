package netguard

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve runs srv on a loopback listener until the test ends and returns its
// address.
func serve(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(Listen(ln, Options{}))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestNewHTTPServerDefaults(t *testing.T) {
	srv := NewHTTPServer(http.NotFoundHandler(), ServerOptions{})
	if srv.ReadHeaderTimeout != DefaultReadHeaderTimeout || srv.ReadTimeout != DefaultReadTimeout ||
		srv.WriteTimeout != DefaultWriteTimeout || srv.IdleTimeout != DefaultIdleTimeout ||
		srv.MaxHeaderBytes != DefaultMaxHeaderBytes || srv.ErrorLog == nil {
		t.Fatalf("defaults not applied: %+v", srv)
	}
}

// TestSlowBodyIsCutOff is the slow-POST attack: a body declared 10,000
// bytes arrives one byte and then nothing. The server must end the
// connection within its read timeout.
func TestSlowBodyIsCutOff(t *testing.T) {
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}), ServerOptions{ReadTimeout: 300 * time.Millisecond})
	addr := serve(t, srv)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: 10000\r\n\r\nx", addr)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c) // until the server closes
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the trickling connection stayed open %v", took)
	}
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	addr := serve(t, NewHTTPServer(http.NotFoundHandler(), ServerOptions{ReadHeaderTimeout: 200 * time.Millisecond}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n") // no end of headers
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("a connection that never finished its headers stayed open %v", took)
	}
}

func TestMaxBodyBytes(t *testing.T) {
	addr := serve(t, NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
		}
	}), ServerOptions{MaxBodyBytes: 1 << 10}))
	for _, tc := range []struct {
		n    int
		want int
	}{{1 << 10, http.StatusOK}, {1<<10 + 1, http.StatusRequestEntityTooLarge}} {
		resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader(strings.Repeat("x", tc.n)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("body of %d bytes: %s, want %d", tc.n, resp.Status, tc.want)
		}
	}
}

// TestLiftDeadlines holds a request longer than the write timeout, as a
// WebSocket does: without LiftDeadlines the client loses the response, with
// it the client gets it.
func TestLiftDeadlines(t *testing.T) {
	for _, lift := range []bool{false, true} {
		t.Run(fmt.Sprintf("lift=%v", lift), func(t *testing.T) {
			srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if lift {
					if err := LiftDeadlines(w); err != nil {
						t.Errorf("LiftDeadlines: %v", err)
					}
				}
				time.Sleep(400 * time.Millisecond)
				w.Write([]byte("late\n"))
			}), ServerOptions{ReadTimeout: 150 * time.Millisecond, WriteTimeout: 150 * time.Millisecond})
			addr := serve(t, srv)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
			}
			got := err == nil && string(body) == "late\n"
			if got != lift {
				t.Fatalf("response arrived: %v (err %v), want %v", got, err, lift)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	h := SecurityHeaders(LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}), nil), "")
	addr := serve(t, NewHTTPServer(h, ServerOptions{}))
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:" + port, true},
		{"127.0.0.1", true},
		{"127.3.2.1:80", true},
		{"localhost:" + port, true},
		{"LOCALHOST", true},
		{"localhost.", true},
		{"[::1]:" + port, true},
		{"evil.example", false},
		{"evil.example:" + port, false},
		{"localhost.evil.example", false},
		{"127.0.0.1.evil.example", false},
		{"10.0.0.5:" + port, false},
		{"0.0.0.0", false},
	} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if !tc.ok {
			want = http.StatusMisdirectedRequest
		}
		if resp.StatusCode != want {
			t.Errorf("Host %q: %s, want %d", tc.host, resp.Status, want)
		}
		for k, v := range map[string]string{"Content-Security-Policy": StrictCSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("Host %q: %s = %q, want %q", tc.host, k, got, v)
			}
		}
	}
}
