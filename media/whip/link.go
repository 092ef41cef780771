package whip

import (
	"net/http"
	"strings"

	"github.com/pion/webrtc/v4"
)

// ICEServersFromLinks reads the STUN and TURN servers a WHIP or WHEP server
// names in its Link headers (RFC 9725, STUN/TURN server configuration; RFC 8288 syntax):
//
//	Link: <stun:stun.example.net>; rel="ice-server"
//	Link: <turn:turn.example.net?transport=udp>; rel="ice-server";
//	      username="user"; credential="myPassword"; credential-type="password"
//
// Links with other relations, and ice-server links that are not stun:,
// stuns:, turn: or turns: URIs, are skipped; so is what cannot be parsed.
func ICEServersFromLinks(h http.Header) []webrtc.ICEServer {
	var servers []webrtc.ICEServer
	for _, v := range h.Values("Link") {
		for _, l := range parseLinks(v) {
			if !l.rel("ice-server") || !iceURI(l.target) {
				continue
			}
			if ct, ok := l.params["credential-type"]; ok && !strings.EqualFold(ct, "password") {
				continue // OAuth credentials were dropped from WebRTC
			}
			s := webrtc.ICEServer{URLs: []string{l.target}}
			if u, ok := l.params["username"]; ok {
				s.Username = u
			}
			if c, ok := l.params["credential"]; ok {
				s.Credential = c
			}
			servers = append(servers, s)
		}
	}
	return servers
}

func iceURI(u string) bool {
	scheme, _, ok := strings.Cut(u, ":")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "stun", "stuns", "turn", "turns":
		return true
	}
	return false
}

// link is one link-value of a Link header.
type link struct {
	target string
	params map[string]string // names lowercased; the first of each name wins (RFC 8288)
}

func (l link) rel(want string) bool {
	for _, r := range strings.Fields(l.params["rel"]) {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

// parseLinks splits one Link header field value into its link-values. A
// link-value it cannot read ends the parse: what came before is kept.
func parseLinks(s string) []link {
	var links []link
	p := &linkParser{s: s}
	for {
		p.skipSpace()
		for p.eat(',') {
			p.skipSpace()
		}
		if p.done() {
			return links
		}
		l, ok := p.link()
		if !ok {
			return links
		}
		links = append(links, l)
	}
}

type linkParser struct {
	s string
	i int
}

func (p *linkParser) done() bool { return p.i >= len(p.s) }

func (p *linkParser) skipSpace() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *linkParser) eat(c byte) bool {
	if !p.done() && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *linkParser) link() (link, bool) {
	if !p.eat('<') {
		return link{}, false
	}
	end := strings.IndexByte(p.s[p.i:], '>')
	if end < 0 {
		return link{}, false
	}
	l := link{target: strings.TrimSpace(p.s[p.i : p.i+end]), params: map[string]string{}}
	p.i += end + 1
	for {
		p.skipSpace()
		if p.done() || p.eat(',') {
			return l, true
		}
		if !p.eat(';') {
			return link{}, false
		}
		p.skipSpace()
		name := strings.ToLower(p.token())
		if name == "" {
			return link{}, false
		}
		p.skipSpace()
		value := ""
		if p.eat('=') {
			p.skipSpace()
			var ok bool
			if value, ok = p.value(); !ok {
				return link{}, false
			}
		}
		if _, seen := l.params[name]; !seen {
			l.params[name] = value
		}
	}
}

// token reads an RFC 9110 token.
func (p *linkParser) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a token or a quoted-string.
func (p *linkParser) value() (string, bool) {
	if !p.eat('"') {
		t := p.token()
		return t, t != ""
	}
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), true
		case '\\':
			if p.done() {
				return "", false
			}
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
