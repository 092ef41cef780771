package ua

import (
	"errors"
	"strings"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

// udpCongestionLimit is RFC 3261 18.1.1's size (bytes) above which a
// request whose address names no transport goes over TCP first.
const udpCongestionLimit = 1300

// maxUDPMessage is the largest SIP message (bytes) roomd sends in one UDP
// datagram: a far end without TCP gets roomd's full offer fragmented at
// the IP layer, as phones send it. 8192 is what common stacks (re,
// pjsip, sofia) read in one go.
const maxUDPMessage = 8192

func init() {
	// sipgo refuses to send a UDP message longer than UDPMTUSize-200
	// (sip.ErrUDPMTUCongestion) and offers no per-client option: this is
	// the one place roomd sets it, before any UA exists. roomd itself picks
	// TCP for large requests when it may (bigRequestEndpoint).
	sip.UDPMTUSize = maxUDPMessage + 200
}

// bigRequestEndpoint is the TCP endpoint to try req on first: req is
// larger than udpCongestionLimit, its address names no transport and is
// not sips:, and the room listens on TCP. Otherwise nil.
func (u *UA) bigRequestEndpoint(uri sip.Uri, req *sip.Request) *endpoint {
	if t, ok := uri.UriParams.Get("transport"); (ok && t != "") || uri.IsEncrypted() {
		return nil
	}
	if !strings.EqualFold(req.Transport(), string(UDP)) || len(req.String()) <= udpCongestionLimit {
		return nil
	}
	return u.endpoint(TCP)
}

// isRefused reports whether err is a TCP connection the far end refused
// (nothing listens there).
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
