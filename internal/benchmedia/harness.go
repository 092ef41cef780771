package benchmedia

import (
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

// harness lets a command use janustest and browsertest, which take a
// testing.TB. It implements only what those helpers call: Helper, Log(f),
// Error(f), Fatal(f), Failed, TempDir and Cleanup. Fatal unwinds with a
// panic that harness.run turns back into an error; the helpers call it only
// from the goroutine that called them.
type harness struct {
	testing.TB // nil; the methods below shadow every one the helpers use

	dir string
	log io.Writer

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

// harnessFatal is the panic value of harness.Fatal.
type harnessFatal struct{ msg string }

func newHarness(log io.Writer) (*harness, error) {
	dir, err := os.MkdirTemp("", "bench-media-")
	if err != nil {
		return nil, fmt.Errorf("benchmedia: %w", err)
	}
	return &harness{dir: dir, log: log}, nil
}

// run calls f and returns the message of a Fatal inside it as an error.
func (h *harness) run(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			hf, ok := v.(harnessFatal)
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("benchmedia: %s", hf.msg)
		}
	}()
	return f()
}

// close runs the cleanups, newest first, and removes the temporary files.
func (h *harness) close() {
	h.mu.Lock()
	cs := h.cleanups
	h.cleanups = nil
	h.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	os.RemoveAll(h.dir)
}

func (h *harness) Helper() {}

func (h *harness) Name() string { return "bench-media" }

func (h *harness) Log(args ...any) { fmt.Fprintln(h.log, args...) }

func (h *harness) Logf(format string, args ...any) { fmt.Fprintf(h.log, format+"\n", args...) }

func (h *harness) Error(args ...any) { h.fail(); h.Log(args...) }

func (h *harness) Errorf(format string, args ...any) { h.fail(); h.Logf(format, args...) }

func (h *harness) Fatal(args ...any) {
	h.fail()
	panic(harnessFatal{fmt.Sprint(args...)})
}

func (h *harness) Fatalf(format string, args ...any) {
	h.fail()
	panic(harnessFatal{fmt.Sprintf(format, args...)})
}

func (h *harness) fail() {
	h.mu.Lock()
	h.failed = true
	h.mu.Unlock()
}

func (h *harness) Failed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

func (h *harness) TempDir() string {
	d, err := os.MkdirTemp(h.dir, "t")
	if err != nil {
		h.Fatalf("TempDir: %v", err)
	}
	return d
}

func (h *harness) Cleanup(f func()) {
	h.mu.Lock()
	h.cleanups = append(h.cleanups, f)
	h.mu.Unlock()
}
