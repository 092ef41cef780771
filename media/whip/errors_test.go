package whip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHTTPErrorSentinels(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{401, ErrUnauthorized},
		{403, ErrUnauthorized},
		{404, ErrNotFound},
		{400, nil},
		{409, nil},
		{500, nil},
		{503, nil},
	} {
		e := &HTTPError{Request: "WHIP offer", URL: "https://sfu.example/whip", Status: tc.status, Text: "said so", RetryAfter: 3 * time.Second}
		for _, s := range []error{ErrUnauthorized, ErrNotFound, ErrUnreachable, ErrSessionGone} {
			if got := errors.Is(e, s); got != (s == tc.want) {
				t.Errorf("%d: errors.Is(%v) = %v", tc.status, s, got)
			}
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "whip: ") || !strings.Contains(msg, "said so") || !strings.Contains(msg, "https://sfu.example/whip") || !strings.Contains(msg, "retry after 3s") {
			t.Errorf("%d: %q", tc.status, msg)
		}
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"  Not\n\tfound \r\n":    "Not found",
		"bad\x00\x1bbytes":       "badbytes",
		strings.Repeat("é", 150): strings.Repeat("é", 100) + "…",
	} {
		if got := oneLine([]byte(in), 200); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
