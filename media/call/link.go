package call

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrUnsupportedLink is returned for a meeting link no provider can join.
var ErrUnsupportedLink = errors.New("call: no meeting provider for this link")

// Target is a parsed meeting link: which provider, where, which room.
type Target struct {
	Provider string // "janus"
	Endpoint string // the provider's API URL, e.g. wss://sfu.example.org/janus
	Room     uint64 // Janus VideoRoom id
}

// ParseLink reads roomd's meeting link forms (docs/schedule.md):
//
//	janus+wss://host[:port][/path]?room=<id>   Janus VideoRoom over its WebSocket API
//	janus+ws://host[:port][/path]?room=<id>    the same without TLS (loopback and tests)
//
// The passcode is never part of the link; it travels as room.Meeting.Passcode.
func ParseLink(link string) (Target, error) {
	u, err := url.Parse(link)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %v", ErrUnsupportedLink, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "janus+ws", "janus+wss":
		q := u.Query()
		room, err := strconv.ParseUint(q.Get("room"), 10, 64)
		if err != nil || room == 0 {
			return Target{}, fmt.Errorf("%w: a Janus link needs ?room=<number>", ErrUnsupportedLink)
		}
		if q.Has("pin") {
			return Target{}, fmt.Errorf("%w: the PIN belongs in the meeting's passcode, not in the link", ErrUnsupportedLink)
		}
		if u.Host == "" {
			return Target{}, fmt.Errorf("%w: a Janus link needs a host", ErrUnsupportedLink)
		}
		ep := url.URL{Scheme: strings.TrimPrefix(strings.ToLower(u.Scheme), "janus+"), Host: u.Host, Path: u.Path}
		return Target{Provider: "janus", Endpoint: ep.String(), Room: room}, nil
	}
	return Target{}, fmt.Errorf("%w (%s)", ErrUnsupportedLink, u.Scheme)
}
