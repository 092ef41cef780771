package meetinglink

import (
	"net"
	"strconv"
	"strings"
)

// SIP names SIP and SIPS links (sip:user@host, sips:user@host).
const SIP = "sip"

// SIP transports a link may name with ;transport=.
const (
	UDP = "udp"
	TCP = "tcp"
	TLS = "tls"
)

// How a SIP link's passcode (Link.Secret) reaches the far end.
const (
	// PasscodeDTMF sends the passcode as DTMF digits after Link.DTMF,
	// followed by '#': what every meeting IVR asks for.
	PasscodeDTMF = "dtmf"
	// PasscodeUser dials user.passcode@host, Zoom's room connector form
	// ({meeting}.{passcode}@zoomcrc.com).
	PasscodeUser = "user"
)

// Limits on a SIP link's parts.
const (
	maxSIPUser = 128
	maxSIPHost = 253
	maxDTMF    = 64
)

// Reasons a SIP link is refused.
const (
	whySIPSlashes   = "sip links are written sip:user@host, without //"
	whySIPPassword  = "sip link carries a password; remove it and give the PIN as the meeting's passcode"
	whySIPHeaders   = "sip link carries headers (?…); remove them"
	whySIPTransport = "sip transport must be udp, tcp or tls"
	whySIPSUDP      = "sips links cannot use udp; use transport=tls or tcp, or a sip: link"
	whySIPPasscode  = "sip link carries a passcode in a parameter; remove it and give it as the meeting's passcode"
	whySIPUser      = "sip link's user part may hold only letters, digits and - _ . ! ~ * ' + ( )"
	whySIPHost      = "sip link needs a host name, an IPv4 address or an [IPv6] address"
	whySIPPort      = "sip link's port must be a number from 1 to 65535"
	whySIPDTMF      = "sip link's dtmf= may hold only 0-9 * # A-D and , (a pause), at most 64"
	whySIPVia       = "sip link's passcode-via= must be dtmf or user"
	whySIPParameter = "sip link has an unreadable parameter"
)

// secretParams are URI parameters that would carry a passcode. A link
// with one is refused: the passcode belongs in the secret store, and the
// link is shown.
var secretParams = map[string]bool{
	"pin": true, "passcode": true, "password": true, "pwd": true, "pw": true,
	"secret": true, "token": true, "key": true, "auth": true, "x-passcode": true,
}

// SIPScheme reads sip: and sips: links (RFC 3261 §19.1):
//
//	sip:[user@]host[:port][;transport=udp|tcp|tls][;dtmf=<digits>][;passcode-via=dtmf|user]
//	sips:… the same over TLS
//
// host is a name, an IPv4 address or an [IPv6] address in brackets; a
// bare host (sip:192.0.2.10) calls a room by its address. dtmf= holds
// the digits sent after the call connects (a meeting ID for an IVR,
// "#" written %23); it is shown, so it must not hold a passcode. The
// passcode is never in the link: it is the meeting's passcode (Link.Secret,
// kept in the 0600 secret store) and reaches the far end as DTMF after
// dtmf=, or in the user part with passcode-via=user.
//
// Refused: a password (sip:user:password@host), headers (?…), a
// parameter that looks like a passcode (;pin=, ;passcode=, …), a
// transport other than udp, tcp or tls, and sips: over udp. Other
// parameters are dropped.
func SIPScheme() Scheme {
	return Scheme{Provider: SIP, Names: []string{"sip", "sips"}, ParseText: parseSIP}
}

