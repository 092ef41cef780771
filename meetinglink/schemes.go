package meetinglink

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// JanusScheme reads janus+wss:// and janus+ws:// links:
// host[:port][/path]?room=<number>[&pin=<pin>][&e2ee=sframe[&key=<key>]].
// The room is Janus' default numeric room ID; the pin becomes the Secret.
// e2ee=sframe stays in the URI (it says the media is end-to-end encrypted);
// key= (base64url, 16 bytes or more) joins the pin in the Secret (see
// [JanusE2EESecret]).
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
	keep := url.Values{"room": {room}}
	l := Link{Provider: Janus, Server: server(u), Room: room, Secret: pin}
	switch e2ee := first(q, "e2ee"); e2ee {
	case "":
		if first(q, "key") != "" {
			return bad, refuse(ErrBadParameter, "janus link has key= without e2ee=sframe")
		}
	case E2EESFrame:
		key := first(q, "key")
		if key != "" && !e2eeKeyOK(key) {
			return bad, refuse(ErrBadParameter, "janus link's key= must be base64url of 16 bytes or more")
		}
		keep.Set("e2ee", e2ee)
		l.E2EE = e2ee
		if key != "" {
			l.Secret = JanusE2EESecret(key, pin)
		}
	default:
		return bad, refuse(ErrBadParameter, "janus link's e2ee= must be sframe")
	}
	l.URI = canonical(u, keep)
	return l, nil
}

// E2EESFrame is the e2ee= value of a Janus link whose media is end-to-end
// encrypted with SFrame (RFC 9605) between roomd rooms.
const E2EESFrame = "sframe"

// JanusE2EESecret is the meeting passcode of an end-to-end encrypted Janus
// meeting: the frame key (base64url, from key=) and the room's PIN, joined
// by a dot ("key" alone without a PIN). A base64url key has no dot, so
// [SplitJanusE2EESecret] takes it apart again; the passcode store and Call
// Join's Passcode hold it in this form.
func JanusE2EESecret(key, pin string) string {
	if pin == "" {
		return key
	}
	return key + "." + pin
}

// SplitJanusE2EESecret takes the passcode of an end-to-end encrypted Janus
// meeting apart (see [JanusE2EESecret]) and decodes its key. ok is false
// when the key is missing or not base64url of 16 bytes or more.
func SplitJanusE2EESecret(secret string) (key []byte, pin string, ok bool) {
	k, pin, _ := strings.Cut(secret, ".")
	key, err := decodeKey(k)
	if err != nil || len(key) < 16 {
		return nil, "", false
	}
	return key, pin, true
}

// e2eeKeyOK says whether key is base64url (padded or not) of 16 bytes or more.
func e2eeKeyOK(key string) bool {
	b, err := decodeKey(key)
	return err == nil && len(b) >= 16
}

func decodeKey(k string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(k, "="))
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
