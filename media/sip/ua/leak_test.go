package ua

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestNoGoroutineLeft: after a call and Close, the agent's goroutines
// (and sipgo's under it) are gone.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("call", func(t *testing.T) {
		callee, incoming := ringingUA(t, Config{})
		caller := startUA(t, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, in := callBetween(ctx, t, caller, callee, incoming, UDP)
		if err := out.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		within(t, in.Done(), 5*time.Second, "the callee's call")
	})
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			var ours []string
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				if strings.Contains(g, "sipgo") || strings.Contains(g, "media/sip/ua") {
					ours = append(ours, g)
				}
			}
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), strings.Join(ours, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
