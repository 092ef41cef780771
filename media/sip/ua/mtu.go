package ua

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"time"

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

// udpProbeWait bounds how long udpClosed waits for the far end's ICMP.
const udpProbeWait = 300 * time.Millisecond

// udpClosed reports whether nothing listens on dest (host:port) over UDP:
// a double-CRLF keep-alive (RFC 5626 4.4.1, which SIP stacks ignore or
// answer) on a connected socket draws an ICMP port-unreachable, which the
// socket returns as ECONNREFUSED. A far end that answers, or stays silent
// (a firewall), may be there, and gets the INVITE. Without it, a far end
// that died mid-call would hold the call back for the 32 s of Timer B.
func udpClosed(ctx context.Context, dest string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", dest)
	if err != nil {
		return false
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(udpProbeWait)); err != nil {
		return false
	}
	if _, err := c.Write([]byte("\r\n\r\n")); err != nil {
		return isRefused(err)
	}
	_, err = c.Read(make([]byte, 64))
	return isRefused(err)
}
