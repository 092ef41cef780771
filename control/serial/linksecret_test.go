package serial_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/room"
)

// The console and the control socket refuse a meeting link with a user
// name or password, in terminal and JSON mode, with a reason that does not
// repeat it; the room stays idle, and neither the replies, the status, the
// events nor the room's and the console's logs ever carry the secret.
func TestCallJoinRefusesLinkCredentials(t *testing.T) {
	for _, transport := range []string{"serial", "socket"} {
		t.Run(transport, func(t *testing.T) {
			var logs logBuffer
			settings := room.DefaultSettings()
			r := room.New(room.Options{Devices: room.Devices{Calls: holdCalls{}}, Settings: &settings, PollInterval: time.Hour, Logger: logs.logger()})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { r.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			<-r.Ready()
			srv, err := serial.NewServer(r, serial.Options{SoftwareVersion: testVersion, Logger: logs.logger()})
			if err != nil {
				t.Fatal(err)
			}
			var in io.Writer
			var out *stream
			if transport == "serial" {
				line, master := ptyLine(t)
				serveLine(t, srv, line)
				in, out = master, newStream(master)
			} else {
				c := dialRaw(t, listen(t, srv))
				in, out = c, newStream(c)
			}
			say := func(req string) string {
				t.Helper()
				if _, err := io.WriteString(in, req+"\r"); err != nil {
					t.Fatal(err)
				}
				var got []byte
				for deadline := time.Now().Add(waitOutput); time.Now().Before(deadline); {
					b, _ := out.take(1, 100*time.Millisecond)
					got = append(got, b...)
					s := string(got)
					if strings.Contains(s, "\r\nOK\r\n") || strings.Contains(s, "ERROR:") && strings.HasSuffix(s, "\r\n") ||
						strings.Contains(s, `"Result":`) && strings.HasSuffix(s, "\r\n") {
						return s
					}
				}
				t.Fatalf("%s: no reply; got %q", req, got)
				return ""
			}
			say("echo off")
			say("xFeedback Register /Event")
			say("xFeedback Register /Status/Call")
			for _, req := range []string{
				`xCommand Call Join Uri: "janus+ws://alice:s3cret@host/?room=1" |resultId="j1"`,
				`xCommand Call Join Uri: janus+ws://alice:s3cret@host:bad/?room=1 Title: "Board"`,
				`xCommand Call Join Uri: "janus+ws://host/?room=1" MeetingId: "janus+ws://alice:s3cret@host/?room=1"`,
			} {
				got := say(req)
				if !strings.Contains(got, "ERROR: Uri: bad value: the link carries a user name or password") &&
					!strings.Contains(got, "ERROR: MeetingId: bad value: the link carries a user name or password") {
					t.Errorf("%s: reply %q, want a refusal that says why", req, got)
				}
				if !strings.Contains(got, "*r CallJoinResult (status=Error):") {
					t.Errorf("%s: reply %q does not name CallJoinResult", req, got)
				}
				if strings.Contains(got, "s3cret") {
					t.Errorf("%s: the reply repeats the secret: %q", req, got)
				}
			}
			say("xPreferences OutputMode JSON")
			got := say(`xCommand Call Join Uri: "janus+wss://alice:s3cret@host/?room=1"`)
			var reply struct{ Result, Reason string }
			if err := json.Unmarshal([]byte(strings.TrimSpace(got)), &reply); err != nil || reply.Result != "Error" || strings.Contains(got, "s3cret") {
				t.Errorf("JSON mode: %q (%v)", got, err)
			}
			say("xPreferences OutputMode Terminal")
			status := say("xStatus Call")
			if !strings.Contains(status, "*s Call State: Idle") || strings.Contains(status, "s3cret") {
				t.Errorf("status after the refusals:\n%s", status)
			}
			if st := r.Snapshot(); st.Call != room.Idle || !st.Meeting.IsZero() {
				t.Errorf("the room took the join: %s %+v", st.Call, st.Meeting)
			}
			if rest := out.drain(50 * time.Millisecond); strings.Contains(string(rest), "s3cret") {
				t.Errorf("pushed afterwards: %q", rest)
			}
			if l := logs.String(); strings.Contains(l, "s3cret") || !strings.Contains(l, "serial: session started") {
				t.Errorf("log (must be captured and hold no secret):\n%s", l)
			}
		})
	}
}
