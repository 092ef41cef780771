package provider

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	base := errors.New("janus: room not found; check the meeting link")
	err := Classify(fmt.Errorf("join: %w", base), ErrNotFound)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, base) {
		t.Errorf("%v: lost its class or its cause", err)
	}
	if errors.Is(err, ErrBadPasscode) || errors.Is(err, ErrUnreachable) {
		t.Errorf("%v: matches another class", err)
	}
	if err.Error() != "join: "+base.Error() {
		t.Errorf("message %q, want the provider's own", err)
	}
	if Classify(nil, ErrNotFound) != nil {
		t.Error("nil classified as an error")
	}
	if again := Classify(err, ErrNotFound); again != err {
		t.Error("classified twice")
	}
}
