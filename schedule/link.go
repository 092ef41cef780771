package schedule

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/roomd/roomd/meetinglink"
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
	ProviderWeb     = meetinglink.Web
)

// Link is the meeting link found in an event, as the calendar keeps it.
//
// URI never carries the link's secret (a Janus PIN, a WHIP bearer token, a
// LiveKit token, a Zoom pwd): meetinglink moves a roomd link's secret to
// Passcode, and other links lose their query altogether, because URI is
// shown.
type Link struct {
	Provider string `json:"provider,omitempty"`
	URI      string `json:"uri,omitempty"`
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

const whyNoLink = "no meeting link"

// linkPattern finds links of every scheme meetinglink reads in an event's
// text.
var linkPattern = func() *regexp.Regexp {
	var alt []string
	for _, s := range meetinglink.Standard().Schemes() {
		alt = append(alt, regexp.QuoteMeta(s))
	}
	return regexp.MustCompile(`(?i)\b(?:` + strings.Join(alt, "|") + `)://[^\s<>"'\x60{}|\\^\[\]]+`)
}()

// FindLink returns the meeting link of an event from its URL, LOCATION
// and DESCRIPTION (and conference properties), in that order of
// preference: the first joinable roomd link, else the first roomd link
// (janus+, whip+, livekit+), else the first known meeting service, else the
// first web link.
func FindLink(fields ...string) Link {
	var own, foreign, web Link
	for _, f := range fields {
		for _, raw := range linkPattern.FindAllString(f, 20) {
			raw = strings.TrimRight(raw, ".,;:!?)>*")
			l := parseLink(raw)
			switch l.Provider {
			case "":
			case ProviderJanus, ProviderWHIP, ProviderLiveKit:
				if l.Joinable {
					return l
				}
				if own.Provider == "" {
					own = l
				}
			case ProviderWeb:
				if web.Provider == "" {
					web = l
				}
			default:
				if foreign.Provider == "" {
					foreign = l
				}
			}
		}
	}
	switch {
	case own.Provider != "":
		return own
	case foreign.Provider != "":
		return foreign
	case web.Provider != "":
		return web
	}
	return Link{Why: whyNoLink}
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
