package cthread

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestCallRunsOnItsOwnThread(t *testing.T) {
	th, err := New("cthread-test")
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	p := newProbe(0)
	defer p.free()
	for i := 1; i <= 3; i++ {
		if err := p.run(th); err != nil {
			t.Fatal(err)
		}
		if p.count() != i {
			t.Fatalf("after call %d the count is %d", i, p.count())
		}
	}
	if p.tid() == 0 || p.tid() == syscall.Gettid() {
		t.Fatalf("the call ran on thread %d; the caller is %d", p.tid(), syscall.Gettid())
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", p.tid()))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(comm)); got != "cthread-test" {
		t.Fatalf("the thread is named %q, want cthread-test", got)
	}
}

func TestLongNamesAreCut(t *testing.T) {
	th, err := New("a-name-longer-than-fifteen-bytes")
	if err != nil {
		t.Fatal(err)
	}
	th.Close()
}

// A call returns only when the C function has returned, and calls from
// many goroutines run one at a time (the counter is not atomic; the race
// detector does not see C, so a lost update is what would show overlap).
func TestConcurrentCallsAreSerialised(t *testing.T) {
	th, err := New("cthread-test")
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	p := newProbe(200 * time.Microsecond)
	defer p.free()
	const n = 8
	const each = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range each {
				if err := p.run(th); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p.count() != n*each {
		t.Fatalf("count %d, want %d", p.count(), n*each)
	}
}

func TestCloseWaitsAndRefusesLaterCalls(t *testing.T) {
	th, err := New("cthread-test")
	if err != nil {
		t.Fatal(err)
	}
	p := newProbe(20 * time.Millisecond)
	defer p.free()
	done := make(chan error, 1)
	go func() { done <- p.run(th) }()
	time.Sleep(5 * time.Millisecond)
	if err := th.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the call in progress when Close began: %v", err)
	}
	if p.count() != 1 {
		t.Fatalf("count %d after the one call", p.count())
	}
	if err := p.run(th); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
	if err := th.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// BenchmarkCall is the round trip of an empty call: the price paid per
// frame for taking a codec call off the Go scheduler.
func BenchmarkCall(b *testing.B) {
	th, err := New("cthread-test")
	if err != nil {
		b.Fatal(err)
	}
	defer th.Close()
	p := newProbe(0)
	defer p.free()
	for b.Loop() {
		if err := p.run(th); err != nil {
			b.Fatal(err)
		}
	}
}
