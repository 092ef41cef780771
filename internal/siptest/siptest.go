// Package siptest runs real SIP far ends on loopback for tests: software
// nobody here wrote, from Debian's archive.
//
//   - Baresip (Debian's baresip-core + baresip-ffmpeg 1.0.0): a headless user
//     agent driven through its ctrl_tcp module, with a synthetic camera
//     (fakevideo's red/green/blue bars, or a video file through avformat), a
//     sine tone as microphone, and the frames and audio it decodes saved to
//     files so a test can check them.
//   - Kamailio (kamailio 5.6): a registrar and proxy with digest
//     authentication, its users written into the configuration by the test;
//     restartable on the same ports.
//   - Linphone (linphone-cli 5.1, linphonec): a second, independent SIP
//     stack, headless, driven through its command pipe.
//   - Sipp (sip-tester, sipp 3.6): scripted or built-in scenarios against a
//     target, with rate and count limits; SendRaw for malformed requests.
//
// Every far end gets its own temporary directory and free loopback ports,
// runs in its own process group so nothing outlives the test, and its output
// is attached to the test's log when the test fails.
//
// # Missing tools
//
// When a tool is missing the test fails, never skips, and says how to install
// it (`apt-get install -y baresip-core ...`); under CI=true it adds that CI
// must install it. The one skip is a choice of the fast unit layer: under
// -short (make test-unit) every Start function skips before it looks for its
// tool, as internal/janustest does.
package siptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// lookTool finds bin (def when empty) on PATH or fails t with an install
// hint for pkg.
func lookTool(t testing.TB, bin, def, pkg, what string) string {
	t.Helper()
	if bin == "" {
		bin = def
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("siptest: %s not found: %v; %s", bin, err, testtool.InstallHint(pkg, what))
	}
	return path
}

// process is one far end's child process. Its output accumulates in log
// across restarts.
type process struct {
	name string
	bin  string
	args []string
	dir  string
	log  testtool.LockedBuffer
	// stdin, stdout and env, when set, replace no input, the log and the
	// test's environment. They are the child's ends of os.Pipes, which start
	// closes in the parent: exec copies nothing, so Wait never waits for a
	// copy that cannot end.
	stdin  *os.File
	stdout *os.File
	env    []string
	// drop, when set, keeps output lines it matches out of the log.
	drop func(line []byte) bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
}

// start runs the process in a process group of its own, so that stop can end
// the children it forks too.
func (p *process) start() (exited <-chan struct{}, err error) {
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout = &p.log
	if p.stdout != nil {
		cmd.Stdout = p.stdout
	}
	cmd.Stderr = &p.log
	if p.drop != nil {
		cmd.Stderr = &lineFilter{w: &p.log, drop: p.drop}
	}
	if p.stdin != nil {
		cmd.Stdin = p.stdin
	}
	cmd.Env = p.env
	cmd.SysProcAttr = procAttr()
	err = cmd.Start()
	for _, f := range []*os.File{p.stdin, p.stdout} {
		if f != nil {
			f.Close()
		}
	}
	p.stdin, p.stdout = nil, nil
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", p.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.exited = cmd, done
	p.mu.Unlock()
	return done, nil
}

// stop sends sig to the process group, then SIGKILL if the leader has not
// exited within grace. Stopping a stopped process does nothing.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	signalGroup(cmd.Process.Pid, sig)
	select {
	case <-exited:
	case <-time.After(grace):
		signalGroup(cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	// Children that outlived their leader (Kamailio's workers) go too.
	signalGroup(cmd.Process.Pid, syscall.SIGKILL)
}

// exitedChan is closed when the current run has exited (nil when never
// started).
func (p *process) exitedChan() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// running reports whether the process is started and has not exited.
func (p *process) running() bool {
	p.mu.Lock()
	exited := p.exited
	started := p.cmd != nil
	p.mu.Unlock()
	if !started {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// pid is the current run's process ID, 0 when not started or stopped.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Log returns everything the process has printed so far.
func (p *process) Log() string { return p.log.String() }

// attachLogOnFailure logs the process's output when t has failed.
func (p *process) attachLogOnFailure(t testing.TB) {
	if t.Failed() {
		t.Logf("%s output:\n%s", p.name, p.Log())
	}
}

// waitUntil polls ready every 20 ms until it returns true, the process exits
// or timeout passes.
func waitUntil(exited <-chan struct{}, timeout time.Duration, what string, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if ready() {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited while waiting for %s", what)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tcpAnswers reports whether something accepts TCP connections on addr.
func tcpAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// FreeSIPPort returns a loopback port that is free for both UDP and TCP, and
// whose next n-1 ports are free for TCP too (baresip puts TLS on port+1).
func FreeSIPPort(t testing.TB, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("siptest: finding a free UDP port: %v", err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		ok := true
		var held []net.Listener
		for i := 0; i < n && ok; i++ {
			l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port+i))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		u.Close()
		if ok {
			return port
		}
	}
	t.Fatal("siptest: no free UDP+TCP loopback port after 50 tries")
	return 0
}

// freeTCPPort returns a free loopback TCP port.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("siptest: finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// shortTempDir makes a directory with a short path, removed on cleanup:
// baresip keeps snapshot paths in 100-byte buffers and unix socket paths are
// limited to 108 bytes, too short for t.TempDir() under long test names.
func shortTempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("siptest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// ErrTimeout is wrapped by every wait that ran out of time.
var ErrTimeout = errors.New("siptest: timed out")

// lineFilter writes the lines that drop does not match to w.
type lineFilter struct {
	w       io.Writer
	drop    func([]byte) bool
	partial []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := f.partial[:i+1]
		if !f.drop(line) {
			if _, err := f.w.Write(line); err != nil {
				return len(p), err
			}
		}
		f.partial = f.partial[i+1:]
	}
}
