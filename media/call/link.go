package call

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/roomd/roomd/meetinglink"
)

// ErrUnsupportedLink is returned for a meeting link no provider can join.
var ErrUnsupportedLink = errors.New("call: no meeting provider for this link")

// parseTarget reads a meeting link with links (meetinglink's grammar,
// docs/schedule.md). The passcode (the Janus PIN, the WHIP and WHEP bearer
// token) is never part of the link by the time it reaches the engine: the
// calendar and Call Join move it to room.Meeting.Passcode, so a link that
// still carries one has been shown in status with its secret and is
// refused. Errors never repeat the link.
func parseTarget(links *meetinglink.Registry, link string) (Target, error) {
	l, err := links.Parse(link)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %s", ErrUnsupportedLink, meetinglink.Why(err))
	}
	switch l.Provider {
	case meetinglink.Janus:
		if l.Secret != "" {
			return Target{}, fmt.Errorf("%w: the PIN belongs in the meeting's passcode, not in the link", ErrUnsupportedLink)
		}
		room, err := strconv.ParseUint(l.Room, 10, 64)
		if err != nil {
			return Target{}, fmt.Errorf("%w: a Janus link needs ?room=<number>", ErrUnsupportedLink)
		}
		return Target{Provider: l.Provider, Endpoint: l.Server, Room: room, E2EE: l.E2EE}, nil
	case meetinglink.WHIP:
		if l.Secret != "" {
			return Target{}, fmt.Errorf("%w: the token belongs in the meeting's passcode, not in the link", ErrUnsupportedLink)
		}
		return Target{Provider: l.Provider, Endpoint: l.Server, WHIP: l.Server, WHEP: l.WHEP}, nil
	case meetinglink.SIP:
		// The provider reads the link again (Endpoint); the passcode is
		// the meeting's, never the link's.
		if l.Secret != "" {
			return Target{}, fmt.Errorf("%w: the passcode belongs in the meeting's passcode, not in the link", ErrUnsupportedLink)
		}
		return Target{Provider: l.Provider, Endpoint: l.URI}, nil
	}
	return Target{}, fmt.Errorf("%w (%s)", ErrUnsupportedLink, l.Provider)
}
