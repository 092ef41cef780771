package xapiws_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/control/remoteusers"
	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/control/xapiws"
	"github.com/roomd/roomd/internal/jsxapitest"
	"github.com/roomd/roomd/room"
)

const password = "s3cret-room"

// rig is a room, its console and /ws on an HTTPS test server.
type rig struct {
	room *room.Room
	url  string // wss://127.0.0.1:N
	srv  *httptest.Server
}

func newRig(t *testing.T, edit func(*xapiws.Options)) *rig {
	t.Helper()
	r := jsxapitest.StartRoom(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// The console asks serial sessions for a PIN, as roomd's does; the
	// WebSocket's users have logged in with their password instead.
	console, err := serial.NewServer(r, serial.Options{SoftwareVersion: "test", RequireLogin: true, PINHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	users, err := remoteusers.New([]remoteusers.User{{Name: "integrator", PasswordHash: hash}}, remoteusers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := xapiws.Options{Users: users}
	if edit != nil {
		edit(&o)
	}
	ws, err := xapiws.New(console, o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", ws)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.BaseContext = nil
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &rig{room: r, url: "wss://" + srv.Listener.Addr().String(), srv: srv}
}

// dial connects as jsxapi does, with Go's client.
func (rg *rig) dial(t *testing.T, user, pw string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	auth := "auth-" + base64.RawURLEncoding.EncodeToString([]byte(user+":"+pw))
	c, resp, err := websocket.Dial(ctx, rg.url+"/ws", &websocket.DialOptions{HTTPClient: rg.srv.Client(), Subprotocols: []string{auth}})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

// rpc sends one request and reads messages until its answer.
func rpc(t *testing.T, c *websocket.Conn, req string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", req, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s answered %s: %v", req, b, err)
		}
		if _, notice := m["method"]; !notice {
			return m
		}
	}
}

// TestJSXAPIOverWebSocket: Cisco's jsxapi, connected as integrators
// connect (jsxapi.connect('wss://…', {username, password})), holds the
// whole conversation over /ws.
func TestJSXAPIOverWebSocket(t *testing.T) {
	rg := newRig(t, nil)
	c := jsxapitest.Start(t)
	c.Value(map[string]any{"op": "connect", "ws": map[string]any{"url": rg.url, "username": "integrator", "password": password}})
	jsxapitest.Exercise(t, c, rg.room)
}

// TestRemoteAuthority: /ws is not in the room: it may mute, not unmute
// under the in-room policy, and the refusal carries the room's reason.
func TestRemoteAuthority(t *testing.T) {
	rg := newRig(t, nil)
	c, _, err := rg.dial(t, "integrator", password)
	if err != nil {
		t.Fatal(err)
	}
	if m := rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"xCommand/Audio/Microphones/Mute"}`); m["error"] != nil {
		t.Fatalf("mute: %v", m)
	}
	m := rpc(t, c, `{"jsonrpc":"2.0","id":2,"method":"xCommand/Audio/Microphones/Unmute"}`)
	e, _ := m["error"].(map[string]any)
	if e == nil || !strings.Contains(e["message"].(string), "in the room") {
		t.Fatalf("a remote unmute: %v, want refused as not in the room", m)
	}
	if !rg.room.Snapshot().MicMute {
		t.Fatal("the microphone is live after a remote unmute")
	}
	if m := rpc(t, c, `{"jsonrpc":"2.0","id":"x","method":"xDance"}`); m["error"].(map[string]any)["code"] != float64(-32601) || m["id"] != "x" {
		t.Errorf("unknown method: %v", m)
	}
	if m := rpc(t, c, `{"jsonrpc":"2.0","id":3,"method":"xCommand/Audio/Volume/Set","params":{"Level":"30\nxCommand Audio Microphones Unmute"}}`); m["error"] == nil {
		t.Errorf("a value with a line end: %v", m)
	}
	if m := rpc(t, c, `{"jsonrpc":"2.0","id":4,"method":"xGet","params":{"Path":["Status","Audio Volume"]}}`); m["error"].(map[string]any)["code"] != float64(-32602) {
		t.Errorf("a path element with a space: %v", m)
	}
	if m := rpc(t, c, `not json`); m["error"].(map[string]any)["code"] != float64(-32700) {
		t.Errorf("not JSON: %v", m)
	}
}

// TestLoginAndLimits: the subprotocol's password is checked against the
// shared user store; connections, messages, subscriptions and idle time
// are bounded.
func TestLoginAndLimits(t *testing.T) {
	rg := newRig(t, func(o *xapiws.Options) {
		o.MaxConnections, o.MaxSubscriptions, o.MaxMessageBytes, o.IdleTimeout = 2, 2, 512, 1500*time.Millisecond
	})
	for name, cred := range map[string][2]string{"wrong password": {"integrator", "nope"}, "unknown user": {"mallory", password}} {
		if _, resp, err := rg.dial(t, cred[0], cred[1]); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %v, %v; want 401", name, resp, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, rg.url+"/ws", &websocket.DialOptions{HTTPClient: rg.srv.Client()}); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no subprotocol: %v, %v; want 401", resp, err)
	}

	a, _, err := rg.dial(t, "integrator", password)
	if err != nil {
		t.Fatal(err)
	}
	if a.Subprotocol() == "" || !strings.HasPrefix(a.Subprotocol(), "auth-") {
		t.Errorf("subprotocol %q not echoed", a.Subprotocol())
	}
	for i := range 2 {
		if m := rpc(t, a, `{"jsonrpc":"2.0","id":1,"method":"xFeedback/Subscribe","params":{"Query":["Status","Audio","Volume"]}}`); m["result"].(map[string]any)["Id"] != float64(i) {
			t.Fatalf("subscription %d: %v", i, m)
		}
	}
	if m := rpc(t, a, `{"jsonrpc":"2.0","id":2,"method":"xFeedback/Subscribe","params":{"Query":["Status","Audio","Volume"]}}`); m["error"] == nil {
		t.Errorf("a third subscription with a limit of 2: %v", m)
	}
	if m := rpc(t, a, `{"jsonrpc":"2.0","id":3,"method":"xFeedback/Unsubscribe","params":{"Id":0}}`); m["result"] != true {
		t.Errorf("unsubscribe: %v", m)
	}
	b, _, err := rg.dial(t, "integrator", password)
	if err != nil {
		t.Fatal(err)
	}
	if _, resp, err := rg.dial(t, "integrator", password); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a third connection with a limit of 2: %v, %v", resp, err)
	}
	// A message over the limit closes the connection.
	big := `{"jsonrpc":"2.0","id":9,"method":"xGet","params":{"Path":["` + strings.Repeat("A", 600) + `"]}}`
	a.Write(ctx, websocket.MessageText, []byte(big))
	if _, _, err := a.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("a message over the limit: %v", err)
	}
	// A silent client is closed after the idle timeout.
	start := time.Now()
	if _, _, err := b.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("an idle client: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("idle client closed after %v", d)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("test ran out of time")
	}
}

// TestSessionEndsWithClient: a client that leaves, cleanly or not, ends
// its console session and frees its connection slot; nothing is left
// running.
func TestSessionEndsWithClient(t *testing.T) {
	rg := newRig(t, func(o *xapiws.Options) { o.MaxConnections = 1 })
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for i := range 4 {
		var c *websocket.Conn
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var resp *http.Response
			var err error
			if c, resp, err = rg.dial(t, "integrator", password); err == nil {
				break
			}
			if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("connection %d: %v, %v (the last one's slot was not freed)", i, resp, err)
			}
		}
		if m := rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"xFeedback/Subscribe","params":{"Query":["Status","Audio","Volume"]}}`); m["result"] == nil {
			t.Fatalf("subscribe: %v", m)
		}
		if i%2 == 0 {
			c.Close(websocket.StatusNormalClosure, "")
		} else {
			c.CloseNow() // gone without a goodbye
		}
	}
	rg.srv.CloseClientConnections()
	for deadline := time.Now().Add(3 * time.Second); runtime.NumGoroutine() > before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}
