package netguard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// greeter accepts on ln until it is closed and greets every connection it
// accepts, so a client can tell served from refused; it closes a
// connection (twice, as Close must be idempotent) when the client does.
func greeter(t *testing.T, ln net.Listener) {
	t.Helper()
	var accepting, reading sync.WaitGroup
	var conns []net.Conn // touched by the accept goroutine until it ends
	accepting.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			c.Write([]byte("hello\n"))
			reading.Go(func() {
				io.Copy(io.Discard, c)
				c.Close()
				c.Close()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		accepting.Wait()
		for _, c := range conns {
			c.Close()
		}
		reading.Wait()
	})
}

// dialFrom connects to addr from the loopback address src and says whether
// the server greeted the connection (served) or closed it (refused).
func dialFrom(t *testing.T, src, addr string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection from %s neither served nor closed", src)
		}
		return c, false
	}
	return c, line == "hello\n"
}

func TestListenCapsConnectionsPerClient(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Listen(raw, Options{PerClient: 3})
	greeter(t, ln)
	addr := raw.Addr().String()

	var first []net.Conn
	for i := range 6 {
		c, served := dialFrom(t, "127.0.0.1", addr)
		if want := i < 3; served != want {
			t.Fatalf("connection %d from 127.0.0.1: served %v, want %v", i+1, served, want)
		}
		if served {
			first = append(first, c)
		}
	}
	// Another client is still served while the first one is at its cap.
	for i := range 3 {
		if _, served := dialFrom(t, "127.0.0.2", addr); !served {
			t.Fatalf("connection %d from 127.0.0.2 refused while 127.0.0.1 was at its cap", i+1)
		}
	}
	// Closing a connection frees one slot, not two.
	first[0].Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, served := dialFrom(t, "127.0.0.1", addr)
		if served {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection did not give its slot back")
		}
		time.Sleep(10 * time.Millisecond) // the server sees the close a moment later
	}
	if _, served := dialFrom(t, "127.0.0.1", addr); served {
		t.Fatal("one closed connection freed two slots")
	}
}

func TestListenCapsTotal(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Listen(raw, Options{PerClient: -1, MaxConns: 2})
	greeter(t, ln)
	addr := raw.Addr().String()
	for i, src := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1"} {
		if _, served := dialFrom(t, src, addr); served != (i < 2) {
			t.Fatalf("connection %d (from %s): served %v, want %v", i+1, src, served, i < 2)
		}
	}
}

func TestServerConnCloseReleasesOnce(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	l := Listen(stubListener{}, Options{PerClient: 1}).(*listener)
	if !l.acquire("x") {
		t.Fatal("first slot refused")
	}
	c := &conn{Conn: a, release: func() { l.release("x") }}
	c.Close()
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
	if l.total != 0 || len(l.perClient) != 0 {
		t.Fatalf("after two Closes: total %d, per client %v; want 0 and empty", l.total, l.perClient)
	}
}

// stubListener is a listener that never accepts.
type stubListener struct{}

func (stubListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (stubListener) Close() error              { return nil }
func (stubListener) Addr() net.Addr            { return &net.TCPAddr{} }

// failingListener fails its first n Accepts with err, then accepts from the
// real listener.
type failingListener struct {
	net.Listener
	mu  sync.Mutex
	n   int
	err error
}

func (f *failingListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return nil, f.err
	}
	f.mu.Unlock()
	return f.Listener.Accept()
}

func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS, syscall.ENOMEM} {
		t.Run(errno.Error(), func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			opErr := &net.OpError{Op: "accept", Net: "tcp", Addr: raw.Addr(), Err: os.NewSyscallError("accept4", errno)}
			var logs bytes.Buffer
			ln := Listen(&failingListener{Listener: raw, n: 4, err: opErr}, Options{Name: "test", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			defer ln.Close()
			go func() {
				if c, err := net.Dial("tcp", raw.Addr().String()); err == nil {
					defer c.Close()
					io.Copy(io.Discard, c)
				}
			}()
			start := time.Now()
			c, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept returned %v; a temporary error must be retried", err)
			}
			c.Close()
			// 5 + 10 + 20 + 40 ms of backoff before the fifth try.
			if took := time.Since(start); took < 75*time.Millisecond {
				t.Errorf("Accept retried within %v; it must back off", took)
			}
			if n := strings.Count(logs.String(), "accept failed"); n != 1 {
				t.Errorf("logged %d lines for 4 accept errors, want 1 (rate-limited):\n%s", n, logs.String())
			}
		})
	}
}

func TestAcceptEndsOnClose(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	ln := Listen(&failingListener{Listener: raw, n: 1 << 30, err: emfile}, Options{})
	done := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it back off
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end an Accept that was backing off")
	}
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
}

func TestAcceptReturnsPermanentErrors(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	perm := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EINVAL)}
	ln := Listen(&failingListener{Listener: raw, n: 1, err: perm}, Options{})
	if _, err := ln.Accept(); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Accept = %v, want the permanent EINVAL", err)
	}
}

func TestTemporary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{net.ErrClosed, false},
		{fmt.Errorf("x: %w", net.ErrClosed), false},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{syscall.ENFILE, true},
		{syscall.ECONNABORTED, true},
		{os.ErrDeadlineExceeded, true},
		{syscall.EINVAL, false},
		{errors.New("other"), false},
	} {
		if got := Temporary(tc.err); got != tc.want {
			t.Errorf("Temporary(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestAcceptOutOfDescriptors runs the process out of file descriptors for
// real (in a child with a low RLIMIT_NOFILE) while a client waits: a plain
// listener's Accept fails with EMFILE; the guarded one waits and serves the
// client once descriptors are free again.
func TestAcceptOutOfDescriptors(t *testing.T) {
	if os.Getenv("NETGUARD_EMFILE_CHILD") == "1" {
		emfileChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptOutOfDescriptors$", "-test.v")
	cmd.Env = append(os.Environ(), "NETGUARD_EMFILE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CHILD OK") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func emfileChild() {
	fail := func(f string, a ...any) {
		fmt.Printf("CHILD FAIL: "+f+"\n", a...)
		os.Exit(1)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	client, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		fail("dial: %v", err)
	}
	defer client.Close()
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail("setrlimit: %v", err)
	}
	var filler []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				fail("filling descriptors: %v", err)
			}
			break
		}
		filler = append(filler, f)
	}
	if _, err := raw.Accept(); !errors.Is(err, syscall.EMFILE) {
		fail("plain Accept with no descriptors = %v, want EMFILE", err)
	}
	ln := Listen(raw, Options{})
	go func() {
		time.Sleep(200 * time.Millisecond)
		for _, f := range filler {
			f.Close()
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		fail("guarded Accept = %v, want the waiting client once descriptors are free", err)
	}
	c.Write([]byte("x"))
	b := make([]byte, 1)
	client.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := client.Read(b); err != nil {
		fail("client read: %v", err)
	}
	fmt.Println("CHILD OK")
}
