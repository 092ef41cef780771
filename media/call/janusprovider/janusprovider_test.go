package janusprovider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/janus"
)

// Janus's answers reach the engine with the class it decides by, and with
// Janus's own words.
func TestClassify(t *testing.T) {
	all := []error{provider.ErrUnreachable, provider.ErrRefused, provider.ErrNotFound, provider.ErrBadPasscode, provider.ErrFull}
	for _, tc := range []struct {
		err  error
		want error // nil: no class
	}{
		{&janus.Error{Request: "join", Code: 433, Reason: "Unauthorized"}, provider.ErrBadPasscode},
		{&janus.Error{Request: "join", Code: 429, Reason: "Missing mandatory element (pin)"}, provider.ErrBadPasscode},
		{&janus.Error{Request: "join", Code: 426, Reason: "No such room"}, provider.ErrNotFound},
		{&janus.Error{Request: "publish", Code: 432, Reason: "Maximum number of publishers reached"}, provider.ErrFull},
		{fmt.Errorf("dial: %w", janus.ErrUnreachable), provider.ErrUnreachable},
		{janus.ErrSessionGone, nil},
		{&janus.Error{Request: "join", Code: 499, Reason: "odd"}, nil},
		{errors.New("media: camera gone"), nil},
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
	if classes.Classify(nil) != nil {
		t.Error("nil classified as an error")
	}
}
