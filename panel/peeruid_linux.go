//go:build linux

package panel

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// peerUID returns the user who owns the client end of the TCP connection
// from client to server, both on this machine: the kernel's socket table
// lists every socket of the network namespace with the user that made it,
// which for loopback TCP is what SO_PEERCRED tells for a Unix socket. A
// socket its process has closed (orphaned or in TIME_WAIT, listed without
// an inode) owns nothing: it is not found.
//
// It reads /proc/self/net, which a unit with ProcSubset=pid still has.
func peerUID(client, server netip.AddrPort) (int, error) {
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	type table struct {
		path string
		six  bool
	}
	tables := []table{{"/proc/self/net/tcp6", true}}
	if client.Addr().Is4() {
		// An IPv6 socket may reach an IPv4 listener through a mapped address.
		tables = []table{{"/proc/self/net/tcp", false}, {"/proc/self/net/tcp6", true}}
	}
	for _, tb := range tables {
		uid, ok, err := findSocket(tb.path, procAddr(client, tb.six), procAddr(server, tb.six))
		if err != nil {
			return -1, err
		}
		if ok {
			return uid, nil
		}
	}
	return -1, fmt.Errorf("panel: no open socket of this machine connects %s to %s", client, server)
}

// findSocket looks for the socket whose local and remote addresses are as
// given, in the format of /proc/net/tcp.
func findSocket(path, local, remote string) (uid int, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return -1, false, fmt.Errorf("panel: the socket table: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || fs[1] != local || fs[2] != remote || fs[9] == "0" {
			continue
		}
		uid, err := strconv.Atoi(fs[7])
		if err != nil {
			return -1, false, fmt.Errorf("panel: the socket table %s: owner %q: %w", path, fs[7], err)
		}
		return uid, true, nil
	}
	if err := sc.Err(); err != nil {
		return -1, false, fmt.Errorf("panel: the socket table: %w", err)
	}
	return -1, false, nil
}

// procAddr writes a as /proc/net/tcp does: the address as 32-bit words in
// the machine's byte order, then the port, all in upper-case hex.
func procAddr(a netip.AddrPort, six bool) string {
	var b []byte
	if six {
		s := a.Addr().As16()
		b = s[:]
	} else {
		s := a.Addr().As4()
		b = s[:]
	}
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&sb, "%08X", binary.NativeEndian.Uint32(b[i:]))
	}
	fmt.Fprintf(&sb, ":%04X", a.Port())
	return sb.String()
}
