// Package testtool holds what the project's test harnesses for real outside
// tools (Janus, PostgreSQL, Chromium) share: the message when a tool is
// missing (such tests fail, never skip, and under CI=true say CI must install
// it), a buffer for a child process's output, an npm project installed on
// first use ([NodeProject]), and a way to test that a harness fails as it
// should.
package testtool

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// InstallHint says how to install a missing tool from Debian's package pkg.
func InstallHint(pkg, what string) string {
	hint := fmt.Sprintf("install it with `apt-get install -y %s` (%s)", pkg, what)
	if os.Getenv("CI") == "true" {
		hint += "; CI must install it before running the tests"
	}
	return hint
}

// LockedBuffer collects a child process's output from exec's copying
// goroutines while a test reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Len returns how many bytes were written so far.
func (l *LockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// FatalMessage runs f with a stand-in for t whose Fatal stops f, and
// returns what f failed with ("" if it did not fail).
func FatalMessage(t testing.TB, f func(testing.TB)) string {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg
}

type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// PINHash is the bcrypt hash of pin at the lowest cost, as roomd's
// configuration and fleet bundles carry PINs.
func PINHash(t testing.TB, pin string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}
