package whip

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Reasons a publish or receive fails or a session ends; match them with
// errors.Is.
var (
	ErrUnauthorized = errors.New("whip: the server refused the token (HTTP 401 or 403); check the meeting passcode")
	ErrNotFound     = errors.New("whip: no such endpoint (HTTP 404); check the meeting link, or the stream is not live yet")
	ErrUnreachable  = errors.New("whip: server unreachable; check the network and the meeting server address")
	ErrSessionGone  = errors.New("whip: media connection lost (ICE or DTLS failed, or the server hung up); publish or receive again")
)

// HTTPError is an answer from the server other than the one the protocol
// expects: its status and what it said.
type HTTPError struct {
	// Request is what was asked, such as "WHIP offer" or "DELETE".
	Request string
	// URL is where it was sent, without its query (which may hold secrets).
	URL string
	// Status is the HTTP status code.
	Status int
	// Text is the start of the server's explanation, on one line.
	Text string
	// RetryAfter is the server's Retry-After (RFC 9725: an overloaded
	// server answers 503 with one); 0 when absent.
	RetryAfter time.Duration
}

// Error says what the room should show first, then what the server said.
func (e *HTTPError) Error() string {
	what := fmt.Sprintf("%s %s: %d %s", e.Request, e.URL, e.Status, http.StatusText(e.Status))
	if e.Text != "" {
		what += ": " + e.Text
	}
	if e.RetryAfter > 0 {
		what += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	if s := e.Unwrap(); s != nil {
		return fmt.Sprintf("%v (%s)", s, what)
	}
	return "whip: " + what
}

// Unwrap maps the statuses a caller branches on to this package's sentinels.
func (e *HTTPError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}
