package call

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/room"
)

// credentialLinks carry a user name or password before the host; some of
// them url.Parse refuses, and its error would repeat the link.
var credentialLinks = []string{
	"janus+ws://alice:s3cret@127.0.0.1:8188/?room=1",
	"janus+wss://alice:s3cret@sfu.example.org/janus?room=1234",
	"JANUS+WS://s3cret@127.0.0.1/?room=1",
	"janus+ws://alice:s3cret@127.0.0.1:bad/?room=1",
	"janus+ws://alice:s3cret@[::1/?room=1",
	"janus+ws:alice:s3cret@127.0.0.1",
	"whip+https://alice:s3cret@sfu.example.org/whip/a?whep=https%3A%2F%2Fsfu.example.org%2Fwhep",
	"whip+https://sfu.example.org/whip/a?whep=https%3A%2F%2Falice%3As3cret%40sfu.example.org%2Fwhep",
	"whip+http://alice:s3cret@127.0.0.1:8080/whip/a?whep=http%3A%2F%2F127.0.0.1%3A8080%2Fwhep",
}

// A link with credentials is never joined, and the error never repeats
// the secret (url.Parse's own error does).
func TestParseLinkRefusesCredentials(t *testing.T) {
	for _, link := range credentialLinks {
		got, err := parseLinkStd(link)
		if !errors.Is(err, ErrUnsupportedLink) {
			t.Errorf("parseLinkStd(%q) = %+v, %v; want ErrUnsupportedLink", link, got, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("parseLinkStd(%q): the error repeats the secret: %v", link, err)
		}
	}
	// An unreadable link without credentials is refused without repeating
	// it either: it may hold a secret somewhere else.
	if _, err := parseLinkStd("janus+ws://127.0.0.1:bad/?room=1&apisecret=s3cret"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unreadable link: %v", err)
	}
	// Links with an @ after the host are fine.
	if _, err := parseLinkStd("janus+ws://127.0.0.1:8188/rooms/a@b?room=1"); err != nil {
		t.Errorf("an @ in the path: %v", err)
	}
}

// Should a link with credentials reach the engine anyway, the call fails
// at once and neither the reason the room shows nor the log has the secret.
func TestEngineRefusesCredentialLink(t *testing.T) {
	var logs testtool.LockedBuffer
	reports := make(chan room.Report, 16)
	e, err := New(Config{
		Sources: Sources{
			Video: func() (capture.VideoSource, error) { return capture.NewPattern(capture.PatternOptions{}) },
			Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
		},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, func(r room.Report) { reports <- r })
	if err != nil {
		t.Fatal(err)
	}
	for i, link := range credentialLinks[:4] {
		seq := uint64(i + 1)
		e.Start(context.Background(), seq, room.Meeting{ID: "m1", URI: link})
		select {
		case r := <-reports:
			cr, ok := r.(room.CallReported)
			if !ok || cr.Seq != seq || cr.State != room.Failed {
				t.Fatalf("%s: report %#v, want the call failed", link, r)
			}
			if strings.Contains(cr.Reason, "s3cret") || !strings.Contains(cr.Reason, "user name or password") {
				t.Errorf("%s: reason %q", link, cr.Reason)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no report", link)
		}
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the secret reached the log:\n%s", logs.String())
	}
}

func parseLinkStd(link string) (Target, error) { return parseTarget(meetinglink.Standard(), link) }

// The engine reads links with the grammar the calendar and Call Join use
// (meetinglink): what they refuse it refuses, and a link that still
// carries its secret has been shown with it, so it is refused too.
func TestParseTargetSharesTheGrammar(t *testing.T) {
	for link, want := range map[string]string{
		"janus+ws://127.0.0.1:8188/?room=1&pin=4711":                       "PIN belongs in the meeting's passcode",
		"janus+ws://127.0.0.1:8188/?room=0":                                "janus room must be a number from 1 up",
		"janus+ws://127.0.0.1:8188/?room=1&x=" + strings.Repeat("y", 5000): "too long",
		"livekit+wss://lk.example.com?room=r1":                             "provider not supported yet",
		"https://teams.microsoft.com/l/meetup-join/1":                      "roomd cannot join Microsoft Teams meetings",
		"ftp://example.com/x":                                              "not readable",
	} {
		_, err := parseLinkStd(link)
		if !errors.Is(err, ErrUnsupportedLink) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "4711") {
			t.Errorf("%.60s: %v, want an unsupported link about %q", link, err, want)
		}
	}
	got, err := parseLinkStd("JANUS+WSS://SFU.example.org/janus?room=1234&apisecret=x")
	if want := (Target{Provider: "janus", Endpoint: "wss://sfu.example.org/janus", Room: 1234}); err != nil || got != want {
		t.Errorf("janus link: %+v, %v; want %+v", got, err, want)
	}
}

// The engine reads links with the registry it is given: one without WHIP
// fails a WHIP call at once, as a link no provider can join.
func TestEngineReadsLinksWithItsRegistry(t *testing.T) {
	reports := make(chan room.Report, 4)
	e, err := New(Config{
		Sources: Sources{
			Video: func() (capture.VideoSource, error) { return capture.NewPattern(capture.PatternOptions{}) },
			Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
		},
		Links: meetinglink.NewRegistry(meetinglink.JanusScheme()),
	}, func(r room.Report) { reports <- r })
	if err != nil {
		t.Fatal(err)
	}
	e.Start(context.Background(), 1, room.Meeting{ID: "m1", URI: "whip+https://m.example.com/whip?whep=https%3A%2F%2Fm.example.com%2Fwhep"})
	select {
	case r := <-reports:
		cr, ok := r.(room.CallReported)
		if !ok || cr.State != room.Failed || !strings.Contains(cr.Reason, "no meeting provider") {
			t.Fatalf("report %#v, want the call failed for its link", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no report")
	}
}
