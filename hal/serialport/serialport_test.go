package serialport

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/roomd/roomd/hal"
)

func TestModeDefaultsAndErrors(t *testing.T) {
	m, err := Mode(hal.SerialDesc{Role: "console"})
	if err != nil || m.BaudRate != 115200 || m.DataBits != 8 {
		t.Fatalf("mode %+v err %v, want 115200 8N1", m, err)
	}
	if _, err := Mode(hal.SerialDesc{Role: "console", Parity: "mark"}); err == nil {
		t.Fatal("bad parity accepted")
	}
	if _, err := Mode(hal.SerialDesc{Role: "console", StopBits: "3"}); err == nil {
		t.Fatal("bad stop bits accepted")
	}
}

func TestResolveAutoWithNoAdapter(t *testing.T) {
	if p, err := Resolve("/dev/ttyS9"); p != "/dev/ttyS9" || err != nil {
		t.Fatalf("a path must pass through: %q %v", p, err)
	}
	// This machine has no USB serial adapters.
	if _, err := Resolve("usb:0403:6001"); !errors.Is(err, ErrNoPort) {
		t.Fatalf("err = %v, want ErrNoPort", err)
	}
}

// A pseudo-terminal opened through go.bug.st/serial carries a large write
// whole, in both directions.
func TestLineOverPTY(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	l, err := Open(hal.SerialDesc{Role: "console", Port: slave.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Name() != slave.Name() {
		t.Fatalf("name %q", l.Name())
	}
	big := bytes.Repeat([]byte("xStatus Audio Volume\r\n"), 100) // 2.2 kB, under the pty buffer
	got := make(chan []byte)
	go func() {
		b := make([]byte, len(big))
		io.ReadFull(master, b)
		got <- b
	}()
	if n, err := l.Write(big); n != len(big) || err != nil {
		t.Fatalf("write %d of %d: %v", n, len(big), err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, big) {
			t.Fatal("bytes changed on the way")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timed out reading the master side")
	}
	master.Write([]byte("OK\r\n"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(l, buf); err != nil || string(buf) != "OK\r\n" {
		t.Fatalf("read %q %v", buf, err)
	}
}
