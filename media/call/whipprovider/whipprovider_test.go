package whipprovider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/whip"
)

// The server's answers reach the engine with the class it decides by, and
// with the server's own words.
func TestClassify(t *testing.T) {
	all := []error{provider.ErrUnreachable, provider.ErrRefused, provider.ErrNotFound, provider.ErrBadPasscode, provider.ErrFull}
	for _, tc := range []struct {
		err  error
		want error // nil: no class
	}{
		{&whip.HTTPError{Request: "WHIP offer", Status: 401}, provider.ErrBadPasscode},
		{&whip.HTTPError{Request: "WHIP offer", Status: 403}, provider.ErrBadPasscode},
		{&whip.HTTPError{Request: "WHEP offer", Status: 404}, provider.ErrNotFound},
		{fmt.Errorf("post: %w", whip.ErrUnreachable), provider.ErrUnreachable},
		{&whip.HTTPError{Request: "WHIP offer", Status: 503}, nil},
		{whip.ErrSessionGone, nil},
	} {
		got := classes.Classify(tc.err)
		if got.Error() != tc.err.Error() || !errors.Is(got, tc.err) {
			t.Errorf("%v: classified as %q, lost the original", tc.err, got)
		}
		for _, c := range all {
			if errors.Is(got, c) != (c == tc.want) {
				t.Errorf("%v: errors.Is(%v) = %v", tc.err, c, errors.Is(got, c))
			}
		}
	}
}

func TestParticipant(t *testing.T) {
	for in, want := range map[string]string{
		"https://sfu.example.org/whep/far": "far",
		"https://sfu.example.org/":         "sfu.example.org",
		"http://127.0.0.1:8080/whep/b?x=1": "b",
		"::not a url":                      "whep",
	} {
		if got := participant(in); got != want {
			t.Errorf("participant(%q) = %q, want %q", in, got, want)
		}
	}
}
