package janustest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/janustest"
)

// fatalRecorder stands in for a test so that Start's failure can be read.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Without Janus, Start fails (never skips) and says how to install it.
func TestMissingJanusFailsWithInstallHint(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &fatalRecorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				janustest.Start(r, &janustest.Options{Binary: "janus-not-installed-here"})
			}()
			<-done
			if !strings.Contains(r.msg, "apt-get install -y janus") {
				t.Errorf("Start without janus said %q; want an install hint", r.msg)
			}
			if ci == "true" && !strings.Contains(r.msg, "CI must install") {
				t.Errorf("under CI=true Start said %q; want it to name CI", r.msg)
			}
		})
	}
}
