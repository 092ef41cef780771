//go:build !linux

package panel

import (
	"errors"
	"net/netip"
)

// peerUID is known on Linux only; elsewhere the kiosk panel answers no one.
func peerUID(client, server netip.AddrPort) (int, error) {
	return -1, errors.New("panel: the kiosk panel needs Linux to tell which user connects")
}
