package schedule

import (
	"errors"
	"fmt"

	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/meetinglink/invite"
)

// Providers a Link can name (meetinglink's).
const (
	ProviderJanus   = meetinglink.Janus
	ProviderWHIP    = meetinglink.WHIP
	ProviderLiveKit = meetinglink.LiveKit
	ProviderTeams   = meetinglink.Teams
	ProviderZoom    = meetinglink.Zoom
	ProviderMeet    = meetinglink.Meet
	ProviderWebex   = meetinglink.Webex
	ProviderJitsi   = meetinglink.Jitsi
	ProviderSIP     = meetinglink.SIP
	ProviderWeb     = meetinglink.Web
)

// Link is the meeting link found in an event, as the calendar keeps it.
//
// URI never carries the link's secret (a Janus PIN, a WHIP bearer token, a
// LiveKit token, a Zoom pwd, a SIP meeting's passcode): meetinglink moves a
// roomd link's secret to Passcode, the invitation's passcode of a SIP
// meeting goes there too, and other links lose their query altogether,
// because URI is shown.
type Link struct {
	Provider string `json:"provider,omitempty"`
	URI      string `json:"uri,omitempty"`
	// Service is the meeting service the invitation is for (Zoom, Teams,
	// …) when the link is another protocol's: a Zoom meeting dialled by
	// SIP is Provider "sip", Service "zoom".
	Service  string `json:"service,omitempty"`
	Passcode string `json:"-"`
	Joinable bool   `json:"joinable"`
	Why      string `json:"why,omitempty"` // why it cannot be joined
}

// String describes the link without its passcode, so that printing an
// Occurrence never shows it.
func (l Link) String() string {
	pc := ""
	if l.Passcode != "" {
		pc = " passcode=<redacted>"
	}
	return fmt.Sprintf("{%s %s%s joinable=%v %s}", l.Provider, l.URI, pc, l.Joinable, l.Why)
}

const whyNoLink = invite.WhyNoLink

// FindLink returns the meeting link of an event from its URL, LOCATION
// and DESCRIPTION (and conference properties), in that order of
// preference, with no dial rules: see [FindDial].
func FindLink(fields ...string) Link {
	return linkOf(invite.ExtractText(invite.DialRules{}, fields...))
}

// FindDial returns what the room dials for an event (package
// meetinglink/invite): the first joinable roomd link, else the service's
// SIP address in the invitation, else a gateway or IVR form or a meeting
// ID turned into a SIP address by rules; otherwise the reason it cannot
// be joined, with the link that may be shown.
func FindDial(ev invite.Event, rules invite.DialRules) Link {
	return linkOf(invite.Extract(ev, rules))
}

// linkOf keeps what the calendar shows of a dial, and its passcode apart.
func linkOf(d invite.Dial) Link {
	l := Link{Provider: d.Link.Provider, URI: d.Link.URI, Service: d.Service, Joinable: d.Why == "", Why: d.Why}
	if l.Joinable {
		l.Passcode = d.Link.Secret
	}
	return l
}

// parseLink reads one link with meetinglink (docs/schedule.md lists the
// forms) and keeps what the calendar shows of it.
func parseLink(raw string) Link {
	ml, err := meetinglink.Parse(raw)
	l := Link{Provider: ml.Provider, URI: ml.URI, Passcode: ml.Secret, Joinable: err == nil}
	if err != nil {
		l.Why = meetinglink.Why(err)
		if errors.Is(err, meetinglink.ErrCredentials) {
			l.Passcode = ""
		}
	}
	return l
}
