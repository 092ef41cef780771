package meetinglink

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strings"
)

// Providers a Link can name.
const (
	Janus   = "janus"   // Janus VideoRoom over its WebSocket API
	WHIP    = "whip"    // WHIP publish + WHEP receive
	LiveKit = "livekit" // recognised; not supported yet
	Teams   = "teams"
	Zoom    = "zoom"
	Meet    = "google-meet"
	Webex   = "webex"
	Jitsi   = "jitsi" // Jitsi Meet (meet.jit.si, 8x8.vc)
	Web     = "web"   // some other web page
)

// MaxLen is the longest link read; longer ones are refused unread.
const MaxLen = 4096

// Errors a link is refused with, for callers that branch; errors.Is finds
// them in the *Error that Parse returns.
var (
	ErrUnreadable    = errors.New("meetinglink: link not readable")
	ErrCredentials   = errors.New("meetinglink: link carries a user name or password")
	ErrUnknownScheme = errors.New("meetinglink: no provider for this kind of link")
	ErrInsecure      = errors.New("meetinglink: link would send its secret in clear")
	ErrBadParameter  = errors.New("meetinglink: link lacks a parameter or has an unreadable one")
	ErrNotJoinable   = errors.New("meetinglink: roomd cannot join this provider's meetings")
)

// Error says why a link cannot be joined. Why is written for the person
// who booked the meeting (it is shown on the panel and in the calendar's
// list) and never repeats the link.
type Error struct {
	Why  string
	Kind error // one of the Err… values above
}

func (e *Error) Error() string { return "meetinglink: " + e.Why }

// Unwrap returns the error's kind.
func (e *Error) Unwrap() error { return e.Kind }

// Why returns the reason a link was refused, without the package prefix:
// an *Error's Why, or err's text for any other error.
func Why(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Why
	}
	return err.Error()
}

func refuse(kind error, why string) error { return &Error{Why: why, Kind: kind} }

// Reasons shared by several schemes.
const (
	whyUnreadable = "meeting link not readable"
	whyUserInfo   = "meeting link carries a user name or password; put the secret in pin= or token="
)

// Link is a parsed meeting link.
type Link struct {
	Provider string `json:"provider,omitempty"` // Janus, WHIP, …
	// URI is the link as it may be shown: lower-case scheme and host, only
	// the parameters the provider needs, never the secret.
	URI    string `json:"uri,omitempty"`
	Server string `json:"server,omitempty"` // the provider's address: the link minus its "janus+"/"whip+"/"livekit+" prefix and query
	Room   string `json:"room,omitempty"`   // Janus room number, LiveKit room name
	WHEP   string `json:"whep,omitempty"`   // WHIP: the WHEP URL that plays the meeting
	// SIP links: User is the user part (a meeting or room number, "" for
	// a bare host), Transport the ;transport= ("" for RFC 3263's
	// default), DTMF the digits to send after connecting (never a
	// passcode) and PasscodeVia how the passcode is sent ("" means as
	// DTMF). Server is host[:port].
	User        string `json:"user,omitempty"`
	Transport   string `json:"transport,omitempty"`
	DTMF        string `json:"dtmf,omitempty"`
	PasscodeVia string `json:"passcode_via,omitempty"`
	// E2EE names the end-to-end media encryption the link asks for
	// ([E2EESFrame] on Janus links), "" for none.
	E2EE string `json:"e2ee,omitempty"`
	// Secret is the link's pin= or token= (with a Janus link's key=),
	// moved out of URI, or a SIP meeting's passcode (never part of a SIP
	// link). It is never printed, logged or marshalled.
	Secret string `json:"-"`
}

// String describes the link without its secret.
func (l Link) String() string {
	s := l.Provider + " " + l.URI
	if l.Secret != "" {
		s += " secret=<redacted>"
	}
	return s
}

// GoString is String, so that %#v does not print the secret either.
func (l Link) GoString() string { return "meetinglink.Link{" + l.String() + "}" }

// LogValue logs the link without its secret.
func (l Link) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", l.Provider), slog.String("uri", l.URI))
}

