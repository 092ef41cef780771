package sipprovider

import (
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// TestBaresipSendsDTMF: baresip sends tones in a call with the room
// (RFC 4733 telephone-events); each reaches Config.OnDTMF once, in order.
func TestBaresipSendsDTMF(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true, NoVideo: true})
	got := make(chan rune, 16)
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred, OnDTMF: func(d rune) { got <- d }}, ua.Config{})
	g.join(b.URI("udp"))
	g.wait(t, room.InCall, 15*time.Second)
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	// baresip sends its audio, and so its tones, once its stream runs.
	eventually(t, 5*time.Second, "baresip's audio at the room", func() bool { return g.mixer.Stats().Received > 0 })
	const digits = "47*#A"
	began := time.Now()
	b.SendDTMF(digits)
	var heard []rune
	for len(heard) < len(digits) {
		select {
		case d := <-got:
			heard = append(heard, d)
		case <-time.After(5 * time.Second):
			t.Fatalf("the room heard %q of baresip's %q", string(heard), digits)
		}
	}
	t.Logf("%d digits in %v", len(digits), time.Since(began).Round(time.Millisecond))
	if string(heard) != digits {
		t.Errorf("the room heard %q; baresip sent %q", string(heard), digits)
	}
	select {
	case d := <-got:
		t.Errorf("the room heard an extra %c", d)
	case <-time.After(300 * time.Millisecond):
	}
}
