// Package janustest runs a real Janus WebRTC server (Debian's `janus`
// package) on loopback for tests.
//
// Start writes a configuration directory of its own into t.TempDir(): the
// VideoRoom plugin and the WebSocket and HTTP transports only (so Janus starts
// in a fraction of a second), both transports bound to 127.0.0.1 on free
// ports, and test rooms without the demo room's 128 kbit/s cap. Janus never
// gathers loopback ICE candidates, so it is told to gather on the machine's
// own interface address (MediaIP); peers under test must gather host
// candidates on that address too. Signalling stays on 127.0.0.1.
//
// # Missing Janus
//
// When the janus binary is missing the test fails, never skips, and says how
// to install it (`apt-get install -y janus`), with or without CI=true. The
// one skip is a choice of the fast unit layer: under -short (make test-unit)
// Start skips before it looks for Janus; make test and CI never pass -short.
package janustest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// Test rooms that every Server has unless Options.Rooms replaces them.
const (
	// PINRoom needs PIN to join.
	PINRoom uint64 = 4321
	// PIN is PINRoom's passcode.
	PIN = "2468"
	// OpenRoom needs no PIN.
	OpenRoom uint64 = 1000
	// MissingRoom is a room ID that no test room uses.
	MissingRoom uint64 = 999999
)

// Room is one VideoRoom room in the test configuration.
type Room struct {
	ID          uint64
	Description string
	PIN         string // empty: anyone may join
	Publishers  int    // concurrent senders; 0 means 6
	Bitrate     int    // cap on each sender's video, bit/s; 0 means 3 Mbit/s (enough for 720p)
	VideoCodec  string // Janus list such as "vp8,h264"; empty means "vp8,h264"
	AudioCodec  string // empty means "opus"
}

// DefaultRooms are the rooms of a Server started with nil Options.
func DefaultRooms() []Room {
	return []Room{
		{ID: PINRoom, Description: "roomd test room with PIN", PIN: PIN},
		{ID: OpenRoom, Description: "roomd open test room"},
	}
}

// Options tune the server; nil means defaults.
type Options struct {
	Rooms []Room // nil means DefaultRooms()
	// SessionTimeout is how long Janus keeps a session without keepalives;
	// 0 means Janus' default (60 s).
	SessionTimeout time.Duration
	// Binary is the janus executable; empty means "janus" from PATH.
	Binary string
	// DebugLevel is Janus' log level 0–7; 0 means 4 (info).
	DebugLevel int
}

// Server is a running Janus. Its addresses stay the same across Restart.
type Server struct {
	// URL is the WebSocket API address (subprotocol janus-protocol).
	URL string
	// HTTPURL is the REST API address, ending in /janus.
	HTTPURL string
	// MediaIP is the interface address Janus gathers ICE candidates on.
	MediaIP net.IP
	// Rooms are the configured rooms.
	Rooms []Room

	t     testing.TB
	bin   string
	dir   string
	ports []int // WebSocket, HTTP

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	log    testtool.LockedBuffer
}

// Start runs Janus for the duration of t and stops it on cleanup. It fails t
// when Janus is missing or does not come up. Under -short (make test-unit)
// it skips t first, whether or not Janus is installed.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	testtool.SkipInShortMode(t, "Janus")
	return start(t, opts)
}

// start is Start without the -short skip.
func start(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	bin := opts.Binary
	if bin == "" {
		bin = "janus"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("janustest: janus not found: %v; %s", err, testtool.InstallHint("janus", "Debian's package, Janus 1.1.x"))
	}
	ip, err := MediaAddr()
	if err != nil {
		t.Fatalf("janustest: %v", err)
	}
	rooms := opts.Rooms
	if rooms == nil {
		rooms = DefaultRooms()
	}
	s := &Server{
		MediaIP: ip,
		Rooms:   rooms,
		t:       t,
		bin:     path,
		dir:     t.TempDir(),
	}
	wsPort, httpPort := freePort(t), freePort(t)
	s.ports = []int{wsPort, httpPort}
	s.URL = fmt.Sprintf("ws://127.0.0.1:%d/", wsPort)
	s.HTTPURL = fmt.Sprintf("http://127.0.0.1:%d/janus", httpPort)
	if err := writeConfig(s.dir, opts, ip, wsPort, httpPort, rooms); err != nil {
		t.Fatalf("janustest: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("janus output:\n%s", s.Log())
		}
	})
	if err := s.start(); err != nil {
		t.Fatalf("janustest: %v\njanus output:\n%s", err, s.Log())
	}
	return s
}

// Restart stops Janus (every session on it is lost) and starts it again on
// the same ports with the same rooms, as a server restart would.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("janustest: restart: %v\njanus output:\n%s", err, s.Log())
	}
}

// Stop ends Janus: SIGTERM, then SIGKILL if it has not exited within 3 s.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Log returns everything Janus has printed so far.
func (s *Server) Log() string { return s.log.String() }

// Dir is the configuration directory Janus runs with.
func (s *Server) Dir() string { return s.dir }

