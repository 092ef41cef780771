package call

import (
	"context"
	"testing"

	"github.com/roomd/roomd/media/transport"
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
