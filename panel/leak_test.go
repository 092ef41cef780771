package panel_test

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roomd/roomd/panel"
)

// Stopping the server ends every session: no goroutine is left behind.
func TestPanelStopLeavesNothingRunning(t *testing.T) {
	r, _ := startRoom(t)
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()

	srv, err := panel.New(r, panel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ctx, ln, panel.Kiosk) })
	wg.Go(func() { srv.Run(ctx) })

	tr := &http.Transport{}
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	var conns []*websocket.Conn
	for range 3 {
		c, _, err := websocket.Dial(dctx, strings.Replace(base, "http", "ws", 1)+"/api/ws", &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // hello, then the status tree
			if _, _, err := c.Read(dctx); err != nil {
				t.Fatal(err)
			}
		}
		conns = append(conns, c)
	}
	cancel()
	wg.Wait()
	for _, c := range conns {
		c.CloseNow()
	}
	tr.CloseIdleConnections()

	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left after stopping (%d before):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
