package panel_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/internal/netguard"
	"github.com/roomd/roomd/panel"
)

// dialWS opens the panel's WebSocket at base as c (its cookies) from c's
// source address, and reads the hello.
func dialWS(t *testing.T, ctx context.Context, c *apiClient) (*websocket.Conn, int, error) {
	t.Helper()
	hdr := http.Header{"Origin": {c.base}}
	req, _ := http.NewRequest("GET", c.base, nil)
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, resp, err := websocket.Dial(ctx, strings.Replace(c.base, "http", "ws", 1)+"/api/ws",
		&websocket.DialOptions{HTTPClient: &http.Client{Transport: c.http.Transport}, HTTPHeader: hdr})
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		return nil, code, err
	}
	var hello panel.HelloMessage
	readJSONMessage(t, ctx, conn, &hello)
	if hello.Type != "hello" {
		return nil, 0, fmt.Errorf("first message %+v", hello)
	}
	return conn, 101, nil
}

// Issue 12 row 1: an unpaired LAN client opens thousands of connections to
// the remote panel, each a POST /api/pair declaring a 10,000-byte body and
// sending one byte, and idles. The per-address cap closes all but a few at
// once, the read timeout cuts those, and meanwhile the kiosk and a paired
// tablet are served.
func TestPanelSlowlorisCutKioskAndTabletServed(t *testing.T) {
	r, _ := startRoom(t)
	readTimeout := time.Second
	tp := startPanel(t, r, func(o *panel.Options) {
		o.Timeouts = netguard.ServerOptions{ReadHeaderTimeout: 500 * time.Millisecond, ReadTimeout: readTimeout, WriteTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}
	})
	tablet := newClientFrom(t, tp.remote, "127.0.0.3")
	pair(t, tp, tablet)

	// The attack, as found: ~4,200 connections (fewer if this process may
	// not open twice as many files: both ends are here).
	n := 4200
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < 2*uint64(n)+500 {
		n = int(lim.Cur-500) / 2
	}
	host := strings.TrimPrefix(tp.remote, "http://")
	slow := "POST /api/pair HTTP/1.1\r\nHost: " + host + "\r\nOrigin: " + tp.remote +
		"\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
	var open atomic.Int64
	var wg sync.WaitGroup
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	started := time.Now()
	for range n {
		c, err := d.Dial("tcp", host)
		if err != nil {
			t.Fatalf("attacker dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		c.Write([]byte(slow))
		open.Add(1)
		wg.Go(func() {
			var b [512]byte
			for {
				if _, err := c.Read(b[:]); err != nil {
					open.Add(-1)
					return
				}
			}
		})
	}
	dialled := time.Since(started)

	// While the attack holds: the kiosk and the paired tablet are served.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := newClient(t, tp.kiosk)
	if s := k.session(); s["access"] != "kiosk" {
		t.Fatalf("kiosk session during the attack: %v", s)
	}
	if c, code, err := dialWS(t, ctx, k); err != nil {
		t.Fatalf("kiosk WebSocket during the attack: %d %v", code, err)
	} else {
		defer c.CloseNow()
	}
	var res map[string]any
	if st := tablet.do("GET", "/api/status", nil, &res); st != 200 {
		t.Fatalf("paired tablet during the attack: %d", st)
	}
	if c, code, err := dialWS(t, ctx, tablet); err != nil {
		t.Fatalf("paired tablet's WebSocket during the attack: %d %v", code, err)
	} else {
		defer c.CloseNow()
	}

	// The cap: at most DefaultPerClient of the attacker's connections stay.
	deadline := time.Now().Add(readTimeout / 2)
	for open.Load() > netguard.DefaultPerClient && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if o := open.Load(); o > netguard.DefaultPerClient {
		t.Fatalf("%d of %d slow connections from one address still open; want at most %d", o, n, netguard.DefaultPerClient)
	}
	// The read timeout: the rest are cut.
	deadline = time.Now().Add(readTimeout + 3*time.Second)
	for open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if o := open.Load(); o > 0 {
		t.Fatalf("%d slow connections outlived the read timeout", o)
	}
	t.Logf("%d slow POST /api/pair connections from one address (dialled in %v): all closed %v after the first", n, dialled.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	// And the panel still serves both afterwards.
	if st := tablet.do("GET", "/api/status", nil, &res); st != 200 {
		t.Fatalf("paired tablet after the attack: %d", st)
	}
	k.session()
}

// Issue 12 row 1: 64 tablet WebSockets (the most remote panels may hold)
// do not take the kiosk's: the kiosk still connects, the 65th tablet gets
// 503.
func TestPanel64TabletWebSocketsAndKiosk(t *testing.T) {
	r, _ := startRoom(t)
	tp := startPanel(t, r, nil)
	first := newClientFrom(t, tp.remote, "127.0.0.20")
	pair(t, tp, first)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The tablets share the paired token but come from four addresses, as
	// the per-address cap would otherwise stop one address at 32.
	var clients []*apiClient
	for i := range 4 {
		c := newClientFrom(t, tp.remote, fmt.Sprintf("127.0.0.%d", 21+i))
		c.http.Jar = first.http.Jar
		clients = append(clients, c)
	}
	for i := range 64 {
		c, code, err := dialWS(t, ctx, clients[i%4])
		if err != nil {
			t.Fatalf("tablet WebSocket %d: %d %v", i+1, code, err)
		}
		defer c.CloseNow()
	}
	if c, code, err := dialWS(t, ctx, clients[0]); err == nil || code != 503 {
		if c != nil {
			c.CloseNow()
		}
		t.Fatalf("a 65th tablet WebSocket: %d %v; want 503", code, err)
	}
	k := newClient(t, tp.kiosk)
	k.session()
	c, code, err := dialWS(t, ctx, k)
	if err != nil {
		t.Fatalf("the kiosk beside 64 tablets: %d %v", code, err)
	}
	c.CloseNow()
}

// flakyListener fails its first Accepts as a process out of file
// descriptors does, then works.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if n := l.fails.Add(-1); n >= 0 {
		errno := []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED}[n%3]
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
	}
	return l.Listener.Accept()
}

// A temporary accept error never ends a panel listener.
func TestPanelAcceptErrorsDoNotEndListener(t *testing.T) {
	r, _ := startRoom(t)
	srv, err := panel.New(r, panel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []panel.Access{panel.Kiosk, panel.Remote} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fl := &flakyListener{Listener: ln}
		fl.fails.Store(4)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, fl, a) }()
		c := newClient(t, "http://"+ln.Addr().String())
		c.session()
		select {
		case err := <-done:
			t.Fatalf("%s: Serve ended: %v", a, err)
		default:
		}
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: Serve after cancel: %v", a, err)
		}
	}
}
