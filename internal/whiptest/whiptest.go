// Package whiptest runs internal/whiprelay's WHIP (RFC 9725) and WHEP
// relay for the length of a test; see that package for what the relay
// checks and how it relays.
package whiptest

import (
	"testing"

	"github.com/roomd/roomd/internal/whiprelay"
)

// Options configure a Server; the zero value is an open relay.
type Options = whiprelay.Options

// Server is a running relay.
type Server = whiprelay.Server

// Resource is one session the server holds.
type Resource = whiprelay.Resource

// Request is one request the server saw.
type Request = whiprelay.Request

// Start runs a relay until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := whiprelay.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
