//go:build linux

package panel

import (
	"net"
	"os"
	"testing"
	"time"
)

// The kernel's socket table names this process's user as the owner of a
// loopback client socket, for IPv4 and IPv6, and forgets a closed one.
func TestPeerUID(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network]
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		defer ln.Close()
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		client, _ := addrPort(sc.RemoteAddr())
		server, _ := addrPort(sc.LocalAddr())
		uid, err := peerUID(client, server)
		if err != nil || uid != os.Getuid() {
			t.Fatalf("%s: peerUID = %d, %v; want %d", network, uid, err, os.Getuid())
		}
		// The server's own end is not the client's.
		if uid, err := peerUID(server, client); err == nil && uid != os.Getuid() {
			t.Fatalf("%s: reversed lookup %d", network, uid)
		}
		c.Close()
		deadline := time.Now().Add(2 * time.Second)
		for {
			if _, err := peerUID(client, server); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: a closed client socket still has an owner", network)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
