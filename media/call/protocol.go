package call

import (
	"strings"

	"github.com/roomd/roomd/media/call/provider"
)

// protocolName is how status ("Call Protocol") names the provider
// registered as name; one not known here shows its name in capitals.
func protocolName(name string) string {
	switch name {
	case "janus":
		return "Janus"
	case "whip":
		return "WHIP"
	}
	return strings.ToUpper(name)
}

// encryption is the media encryption of p's call in progress: what p says
// (provider.Encryptor), else DTLS-SRTP, the only encryption WebRTC has.
func encryption(p provider.Provider) string {
	if p == nil {
		return ""
	}
	if e, ok := p.(provider.Encryptor); ok {
		return e.Encryption()
	}
	return "DTLS-SRTP"
}

// setProvider records which provider (registered as name) runs the
// session that starts, for status.
func (e *Engine) setProvider(name string, p provider.Provider) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.prov = p
	e.stats.Protocol = protocolName(name)
	e.stats.Encryption = e.encryptionLocked()
}
