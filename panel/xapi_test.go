package panel_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/roomd/roomd/panel"
)

// TestXAPIOnlyOnRemote: Options.XAPI answers /ws on the remote listener,
// where its users log in; the kiosk listener never serves it.
func TestXAPIOnlyOnRemote(t *testing.T) {
	r, _ := startRoom(t)
	xapi := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "xapi here") })
	srv, err := panel.New(r, panel.Options{StateDir: t.TempDir(), XAPI: xapi})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		a    panel.Access
		want bool
	}{{panel.Remote, true}, {panel.Kiosk, false}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://127.0.0.1/ws", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		srv.Handler(tc.a).ServeHTTP(rec, req)
		if got := rec.Body.String() == "xapi here"; got != tc.want {
			t.Errorf("%v listener: GET /ws answered %d %q; want the xAPI %v", tc.a, rec.Code, rec.Body.String(), tc.want)
		}
	}
}
