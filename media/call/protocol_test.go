package call

import (
	"context"
	"testing"
	"time"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/room"
)

type webrtcProvider struct{}

func (webrtcProvider) Join(context.Context, Session) (string, error) { return "", nil }

type sdesProvider struct{ webrtcProvider }

func (sdesProvider) Encryption() string { return "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)" }

// TestCallProtocolAndEncryption: status names the provider that carries
// the call and what encrypts its media: WebRTC providers are DTLS-SRTP,
// others say.
func TestCallProtocolAndEncryption(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prov      Provider
		proto     string
		encrypted string
	}{
		{"janus", webrtcProvider{}, "Janus", "DTLS-SRTP"},
		{"whip", webrtcProvider{}, "WHIP", "DTLS-SRTP"},
		{"sip", sdesProvider{}, "SIP", "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)"},
	} {
		e := &Engine{}
		e.setProvider(tc.name, tc.prov)
		m := callMedia(transport.Stats{}, e.stats, 0)
		if m.Protocol != tc.proto || m.Encryption != tc.encrypted {
			t.Errorf("%s: Protocol, Encryption = %q, %q; want %q, %q", tc.name, m.Protocol, m.Encryption, tc.proto, tc.encrypted)
		}
	}
	if got := encryption(nil); got != "" {
		t.Errorf("no call: encryption = %q, want \"\"", got)
	}
}

// TestProtocolReportedAtConnect: how a call is carried is in status as
// soon as the provider starts reporting, not at the first 2 s tick of the
// figures.
func TestProtocolReportedAtConnect(t *testing.T) {
	g := newFakeRig(t)
	g.join(t, room.Meeting{ID: "m"})
	j := g.nextJoin(t)
	j.connect(t)
	j.run(t, func(ctx context.Context, s Session) {
		go s.(provider.RawMedia).ReportRaw(ctx, func() transport.Stats { return transport.Stats{} })
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // well before the first tick
	defer cancel()
	for u := range g.room.Watch(ctx) {
		if u.State.Media.Protocol == "Janus" && u.State.Media.Encryption == "DTLS-SRTP" {
			return
		}
	}
	m := g.room.Snapshot().Media
	t.Fatalf("a second after connect: Call Protocol %q, Encryption %q; want Janus, DTLS-SRTP", m.Protocol, m.Encryption)
}
