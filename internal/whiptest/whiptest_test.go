package whiptest

import (
	"net/http"
	"testing"
)

// The relay lives as long as the test that started it.
func TestStartClosesWithTheTest(t *testing.T) {
	var srv *Server
	t.Run("user", func(t *testing.T) {
		srv = Start(t, Options{})
		resp, err := http.Get(srv.URL + "/nothing")
		if err != nil {
			t.Fatalf("relay not answering during the test: %v", err)
		}
		resp.Body.Close()
	})
	if _, err := http.Get(srv.URL + "/nothing"); err == nil {
		t.Error("relay still answers after the test that started it ended")
	}
}
