package siptest_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// The options bench-sip measures a baresip caller with: PID names the
// running baresip, VideoBitrate reaches its config, and NoAudioDump leaves
// the caller without WAV dumps while its callee still writes them.
func TestBaresipBenchOptions(t *testing.T) {
	callee := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	caller := siptest.StartBaresip(t, &siptest.Options{User: "alice", NoAudioDump: true, VideoBitrate: 2_000_000})
	pid := caller.PID()
	comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil || strings.TrimSpace(string(comm)) != "baresip" {
		t.Fatalf("PID() = %d, whose comm is %q (%v); want baresip", pid, comm, err)
	}
	if pid == callee.PID() {
		t.Fatalf("caller and callee have the same PID %d", pid)
	}
	cfg, err := os.ReadFile(filepath.Join(caller.Dir(), "config"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "\nvideo_bitrate 2000000\n") {
		t.Errorf("caller's config has no video_bitrate 2000000:\n%s", cfg)
	}
	caller.Dial(callee.URI("udp"))
	establish(t, caller, callee)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := callee.SentAudio(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the callee, with sndfile, dumped no audio within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a, err := caller.SentAudio(); err == nil {
		t.Errorf("the caller without sndfile dumped audio to %s", a.Path)
	}
	caller.Stop()
	if caller.PID() != 0 {
		t.Errorf("PID() = %d after Stop; want 0", caller.PID())
	}
}
