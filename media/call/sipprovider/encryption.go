package sipprovider

import (
	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/sip/sdp"
)

var _ provider.Encryptor = (*Provider)(nil)

// Encryption is the media encryption of the call in progress for status:
// "SDES-SRTP (AES_CM_128_HMAC_SHA1_80)", "DTLS-SRTP" or "none"; "" between
// calls. A re-INVITE that changes the keys changes it.
func (p *Provider) Encryption() string {
	p.mu.Lock()
	n := p.neg
	p.mu.Unlock()
	if n == nil {
		return ""
	}
	return encryptionName(n.negotiated())
}

// encryptionName names the audio stream's crypto of n (video never runs
// with weaker protection than audio).
func encryptionName(n *sdp.Negotiated) string {
	if n == nil || n.Audio == nil {
		return "none"
	}
	switch c := n.Audio.Crypto; c.Method {
	case sdp.SDES:
		return "SDES-SRTP (" + c.Suite.String() + ")"
	case sdp.DTLSSRTP:
		return "DTLS-SRTP"
	}
	return "none"
}