func (s *Server) start() error {
	cmd := exec.Command(s.bin, "-F", s.dir, "-o")
	cmd.Dir = s.dir
	cmd.Stdout = &s.log
	cmd.Stderr = &s.log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	// The WebSocket transport loads after the VideoRoom plugin, the HTTP
	// one after it: once both ports answer, Janus is ready.
	deadline := time.Now().Add(15 * time.Second)
	for _, port := range s.ports {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		for {
			select {
			case <-exited:
				s.mu.Lock()
				s.cmd = nil
				s.mu.Unlock()
				return fmt.Errorf("janus exited during start-up (%v)", cmd.ProcessState)
			default:
			}
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				s.Stop()
				return fmt.Errorf("janus did not open port %s within 15 s", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// MediaAddr returns the machine's first up, non-loopback IPv4 address: the
// one Janus gathers host candidates on, since it never gathers loopback ones.
// Traffic to it stays on the machine.
func MediaAddr() (net.IP, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := n.IP.To4(); ip4 != nil && !ip4.IsLinkLocalUnicast() {
				return ip4, nil
			}
		}
	}
	return nil, errors.New("no up, non-loopback IPv4 interface: Janus gathers no loopback ICE candidates, so media needs one (a veth or dummy interface will do)")
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("janustest: finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// libDir finds the folder that holds Janus' plugins/ and transports/.
func libDir() (string, error) {
	candidates, _ := filepath.Glob("/usr/lib/*/janus")
	candidates = append(candidates, "/usr/lib/janus", "/usr/local/lib/janus", "/opt/janus/lib/janus")
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "plugins", "libjanus_videoroom.so")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("the VideoRoom plugin (libjanus_videoroom.so) is not under /usr/lib/*/janus/plugins; reinstall the janus package")
}

// writeConfig lays out dir as Janus' configuration folder. Plugins and
// transports are loaded from folders of symlinks holding only the ones the
// tests need.
func writeConfig(dir string, opts *Options, ip net.IP, wsPort, httpPort int, rooms []Room) error {
	lib, err := libDir()
	if err != nil {
		return err
	}
	links := map[string]string{
		"plugins/libjanus_videoroom.so":     "plugins/libjanus_videoroom.so",
		"transports/libjanus_websockets.so": "transports/libjanus_websockets.so",
		"transports/libjanus_http.so":       "transports/libjanus_http.so",
	}
	for _, sub := range []string{"plugins", "transports", "events", "loggers"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for link, target := range links {
		if err := os.Symlink(filepath.Join(lib, target), filepath.Join(dir, link)); err != nil {
			return err
		}
	}
	level := opts.DebugLevel
	if level == 0 {
		level = 4
	}
	var general strings.Builder
	fmt.Fprintf(&general, "\tconfigs_folder = %q\n", dir)
	for _, sub := range []string{"plugins", "transports", "events", "loggers"} {
		fmt.Fprintf(&general, "\t%s_folder = %q\n", sub, filepath.Join(dir, sub))
	}
	fmt.Fprintf(&general, "\tdebug_level = %d\n", level)
	if opts.SessionTimeout > 0 {
		fmt.Fprintf(&general, "\tsession_timeout = %d\n", int(opts.SessionTimeout.Round(time.Second)/time.Second))
	}
	files := map[string]string{
		"janus.jcfg": "general: {\n" + general.String() + "}\n" +
			"media: {\n\tipv6 = false\n}\n" +
			// Only the interface address: Janus skips loopback anyway, and
			// other interfaces would only add candidates that cannot help.
			fmt.Sprintf("nat: {\n\tnice_debug = false\n\tignore_mdns = true\n\tice_enforce_list = %q\n}\n", ip.String()) +
			"plugins: {\n}\ntransports: {\n}\nloggers: {\n}\nevents: {\n\tbroadcast = false\n}\n",
		"janus.transport.websockets.jcfg": fmt.Sprintf("general: {\n\tjson = \"compact\"\n\tws = true\n\tws_port = %d\n\tws_ip = \"127.0.0.1\"\n\twss = false\n}\n"+
			"admin: {\n\tadmin_ws = false\n\tadmin_wss = false\n}\n", wsPort),
		"janus.transport.http.jcfg": fmt.Sprintf("general: {\n\tjson = \"compact\"\n\tbase_path = \"/janus\"\n\thttp = true\n\tport = %d\n\tip = \"127.0.0.1\"\n\thttps = false\n}\n"+
			"admin: {\n\tadmin_http = false\n\tadmin_https = false\n}\n", httpPort),
		"janus.plugin.videoroom.jcfg": videoroomConfig(rooms),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func videoroomConfig(rooms []Room) string {
	var b strings.Builder
	b.WriteString("general: {\n}\n")
	for _, r := range rooms {
		pubs, rate, vc, ac := r.Publishers, r.Bitrate, r.VideoCodec, r.AudioCodec
		if pubs == 0 {
			pubs = 6
		}
		if rate == 0 {
			rate = 3_000_000
		}
		if vc == "" {
			vc = "vp8,h264"
		}
		if ac == "" {
			ac = "opus"
		}
		desc := r.Description
		if desc == "" {
			desc = fmt.Sprintf("room %d", r.ID)
		}
		fmt.Fprintf(&b, "room-%d: {\n\tdescription = %q\n\tpublishers = %d\n\tbitrate = %d\n\tfir_freq = 10\n\tvideocodec = %q\n\taudiocodec = %q\n",
			r.ID, desc, pubs, rate, vc, ac)
		if r.PIN != "" {
			fmt.Fprintf(&b, "\tpin = %q\n", r.PIN)
		}
		b.WriteString("}\n")
	}
	return b.String()
}
