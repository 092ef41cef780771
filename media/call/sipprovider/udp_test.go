package sipprovider

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// TestBaresipOverUDP: a link that says transport=udp gets roomd's full
// audio+video offer with keys (over RFC 3261's 1300 bytes) in one UDP
// datagram; baresip answers and its picture reaches roomd's screen.
func TestBaresipOverUDP(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	cfg := Config{Encryption: sdp.EncryptionPreferred}
	g := newRig(t, cfg, ua.Config{})

	// The offer alone is over RFC 3261 18.1.1's 1300 bytes.
	m, err := newMedia(netip.MustParseAddr("127.0.0.1"), "video/H264", g.prov.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := m.neg.Offer(ua.SendRecv)
	m.close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("roomd's offer: %d bytes", len(offer))
	if len(offer) <= 1300 {
		t.Fatalf("roomd's offer is %d bytes; this test wants one over 1300 bytes", len(offer))
	}

	g.join(b.URI("udp") + ";transport=udp")
	g.wait(t, room.InCall, 15*time.Second)
	eventually(t, 10*time.Second, "baresip's bars on roomd's screen", func() bool {
		img, _ := g.comp.Compose()
		return len(g.comp.Participants()) == 1 && siptest.CheckBars(img) == nil
	})
}
