package schedule

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/siptest"
)

// TestFeedBehindPrivateCA: a feed served with a certificate of a private
// CA is fetched when ca_file holds that CA, and refused without it; an
// unreadable ca_file does not stop the runner, its fetches fail saying why.
func TestFeedBehindPrivateCA(t *testing.T) {
	cert := siptest.NewCert(t) // a CA and a leaf for 127.0.0.1
	feed := ics(vevent("standup", "Standup", "09:00", "09:30", janus("1")))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/calendar")
		w.Write(feed)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, caFile string
		fetched      bool
		log          string // in the runner's log when not fetched
	}{
		{name: "ca_file", caFile: cert.CAFile, fetched: true},
		{name: "no ca_file", log: "certificate"},
		{name: "not PEM", caFile: notPEM, log: "holds no PEM certificate"},
		{name: "missing", caFile: filepath.Join(t.TempDir(), "none.pem"), log: "ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{cfg: Config{Mode: ModeOneTouch, URL: srv.URL + "/room.ics", CAFile: tc.caFile, RoomZone: "Europe/Berlin"}, start: "08:00"})
			if tc.fetched {
				h.eventually("the feed fetched", func() bool { return len(h.room.Snapshot().NextMeetings) == 1 })
				return
			}
			h.eventually("a failed fetch logged", func() bool {
				return strings.Contains(h.logs.String(), "fetch") && strings.Contains(h.logs.String(), tc.log)
			})
			if n := len(h.room.Snapshot().NextMeetings); n != 0 {
				t.Errorf("%d meetings from a feed that should not verify", n)
			}
		})
	}
}
