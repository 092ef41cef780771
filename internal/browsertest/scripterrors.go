package browsertest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// FailOnScriptErrors fails the test, when it ends, for every uncaught
// script error in the tab of ctx (a context from Launch), naming what the
// page is (e.g. "the fleet console").
func FailOnScriptErrors(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	chromedp.Listen(ctx, func(ev any) {
		var d *cdpruntime.ExceptionDetails
		switch e := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			d = e.ExceptionDetails
		case cdpruntime.EventExceptionThrown:
			d = e.ExceptionDetails
		}
		if d == nil {
			return
		}
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		mu.Lock()
		errs = append(errs, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
		mu.Unlock()
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("script error in %s: %s", what, e)
		}
	})
}
