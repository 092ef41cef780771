package sipprovider

import (
	"testing"

	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/srtpkey"
)

func TestEncryptionName(t *testing.T) {
	for _, tc := range []struct {
		name string
		neg  *sdp.Negotiated
		want string
	}{
		{"no answer yet", nil, "none"},
		{"no audio", &sdp.Negotiated{}, "none"},
		{"plain RTP", &sdp.Negotiated{Audio: &sdp.Stream{}}, "none"},
		{"SDES 80", &sdp.Negotiated{Audio: &sdp.Stream{Crypto: sdp.Crypto{Method: sdp.SDES, Suite: srtpkey.AESCM128HMACSHA180}}}, "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)"},
		{"SDES 32", &sdp.Negotiated{Audio: &sdp.Stream{Crypto: sdp.Crypto{Method: sdp.SDES, Suite: srtpkey.AESCM128HMACSHA132}}}, "SDES-SRTP (AES_CM_128_HMAC_SHA1_32)"},
		{"DTLS-SRTP", &sdp.Negotiated{Audio: &sdp.Stream{Crypto: sdp.Crypto{Method: sdp.DTLSSRTP}}}, "DTLS-SRTP"},
	} {
		if got := encryptionName(tc.neg); got != tc.want {
			t.Errorf("%s: encryptionName = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := (&Provider{}).Encryption(); got != "" {
		t.Errorf("between calls Encryption = %q, want \"\"", got)
	}
}
