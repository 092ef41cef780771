//go:build linux

// Package netns gives a test a real network link it can shape: a network
// namespace joined to the test's own namespace by a veth pair with private
// addresses, and a `tc tbf` bandwidth cap on either end. A far end (baresip)
// runs inside the namespace through Command's prefix, the code under test
// stays in the test's namespace, and every packet between them crosses the
// shaped veth.
//
// It drives ip(8) and tc(8) from iproute2 and needs root (CAP_NET_ADMIN).
// Without them New fails the test under CI=true and skips it elsewhere,
// saying why; under -short it skips before it looks.
//
// Each Link has its own namespace and interface names and a /30 drawn at
// random from 10.200.0.0/13, so parallel test binaries do not collide; the
// namespace (and with it the veth pair) is deleted on cleanup, also when
// the test fails.
package netns

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// Link is a network namespace and the veth pair that joins it to the
// test's namespace.
type Link struct {
	// Name is the namespace's name (ip netns).
	Name string
	// HostIf is the veth end in the test's namespace, with HostAddr;
	// PeerIf is the end inside the namespace, with PeerAddr.
	HostIf, PeerIf     string
	HostAddr, PeerAddr netip.Addr
}

// New makes a namespace and its veth pair, both ends up, for the duration
// of t.
func New(t testing.TB) *Link {
	t.Helper()
	testtool.SkipInShortMode(t, "a network namespace (root)")
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, fmt.Sprintf("%s not found: %v; %s", tool, err, testtool.InstallHint("iproute2", "ip and tc")))
		}
	}
	if os.Geteuid() != 0 {
		unavailable(t, "network namespaces need root (CAP_NET_ADMIN); run the test as root")
	}
	id := fmt.Sprintf("%06x", rand.Uint32()&0xffffff)
	l := &Link{Name: "roomd-" + id, HostIf: "rdh" + id, PeerIf: "rdp" + id}
	l.HostAddr, l.PeerAddr = freeSubnet()
	if err := run("ip", "netns", "add", l.Name); err != nil {
		unavailable(t, fmt.Sprintf("cannot make a network namespace: %v", err))
	}
	t.Cleanup(func() { l.remove(t) })
	steps := [][]string{
		{"ip", "link", "add", l.HostIf, "type", "veth", "peer", "name", l.PeerIf, "netns", l.Name},
		{"ip", "addr", "add", l.HostAddr.String() + "/30", "dev", l.HostIf},
		{"ip", "link", "set", l.HostIf, "up"},
		{"ip", "-n", l.Name, "addr", "add", l.PeerAddr.String() + "/30", "dev", l.PeerIf},
		{"ip", "-n", l.Name, "link", "set", l.PeerIf, "up"},
		{"ip", "-n", l.Name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			t.Fatalf("netns: %v", err)
		}
	}
	// The test's side can reach the peer once the kernel has the pair up.
	deadline := time.Now().Add(5 * time.Second)
	for !l.up() {
		if time.Now().After(deadline) {
			t.Fatalf("netns: %s did not come up within 5 s", l.HostIf)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l
}

// unavailable fails t under CI=true (CI runs as root and must run the
// test) and skips it elsewhere.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("netns: %s; CI must run this test as root with iproute2 installed", why)
	}
	t.Skipf("netns: %s", why)
}

// freeSubnet draws a /30 in 10.200.0.0/13 that no local interface uses and
// returns its two host addresses.
func freeSubnet() (host, peer netip.Addr) {
	used := map[netip.Prefix]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				used[p.Masked()] = true
			}
		}
	}
	for {
		n := rand.Uint32()
		base := netip.AddrFrom4([4]byte{10, 200 + byte(n>>16)&7, byte(n >> 8), byte(n) &^ 3})
		clash := false
		for p := range used {
			if p.Contains(base) || netip.PrefixFrom(base, 30).Contains(p.Addr()) {
				clash = true
			}
		}
		if !clash {
			return base.Next(), base.Next().Next()
		}
	}
}

func (l *Link) up() bool {
	b, err := os.ReadFile("/sys/class/net/" + l.HostIf + "/operstate")
	return err == nil && strings.TrimSpace(string(b)) == "up"
}

// remove deletes the namespace, which takes the veth pair with it; the
// host end is deleted too in case a process still holds the namespace.
func (l *Link) remove(t testing.TB) {
	if err := run("ip", "netns", "del", l.Name); err != nil {
		t.Errorf("netns: %v", err)
	}
	_ = run("ip", "link", "del", l.HostIf)
}

// Command is the prefix that runs a program inside the namespace:
// `ip netns exec <name>`; ip execs the program, so its process is the
// program's own.
func (l *Link) Command() []string {
	return []string{"ip", "netns", "exec", l.Name}
}

// Shape is a token-bucket cap (tc-tbf(8)).
type Shape struct {
	// Rate is the cap in bit/s.
	Rate int
	// Burst is the bucket size in bytes: how much may leave at line rate
	// after a quiet spell.
	Burst int
	// Latency is the longest a packet may wait in the queue; packets that
	// would wait longer are dropped.
	Latency time.Duration
}

// LimitHostEgress caps what leaves the test's namespace for the peer.
func (l *Link) LimitHostEgress(s Shape) error {
	return run("tc", "qdisc", "replace", "dev", l.HostIf, "root", "tbf",
		"rate", strconv.Itoa(s.Rate)+"bit",
		"burst", strconv.Itoa(s.Burst),
		"latency", strconv.FormatInt(s.Latency.Milliseconds(), 10)+"ms")
}

// Counters are what left the host end: bytes and packets the device sent
// (after the cap) and packets the cap dropped.
type Counters struct {
	TxBytes, TxPackets uint64
	Dropped            uint64
}

// HostCounters reads the host end's device counters and its root qdisc's
// drops.
func (l *Link) HostCounters() (Counters, error) {
	var c Counters
	var err error
	if c.TxBytes, err = l.stat("tx_bytes"); err != nil {
		return c, err
	}
	if c.TxPackets, err = l.stat("tx_packets"); err != nil {
		return c, err
	}
	out, err := output("tc", "-s", "qdisc", "show", "dev", l.HostIf)
	if err != nil {
		return c, err
	}
	c.Dropped, err = parseDropped(out)
	return c, err
}

func (l *Link) stat(name string) (uint64, error) {
	b, err := os.ReadFile("/sys/class/net/" + l.HostIf + "/statistics/" + name)
	if err != nil {
		return 0, fmt.Errorf("netns: %w", err)
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// parseDropped reads the first qdisc's drop count from `tc -s qdisc show`:
// " Sent 123 bytes 4 pkt (dropped 5, overlimits 6 requeues 0)".
func parseDropped(out string) (uint64, error) {
	_, rest, ok := strings.Cut(out, "(dropped ")
	if !ok {
		return 0, fmt.Errorf("netns: no drop count in tc's statistics: %q", out)
	}
	n, _, _ := strings.Cut(rest, ",")
	return strconv.ParseUint(n, 10, 64)
}

func run(name string, args ...string) error {
	_, err := output(name, args...)
	return err
}

func output(name string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("netns: %s %s: %s", name, strings.Join(args, " "), strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("netns: %s: %w", name, err)
	}
	return string(out), nil
}
