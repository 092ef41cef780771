package schedule

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Providers a Link can name.
const (
	ProviderJanus   = "janus"   // Janus VideoRoom over its WebSocket API
	ProviderWHIP    = "whip"    // WHIP publish + WHEP receive
	ProviderLiveKit = "livekit" // recognised; not supported yet
	ProviderTeams   = "teams"
	ProviderZoom    = "zoom"
	ProviderMeet    = "google-meet"
	ProviderWebex   = "webex"
	ProviderWeb     = "web" // some other web page
)

// Link is the meeting link found in an event.
//
// URI never carries the link's secret (a Janus PIN, a WHIP bearer token, a
// LiveKit token, a Zoom pwd): a roomd link's secret is moved to Passcode,
// and other links lose their query altogether, because URI is shown.
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

// Reasons a link cannot be joined.
const (
	whyNoLink      = "no meeting link"
	whyNotMeeting  = "not a meeting link"
	whyNotYet      = "provider not supported yet"
	whyForeignLink = "roomd cannot join %s meetings"
	whyUserInfo    = "meeting link carries a user name or password; put the secret in pin= or token="
)

const maxLinkLen = 4096

var linkPattern = regexp.MustCompile(`(?i)\b(?:janus\+wss?|whip\+https?|livekit\+wss?|https?)://[^\s<>"'\x60{}|\\^\[\]]+`)

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
			l := ParseLink(raw)
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

// ParseLink reads one link. roomd's own forms are
//
//	janus+wss://host[:port][/path]?room=<number>[&pin=<pin>]   (also janus+ws://)
//	whip+https://host/path?whep=<url-encoded WHEP URL>[&token=<bearer>]
//	livekit+wss://host?room=<name>&token=<jwt>               (recognised, not joinable yet)
//
// Anything else is returned as not joinable, with the reason.
func ParseLink(raw string) Link {
	if len(raw) > maxLinkLen {
		return Link{Why: "meeting link too long"}
	}
	if HasUserInfo(raw) {
		// Read before url.Parse, which may fail and would then say
		// nothing; the link is shown as its host at most.
		scheme, _, _ := strings.Cut(raw, ":")
		l := Link{Provider: providerOf(strings.ToLower(scheme), ""), Why: whyUserInfo}
		if u, err := url.Parse(raw); err == nil && u.Host != "" && u.Opaque == "" {
			l.Provider, l.URI = providerOf(strings.ToLower(u.Scheme), u.Hostname()), strip(u)
		}
		return l
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Link{Why: "meeting link not readable"}
	}
	scheme := strings.ToLower(u.Scheme)
	bad := func(provider, why string) Link {
		return Link{Provider: provider, URI: strip(u), Why: why}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		q = nil
	}
	switch scheme {
	case "janus+wss", "janus+ws":
		room := single(q, "room")
		if room == "" {
			return bad(ProviderJanus, "janus link needs room=<id>")
		}
		// media/janus speaks Janus' default numeric room IDs only.
		if _, err := strconv.ParseUint(room, 10, 64); err != nil {
			return bad(ProviderJanus, "janus room must be a number")
		}
		pin := single(q, "pin")
		if !printable(pin, 256) {
			return bad(ProviderJanus, "janus link has an unreadable pin")
		}
		c := canonical(u, url.Values{"room": {room}})
		return Link{Provider: ProviderJanus, URI: c, Passcode: pin, Joinable: true}
	case "whip+https":
		whep := single(q, "whep")
		w, err := url.Parse(whep)
		if whep == "" || err != nil || w.Scheme != "https" || w.Host == "" || w.User != nil {
			return bad(ProviderWHIP, "whip link needs whep=<url-encoded https WHEP URL>")
		}
		tok := single(q, "token")
		if !printable(tok, 4096) {
			return bad(ProviderWHIP, "whip link has an unreadable token")
		}
		c := canonical(u, url.Values{"whep": {whep}})
		return Link{Provider: ProviderWHIP, URI: c, Passcode: tok, Joinable: true}
	case "whip+http":
		return bad(ProviderWHIP, "whip links must use https (whip+https://)")
	case "livekit+wss", "livekit+ws":
		v := url.Values{}
		if r := single(q, "room"); printable(r, 128) && r != "" {
			v.Set("room", r)
		}
		tok := single(q, "token")
		if !printable(tok, 4096) {
			tok = ""
		}
		return Link{Provider: ProviderLiveKit, URI: canonical(u, v), Passcode: tok, Why: whyNotYet}
	case "http", "https":
		p := providerOf(scheme, u.Hostname())
		if p == ProviderWeb {
			return Link{Provider: p, URI: strip(u), Why: whyNotMeeting}
		}
		return bad(p, fmt.Sprintf(whyForeignLink, providerName[p]))
	}
	return Link{Why: "meeting link not readable"}
}

var providerName = map[string]string{
	ProviderTeams: "Microsoft Teams", ProviderZoom: "Zoom", ProviderMeet: "Google Meet", ProviderWebex: "Webex",
}

func providerOf(scheme, host string) string {
	switch {
	case strings.HasPrefix(scheme, "janus+"):
		return ProviderJanus
	case strings.HasPrefix(scheme, "whip+"):
		return ProviderWHIP
	case strings.HasPrefix(scheme, "livekit+"):
		return ProviderLiveKit
	}
	host = strings.ToLower(host)
	under := func(d string) bool { return host == d || strings.HasSuffix(host, "."+d) }
	switch {
	case under("teams.microsoft.com"), under("teams.live.com"):
		return ProviderTeams
	case under("zoom.us"), under("zoomgov.com"):
		return ProviderZoom
	case under("meet.google.com"):
		return ProviderMeet
	case under("webex.com"):
		return ProviderWebex
	}
	return ProviderWeb
}

// canonical rebuilds a roomd link from its parts and only the given query
// parameters, so nothing unknown (and perhaps secret) rides along.
func canonical(u *url.URL, q url.Values) string {
	c := url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: u.Path, RawPath: u.RawPath}
	c.RawQuery = q.Encode()
	return c.String()
}

// strip drops a link's query and fragment, where other services keep
// passwords (Zoom's pwd=).
func strip(u *url.URL) string {
	c := url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// HasUserInfo reports whether a link carries a user name or password
// (scheme://user:password@host/…). It reads the text, not a parsed URL, so
// that a link url.Parse refuses (a bad port, say) is caught too: any '@'
// before the first '/', '?' or '#' after the scheme counts. Such a link is
// never joined, shown or logged, on any surface.
func HasUserInfo(raw string) bool {
	rest := raw
	if i := strings.IndexAny(raw, ":/?#"); i >= 0 && raw[i] == ':' {
		rest = raw[i+1:] // after the scheme
	}
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.Contains(rest, "@") {
		return true
	}
	u, err := url.Parse(raw)
	return err == nil && u.User != nil
}

func single(q url.Values, key string) string {
	if v := q[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func printable(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}