func parseSIP(raw string) (Link, error) {
	scheme, rest, _ := strings.Cut(raw, ":")
	scheme = strings.ToLower(scheme)
	if strings.HasPrefix(rest, "//") {
		return Link{Provider: SIP}, refuse(ErrUnreadable, whySIPSlashes)
	}
	// Headers come last; '?' may appear nowhere else in a SIP URI that
	// roomd reads.
	if strings.ContainsAny(rest, "?") {
		return Link{Provider: SIP}, refuse(ErrBadParameter, whySIPHeaders)
	}
	addr, params, _ := strings.Cut(rest, ";")
	user, hostport, hasUser := cutLast(addr, "@")
	if !hasUser {
		user, hostport = "", addr
	}
	if strings.Contains(user, ":") {
		l := Link{Provider: SIP}
		if h, p, err := sipHostPort(hostport); err == nil {
			l.URI = scheme + ":" + joinHostPort(h, p)
		}
		return l, refuse(ErrCredentials, whySIPPassword)
	}
	host, port, err := sipHostPort(hostport)
	if err != nil {
		return Link{Provider: SIP}, err
	}
	bad := Link{Provider: SIP, URI: scheme + ":" + joinHostPort(host, port)}
	if hasUser && !sipUser(user) {
		return bad, refuse(ErrBadParameter, whySIPUser)
	}
	l := Link{Provider: SIP, Server: joinHostPort(host, port), User: user}
	if params != "" {
		for _, p := range strings.Split(params, ";") {
			name, value, _ := strings.Cut(p, "=")
			name = strings.ToLower(name)
			if secretParams[name] {
				return bad, refuse(ErrCredentials, whySIPPasscode)
			}
			switch name {
			case "transport":
				l.Transport = strings.ToLower(value)
				switch l.Transport {
				case UDP, TCP, TLS:
				default:
					return bad, refuse(ErrBadParameter, whySIPTransport)
				}
			case "dtmf":
				d := strings.ReplaceAll(value, "%23", "#")
				if !dtmfDigits(d, true) {
					return bad, refuse(ErrBadParameter, whySIPDTMF)
				}
				l.DTMF = d
			case "passcode-via":
				switch v := strings.ToLower(value); v {
				case PasscodeDTMF, PasscodeUser:
					l.PasscodeVia = v
				default:
					return bad, refuse(ErrBadParameter, whySIPVia)
				}
			default:
				if !printable(p, 256) {
					return bad, refuse(ErrBadParameter, whySIPParameter)
				}
			}
		}
	}
	if scheme == "sips" && l.Transport == UDP {
		return bad, refuse(ErrInsecure, whySIPSUDP)
	}
	l.URI = sipURI(scheme, l)
	return l, nil
}

// sipURI writes a SIP link in its canonical form: lower-case scheme and
// host, and only the parameters roomd reads.
func sipURI(scheme string, l Link) string {
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteByte(':')
	if l.User != "" {
		b.WriteString(l.User)
		b.WriteByte('@')
	}
	b.WriteString(l.Server)
	if l.Transport != "" {
		b.WriteString(";transport=" + l.Transport)
	}
	if l.DTMF != "" {
		b.WriteString(";dtmf=" + strings.ReplaceAll(l.DTMF, "#", "%23"))
	}
	if l.PasscodeVia != "" {
		b.WriteString(";passcode-via=" + l.PasscodeVia)
	}
	return b.String()
}

// SIPAddress is a SIP link in parts, for SIPLink.
type SIPAddress struct {
	Secure    bool   // sips: whatever else is set
	User      string // "" for a bare host
	Host      string // host[:port]; an IPv6 address in brackets
	Transport string // udp, tcp, tls; "" for the default
	DTMF      string // digits sent after connecting; never a passcode
	Passcode  string // the meeting's passcode, to Link.Secret
	Via       string // PasscodeDTMF ("" means it) or PasscodeUser
}

// SIPLink builds a SIP link from its parts and checks it with the same
// grammar as Parse. A passcode makes the link sips: unless a transport is
// given (SIPS is the default whenever a passcode or PIN is involved); the
// passcode goes to Link.Secret and never into the URI.
func SIPLink(a SIPAddress) (Link, error) {
	scheme := "sip"
	if a.Secure || a.Passcode != "" && a.Transport == "" {
		scheme = "sips"
	}
	if a.Passcode != "" && !Passcode(a.Passcode, a.Via) {
		return Link{Provider: SIP}, refuse(ErrBadParameter, "passcode must be digits (sent as DTMF) or, in the user part, letters, digits and dots")
	}
	// Each part is checked on its own, so that one cannot add parameters
	// (a passcode, say) to the link.
	if strings.ContainsAny(a.User+a.Host+a.Transport, ";?@") {
		return Link{Provider: SIP}, refuse(ErrBadParameter, "sip address parts may not hold ; ? or @")
	}
	if a.DTMF != "" && !dtmfDigits(a.DTMF, true) {
		return Link{Provider: SIP}, refuse(ErrBadParameter, whySIPDTMF)
	}
	raw := scheme + ":"
	if a.User != "" {
		raw += a.User + "@"
	}
	raw += a.Host
	if a.Transport != "" {
		raw += ";transport=" + a.Transport
	}
	if a.DTMF != "" {
		raw += ";dtmf=" + strings.ReplaceAll(a.DTMF, "#", "%23")
	}
	if a.Passcode != "" && a.Via == PasscodeUser {
		raw += ";passcode-via=" + PasscodeUser
	}
	l, err := parseSIP(raw)
	if err != nil {
		return Link{Provider: SIP}, err
	}
	l.Secret = a.Passcode
	return l, nil
}