// A Scheme reads the links of one provider.
type Scheme struct {
	Provider string   // the provider named when Parse cannot say more
	Names    []string // the URL schemes it reads, lower case ("janus+wss")
	// Parse reads a link whose URL has a host, no user info and a scheme
	// in Names (lower-cased in u.Scheme). q is the parsed query, nil if
	// it was unreadable. On error the Link still holds what may be shown.
	Parse func(u *url.URL, q url.Values) (Link, error)
	// ParseText, if set, is used instead of Parse: it reads the whole
	// link as written (sip:user@host has no "//" and a user part that is
	// no secret) and checks it for credentials itself.
	ParseText func(raw string) (Link, error)
}

// Registry parses links with the schemes it was built from.
type Registry struct {
	schemes map[string]Scheme
}

// NewRegistry builds a registry of the given schemes; a later scheme
// naming the same URL scheme replaces an earlier one.
func NewRegistry(schemes ...Scheme) *Registry {
	r := &Registry{schemes: make(map[string]Scheme)}
	for _, s := range schemes {
		for _, n := range s.Names {
			r.schemes[strings.ToLower(n)] = s
		}
	}
	return r
}

// Standard builds the registry of roomd's providers: Janus, WHIP,
// LiveKit, SIP and the web (where Teams, Zoom, Google Meet, Webex and
// Jitsi are recognised).
func Standard() *Registry {
	return NewRegistry(JanusScheme(), WHIPScheme(), LiveKitScheme(), SIPScheme(), WebScheme())
}

// standard is never changed after it is built.
var standard = Standard()

// Parse reads a link with the Standard registry.
func Parse(raw string) (Link, error) { return standard.Parse(raw) }

// Schemes lists the URL schemes the registry reads, sorted.
func (r *Registry) Schemes() []string {
	names := make([]string, 0, len(r.schemes))
	for n := range r.schemes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Parse reads one link. On error the Link holds what may be shown (its
// provider and its URI without query) when that much was readable, and
// the error is an *Error whose text never repeats the link.
func (r *Registry) Parse(raw string) (Link, error) {
	if len(raw) > MaxLen {
		return Link{}, refuse(ErrUnreadable, "meeting link too long")
	}
	if name, _, ok := strings.Cut(raw, ":"); ok {
		if s, ok := r.schemes[strings.ToLower(name)]; ok && s.ParseText != nil {
			return s.ParseText(raw)
		}
	}
	if HasUserInfo(raw) {
		// Read before url.Parse, which may fail and would then say
		// nothing; the link is shown as its host at most.
		var l Link
		scheme, _, _ := strings.Cut(raw, ":")
		if s, ok := r.schemes[strings.ToLower(scheme)]; ok {
			l.Provider = s.Provider
			if u, err := url.Parse(raw); err == nil && u.Host != "" && u.Opaque == "" {
				u.User, u.RawQuery, u.Scheme = nil, "", strings.ToLower(u.Scheme)
				shown, _ := s.Parse(u, nil)
				l = Link{Provider: shown.Provider, URI: strip(u)}
			}
		}
		return l, refuse(ErrCredentials, whyUserInfo)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Link{}, refuse(ErrUnreadable, whyUnreadable)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	s, ok := r.schemes[u.Scheme]
	if !ok {
		return Link{}, refuse(ErrUnknownScheme, whyUnreadable)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		q = nil
	}
	return s.Parse(u, q)
}

// HasUserInfo reports whether a link carries a user name or password
// (scheme://user:password@host/…). It reads the text, not a parsed URL, so
// that a link url.Parse refuses (a bad port, say) is caught too: any '@'
// before the first '/', '?' or '#' after the scheme counts.
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

// canonical rebuilds a link from its parts and only the given query
// parameters, so nothing unknown (and perhaps secret) rides along.
func canonical(u *url.URL, q url.Values) string {
	c := url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: u.Path, RawPath: u.RawPath}
	c.RawQuery = q.Encode()
	return c.String()
}

// strip drops a link's query and fragment, where other services keep
// passwords (Zoom's pwd=).
func strip(u *url.URL) string { return canonical(u, nil) }

// server is the provider's address: the link without its "x+" prefix,
// query and fragment.
func server(u *url.URL) string {
	_, scheme, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	c := url.URL{Scheme: scheme, Host: strings.ToLower(u.Host), Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

func first(q url.Values, key string) string {
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

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var _ fmt.GoStringer = Link{}
