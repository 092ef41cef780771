package janustest_test

import (
	"strings"
	"testing"

	"github.com/roomd/roomd/internal/testtool"

	"github.com/roomd/roomd/internal/janustest"
)

// Without Janus, Start fails (never skips) and says how to install it. It
// runs past Start's -short skip, so make test-unit checks it too.
func TestMissingJanusFailsWithInstallHint(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			msg := testtool.FatalMessage(t, func(tb testing.TB) {
				janustest.StartPastShort(tb, &janustest.Options{Binary: "janus-not-installed-here"})
			})
			if !strings.Contains(msg, "apt-get install -y janus") {
				t.Errorf("Start without janus said %q; want an install hint", msg)
			}
			if ci == "true" && !strings.Contains(msg, "CI must install") {
				t.Errorf("under CI=true Start said %q; want it to name CI", msg)
			}
		})
	}
}