// Passcode reports whether p can be sent the given way: digits for DTMF;
// letters, digits and dots in a user part.
func Passcode(p, via string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	for _, r := range p {
		digit := r >= '0' && r <= '9'
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.'
		if !digit && !(letter && via == PasscodeUser) {
			return false
		}
	}
	return true
}

// DialUser is the user part to dial: the link's, with ".passcode" added
// for passcode-via=user. Only the SIP signalling uses it; it is never
// shown.
func (l Link) DialUser() string {
	if l.PasscodeVia == PasscodeUser && l.Secret != "" {
		return l.User + "." + l.Secret
	}
	return l.User
}

// DialDTMF is every DTMF digit to send after the call connects: the
// link's dtmf=, then (unless the passcode went into the user part) a
// pause, the passcode and '#'. ',' is a two-second pause. It carries the
// passcode: send it, never show or log it.
func (l Link) DialDTMF() string {
	d := l.DTMF
	if l.Secret != "" && l.PasscodeVia != PasscodeUser {
		if d != "" {
			d += ","
		}
		d += l.Secret + "#"
	}
	return d
}

// cutLast is strings.Cut at the last sep: a SIP user part may not hold
// '@', but a hostile link may, and the host is what follows the last.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// sipHostPort reads host[:port]: a name, IPv4, or [IPv6]. The host comes
// back lower case, an IPv6 address in brackets.
func sipHostPort(hp string) (host, port string, err error) {
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", "", refuse(ErrUnreadable, whySIPHost)
		}
		ip := net.ParseIP(hp[1:end])
		if ip == nil || ip.To4() != nil || strings.Contains(hp[1:end], "%") {
			return "", "", refuse(ErrUnreadable, whySIPHost)
		}
		host, hp = "["+strings.ToLower(hp[1:end])+"]", hp[end+1:]
		if hp != "" && !strings.HasPrefix(hp, ":") {
			return "", "", refuse(ErrUnreadable, whySIPHost)
		}
		port = strings.TrimPrefix(hp, ":")
		if hp == ":" {
			return "", "", refuse(ErrBadParameter, whySIPPort)
		}
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(hp, ":")
		if hasPort && port == "" {
			return "", "", refuse(ErrBadParameter, whySIPPort)
		}
		host = strings.ToLower(host)
		if !hostName(host) {
			return "", "", refuse(ErrUnreadable, whySIPHost)
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return "", "", refuse(ErrBadParameter, whySIPPort)
		}
	}
	return host, port, nil
}

func joinHostPort(host, port string) string {
	if port == "" {
		return host
	}
	return host + ":" + port
}

// hostName reports whether h is a DNS name or a dotted IPv4 address.
func hostName(h string) bool {
	if h == "" || len(h) > maxSIPHost {
		return false
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.To4() != nil && !strings.Contains(h, ":")
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	// All-numeric names are mistyped addresses (192.0.2), not hosts.
	last := h[strings.LastIndexByte(strings.TrimSuffix(h, "."), '.')+1:]
	_, err := strconv.Atoi(strings.TrimSuffix(last, "."))
	return err != nil
}

// sipUser reports whether u is a user part roomd dials: RFC 3261's
// unreserved characters and '+' (telephone numbers), without escapes.
func sipUser(u string) bool {
	if u == "" || len(u) > maxSIPUser {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'+()", c) >= 0) {
			return false
		}
	}
	return true
}

// dtmfDigits reports whether d holds only DTMF symbols (and ',' pauses
// when pauses is set), at most maxDTMF.
func dtmfDigits(d string, pauses bool) bool {
	if d == "" || len(d) > maxDTMF {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c >= 'A' && c <= 'D' || pauses && c == ',') {
			return false
		}
	}
	return true
}
