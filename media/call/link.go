package call

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ErrUnsupportedLink is returned for a meeting link no provider can join.
var ErrUnsupportedLink = errors.New("call: no meeting provider for this link")

// Target is a parsed meeting link: which provider, where, which room.
type Target struct {
	Provider string // "janus" or "whip"
	Endpoint string // the provider's API URL, e.g. wss://sfu.example.org/janus; for whip the WHIP endpoint
	Room     uint64 // Janus VideoRoom id

	WHIP string // whip: the WHIP endpoint that takes the room's media
	WHEP string // whip: the WHEP endpoint that plays the meeting
}

// ParseLink reads roomd's meeting link forms (docs/schedule.md):
//
//	janus+wss://host[:port][/path]?room=<id>   Janus VideoRoom over its WebSocket API
//	janus+ws://host[:port][/path]?room=<id>    the same without TLS (loopback and tests)
//	whip+https://host[:port]/path?whep=<url-encoded WHEP URL>   WHIP to publish, WHEP to receive
//	whip+http://127.0.0.1[:port]/path?whep=<...>                the same without TLS (loopback tests only)
//
// The passcode (the Janus PIN, the WHIP and WHEP bearer token) is never part
// of the link; it travels as room.Meeting.Passcode.
func ParseLink(link string) (Target, error) {
	if hasUserInfo(link) {
		return Target{}, fmt.Errorf("%w: the link carries a user name or password; the secret belongs in the meeting's passcode", ErrUnsupportedLink)
	}
	u, err := url.Parse(link)
	if err != nil {
		// url.Error repeats the whole link; say only what was wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Target{}, fmt.Errorf("%w: the link is not a URL (%v)", ErrUnsupportedLink, err)
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
	case "whip+https", "whip+http":
		return parseWHIP(u)
	}
	return Target{}, fmt.Errorf("%w (%s)", ErrUnsupportedLink, u.Scheme)
}

// parseWHIP reads a whip+https:// link; whip+http:// is accepted for
// loopback servers only, since the token would cross the network in clear.
func parseWHIP(u *url.URL) (Target, error) {
	q := u.Query()
	if q.Has("token") {
		return Target{}, fmt.Errorf("%w: the token belongs in the meeting's passcode, not in the link", ErrUnsupportedLink)
	}
	scheme := strings.TrimPrefix(strings.ToLower(u.Scheme), "whip+")
	if u.Host == "" {
		return Target{}, fmt.Errorf("%w: a WHIP link needs a host", ErrUnsupportedLink)
	}
	if scheme == "http" && !loopback(u.Hostname()) {
		return Target{}, fmt.Errorf("%w: whip+http:// is for loopback tests; use whip+https://", ErrUnsupportedLink)
	}
	whep, err := url.Parse(q.Get("whep"))
	if q.Get("whep") == "" || err != nil || whep.Host == "" || hasUserInfo(q.Get("whep")) ||
		(whep.Scheme != "https" && (whep.Scheme != "http" || scheme != "http" || !loopback(whep.Hostname()))) {
		return Target{}, fmt.Errorf("%w: a WHIP link needs whep=<url-encoded https WHEP URL>", ErrUnsupportedLink)
	}
	ep := url.URL{Scheme: scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return Target{Provider: "whip", Endpoint: ep.String(), WHIP: ep.String(), WHEP: whep.String()}, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hasUserInfo reports whether a link names a user or password before its
// host (scheme://user:password@host). It reads the text, so a link that
// url.Parse refuses is caught as well, and such a link is refused before
// anything could repeat it. (schedule.HasUserInfo holds the same rule for
// links typed or found in a calendar.)
func hasUserInfo(link string) bool {
	rest := link
	if i := strings.IndexAny(link, ":/?#"); i >= 0 && link[i] == ':' {
		rest = link[i+1:]
	}
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.Contains(rest, "@") {
		return true
	}
	u, err := url.Parse(link)
	return err == nil && u.User != nil
}
