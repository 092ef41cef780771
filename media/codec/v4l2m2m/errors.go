package v4l2m2m

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// What drivers answer for a setting they do not have or a value they do
// not take.
var (
	errRange error = unix.ERANGE
	errInval error = unix.EINVAL
	errNotty error = unix.ENOTTY
)

// trimPrefix drops package v4l2's "v4l2: " from an error's text (this
// package adds its own) and keeps it matchable with errors.Is.
func trimPrefix(err error) error {
	if err == nil {
		return nil
	}
	return prefixless{err}
}

type prefixless struct{ err error }

func (p prefixless) Error() string { return strings.TrimPrefix(p.err.Error(), "v4l2: ") }
func (p prefixless) Unwrap() error { return p.err }

// shortReason is why a setting was refused, for Info.Unsupported.
func shortReason(err error) string {
	switch {
	case errors.Is(err, errRange):
		return "value refused"
	case errors.Is(err, errNotty):
		return "not implemented"
	default:
		return "no control"
	}
}
