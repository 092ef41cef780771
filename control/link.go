package control

import (
	"errors"
	"fmt"
	"strings"

	"github.com/roomd/roomd/meetinglink"
)

// checkJoinLink refuses a meeting link with a user name or password in it
// (scheme://user:password@host/…, or in a WHIP link's whep=) before it
// reaches the room, where it would be the call's MeetingId and Uri in
// status, the CallJoining event and the log. A MeetingId written as a
// link is held to the same rule. The error does not repeat the link.
func checkJoinLink(a map[string]string) error {
	for _, name := range []string{"Uri", "MeetingId"} {
		v := a[name]
		if name == "MeetingId" && !strings.Contains(v, "://") {
			continue // an ID such as a calendar UID (abc@google.com) is not a link
		}
		if _, err := meetinglink.Parse(v); errors.Is(err, meetinglink.ErrCredentials) {
			return fmt.Errorf("%s: %w: the link carries a user name or password; send it without them and give the secret as Passcode (or as pin= or token= in the link)", name, ErrBadValue)
		}
	}
	return nil
}
