package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/testtool"
)

// What the boot test relies on: the base URL in the -url file, a relay
// answering there, a packet count line per interval, exit 0 on SIGTERM.
func TestRelayUntilSignal(t *testing.T) {
	urlFile := filepath.Join(t.TempDir(), "relay.url")
	var stdout, stderr testtool.LockedBuffer
	sig := make(chan os.Signal, 1)
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"-url", urlFile, "-stream", "cam"}, &stdout, &stderr, sig, 10*time.Millisecond)
	}()
	var base string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(urlFile); err == nil && strings.HasSuffix(string(b), "\n") {
			base = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL written to %s; stderr: %s", urlFile, stderr.String())
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, base+"/whip/cam", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("relay at %s: %v", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("OPTIONS /whip/cam: %d, want 204", resp.StatusCode)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(stdout.String(), "whip-relay: stream cam video=0 audio=0\n"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no packet count reported; stdout: %s", stdout.String())
		}
	}
	sig <- syscall.SIGTERM
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d on SIGTERM, want 0; stderr: %s", c, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("whip-relay did not stop on SIGTERM")
	}
	if !strings.HasPrefix(stdout.String(), "whip-relay: listening on "+base+"\n") {
		t.Errorf("stdout starts %q, want the listening line", stdout.String())
	}
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("relay still answers after whip-relay stopped")
	}
}

func TestUnwritableURLFile(t *testing.T) {
	var stdout, stderr testtool.LockedBuffer
	if c := run([]string{"-url", filepath.Join(t.TempDir(), "no", "such", "dir")}, &stdout, &stderr, nil, time.Second); c != 1 {
		t.Errorf("exit code %d, want 1", c)
	}
	if !strings.HasPrefix(stderr.String(), "whip-relay: ") {
		t.Errorf("stderr %q does not say whip-relay failed", stderr.String())
	}
}
