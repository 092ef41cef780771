package meetinglink

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// JanusScheme reads janus+wss:// and janus+ws:// links:
// host[:port][/path]?room=<number>[&pin=<pin>]. The room is Janus' default
// numeric room ID; the pin becomes the Secret.
func JanusScheme() Scheme {
	return Scheme{Provider: Janus, Names: []string{"janus+wss", "janus+ws"}, Parse: parseJanus}
}

func parseJanus(u *url.URL, q url.Values) (Link, error) {
	bad := Link{Provider: Janus, URI: strip(u)}
	room := first(q, "room")
	if room == "" {
		return bad, refuse(ErrBadParameter, "janus link needs room=<id>")
	}
	// media/janus speaks Janus' default numeric room IDs only.
	n, err := strconv.ParseUint(room, 10, 64)
	if err != nil {
		return bad, refuse(ErrBadParameter, "janus room must be a number")
	}
	if n == 0 {
		return bad, refuse(ErrBadParameter, "janus room must be a number from 1 up")
	}
	pin := first(q, "pin")
	if !printable(pin, 256) {
		return bad, refuse(ErrBadParameter, "janus link has an unreadable pin")
	}
	return Link{Provider: Janus, URI: canonical(u, url.Values{"room": {room}}), Server: server(u), Room: room, Secret: pin}, nil
}

// WHIPScheme reads whip+https:// links: host/path?whep=<url-encoded WHEP
// URL>[&token=<bearer>]. The WHEP URL must be https://. whip+http:// (and
// then an http:// WHEP URL) is read for a loopback host only, where the
// token does not cross the network.
func WHIPScheme() Scheme {
	return Scheme{Provider: WHIP, Names: []string{"whip+https", "whip+http"}, Parse: parseWHIP}
}

func parseWHIP(u *url.URL, q url.Values) (Link, error) {
	bad := Link{Provider: WHIP, URI: strip(u)}
	plain := u.Scheme == "whip+http"
	if plain && !loopback(u.Hostname()) {
		return bad, refuse(ErrInsecure, "whip links must use https (whip+https://)")
	}
	whep := first(q, "whep")
	if HasUserInfo(whep) {
		return bad, refuse(ErrCredentials, whyUserInfo)
	}
	w, err := url.Parse(whep)
	if whep == "" || err != nil || w.Host == "" || w.Opaque != "" ||
		(w.Scheme != "https" && (w.Scheme != "http" || !plain || !loopback(w.Hostname()))) {
		return bad, refuse(ErrBadParameter, "whip link needs whep=<url-encoded https WHEP URL>")
	}
	tok := first(q, "token")
	if !printable(tok, 4096) {
		return bad, refuse(ErrBadParameter, "whip link has an unreadable token")
	}
	return Link{Provider: WHIP, URI: canonical(u, url.Values{"whep": {whep}}), Server: server(u), WHEP: w.String(), Secret: tok}, nil
}

// LiveKitScheme recognises livekit+wss:// and livekit+ws:// links
// (host?room=<name>&token=<jwt>); roomd cannot join them yet.
func LiveKitScheme() Scheme {
	return Scheme{Provider: LiveKit, Names: []string{"livekit+wss", "livekit+ws"}, Parse: parseLiveKit}
}

func parseLiveKit(u *url.URL, q url.Values) (Link, error) {
	l := Link{Provider: LiveKit, Server: server(u)}
	v := url.Values{}
	if r := first(q, "room"); r != "" && printable(r, 128) {
		v.Set("room", r)
		l.Room = r
	}
	if tok := first(q, "token"); printable(tok, 4096) {
		l.Secret = tok
	}
	l.URI = canonical(u, v)
	return l, refuse(ErrNotJoinable, "provider not supported yet")
}

// WebScheme reads http:// and https:// links: meetings of Microsoft
// Teams, Zoom, Google Meet, Webex and Jitsi are recognised by their host and
// shown without their query (Zoom keeps its password there); anything
// else is a web page. None is joinable.
func WebScheme() Scheme {
	return Scheme{Provider: Web, Names: []string{"https", "http"}, Parse: parseWeb}
}

var serviceName = map[string]string{
	Teams: "Microsoft Teams", Zoom: "Zoom", Meet: "Google Meet", Webex: "Webex", Jitsi: "Jitsi",
}

// ServiceName is a provider's name as people know it ("Microsoft Teams"
// for Teams), or p itself.
func ServiceName(p string) string {
	if n, ok := serviceName[p]; ok {
		return n
	}
	return p
}

func parseWeb(u *url.URL, _ url.Values) (Link, error) {
	p := Service(u.Hostname())
	l := Link{Provider: p, URI: strip(u)}
	if p == Web {
		return l, refuse(ErrNotJoinable, "not a meeting link")
	}
	return l, refuse(ErrNotJoinable, fmt.Sprintf("roomd cannot join %s meetings", serviceName[p]))
}

// Service names the meeting service a web link's host belongs to (Teams,
// Zoom, Meet, Webex, Jitsi), or Web.
func Service(host string) string {
	host = strings.ToLower(host)
	under := func(d string) bool { return host == d || strings.HasSuffix(host, "."+d) }
	switch {
	case under("teams.microsoft.com"), under("teams.live.com"):
		return Teams
	case under("zoom.us"), under("zoomgov.com"):
		return Zoom
	case under("meet.google.com"):
		return Meet
	case under("webex.com"):
		return Webex
	case under("meet.jit.si"), under("8x8.vc"):
		return Jitsi
	}
	return Web
}
