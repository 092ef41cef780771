package consoleclient_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomd/roomd/control/consoleclient"
)

// scripted serves one session on a real Unix socket: for each request line
// it reads, it writes the reply its function gives, then closes.
func scripted(t *testing.T, reply func(req string) string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			req, err := r.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(c, reply(strings.TrimRight(req, "\r\n")))
		}
	}()
	return path
}

func TestExecSkipsPushesAndReadsBothModes(t *testing.T) {
	path := scripted(t, func(req string) string {
		switch req {
		case "echo off":
			return "** end\r\nOK\r\n"
		case "xStatus Audio Volume":
			// A push comes first; only the block followed by OK is the reply.
			return "*s Audio Volume: 40\r\n** end\r\n*s Audio Volume: 50\r\n** end\r\nOK\r\n"
		case "xCommand Audio Microphones Unmute":
			return "*r MicrophonesUnmuteResult (status=Error):\r\n** end\r\nERROR: not allowed\r\n"
		case "xStatus Call State":
			return `{"Status":{"Audio":{"Volume":40}}}` + "\r\n" + `{"Status":{"Call":{"State":"Idle"}},"Result":"OK"}` + "\r\n"
		}
		return "garbage\r\n"
	})
	c, err := consoleclient.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if lines, err := c.Exec(ctx, "xStatus Audio Volume"); err != nil || strings.Join(lines, "|") != "*s Audio Volume: 50|** end|OK" {
		t.Errorf("terminal reply after a push = %q, %v", lines, err)
	}
	lines, err := c.Exec(ctx, "xCommand Audio Microphones Unmute")
	var re *consoleclient.ReplyError
	if !errors.As(err, &re) || re.Reason != "not allowed" || lines[len(lines)-1] != "ERROR: not allowed" {
		t.Errorf("refused = %q, %v", lines, err)
	}
	if lines, err := c.Exec(ctx, "xStatus Call State"); err != nil || len(lines) != 1 || !strings.Contains(lines[0], `"Idle"`) {
		t.Errorf("JSON reply after a push = %q, %v", lines, err)
	}
	if _, err := c.Exec(ctx, "xStatus\r\nbye"); err == nil {
		t.Error("Exec accepted two lines")
	}
}

func TestSessionUnusableAfterABrokenReply(t *testing.T) {
	path := scripted(t, func(req string) string {
		if req == "echo off" {
			return "** end\r\nOK\r\n"
		}
		return "{not json\r\n"
	})
	c, err := consoleclient.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Exec(ctx, "xStatus"); err == nil || !strings.HasPrefix(err.Error(), "consoleclient: ") {
		t.Fatalf("broken reply: %v", err)
	}
	if _, err := c.Exec(ctx, "xStatus"); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("after a broken reply: %v", err)
	}
}

func TestDialSaysWhatToDo(t *testing.T) {
	_, err := consoleclient.Dial(filepath.Join(t.TempDir(), "nothing.sock"))
	if err == nil || !strings.Contains(err.Error(), "is roomd running?") {
		t.Errorf("Dial with no server: %v", err)
	}
}
