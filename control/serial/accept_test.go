package serial_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/control/consoleclient"
	"github.com/roomd/roomd/control/serial"
)

// exhaustedListener fails its first n Accepts the way accept(2) does when
// the process has no file descriptors left, then accepts for real.
type exhaustedListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *exhaustedListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.n > 0 {
		l.n--
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "unix", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// TestSocketSurvivesDescriptorExhaustion: running out of file descriptors
// (EMFILE from accept) used to end the control socket until roomd
// restarted. Now the socket waits, retries and serves the next session.
func TestSocketSurvivesDescriptorExhaustion(t *testing.T) {
	r := startRoom(t, nil)
	srv := newServer(t, r, serial.Options{})
	path := filepath.Join(t.TempDir(), "control.sock")
	raw, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, &exhaustedListener{Listener: raw, n: 5}) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeListener after cancellation: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeListener did not return after cancellation")
		}
	}()

	c, err := consoleclient.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
	defer ecancel()
	if _, err := c.Exec(ectx, "xStatus Audio Volume"); err != nil {
		select {
		case err := <-done:
			t.Fatalf("the control socket ended on EMFILE: %v", err)
		default:
		}
		t.Fatalf("session after EMFILE: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("ServeListener returned while serving: %v", err)
	default:
	}
}
