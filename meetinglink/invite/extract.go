package invite

import (
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/roomd/roomd/meetinglink"
)

// Event is what an invitation says, as the calendar holds it.
type Event struct {
	URLs        []string // URL and conference properties, in that order
	Location    string
	Description string
	HTML        string // X-ALT-DESC;FMTTYPE=text/html, Outlook's HTML body
}

// How a Dial was found, best first.
const (
	FromNative   = "native"    // a link roomd joins directly (janus+, whip+)
	FromSIP      = "sip"       // the service's SIP address in the invitation
	FromGateway  = "gateway"   // a gateway or IVR address with DTMF
	FromDialRule = "dial-rule" // a meeting ID turned into an address by a dial rule
)

// Dial is what the room dials for an invitation, or why it cannot.
type Dial struct {
	// Link is the meeting link. Joinable when Why is "": a native link or
	// a SIP link whose passcode, if any, is in Link.Secret (never in
	// Link.URI). Otherwise Link holds what may be shown (the service's
	// web link without its query), or nothing.
	Link meetinglink.Link
	// Service is the meeting service the invitation is for
	// (meetinglink.Zoom, Teams, …), "" when none is recognised.
	Service string
	From    string // FromNative, FromSIP, …; "" when not joinable
	// Why the room cannot join, for the panel's "cannot join from this
	// room: <Why>". It never repeats a passcode.
	Why string
}

// Reasons for invitations with nothing dialable.
const (
	WhyNoLink  = "no meeting link"
	WhyWebPage = "not a meeting link"
)

// maxLinks bounds the links read from one field.
const maxLinks = 50

var (
	// schemeLink finds scheme://… links of every scheme meetinglink reads.
	schemeLink = func() *regexp.Regexp {
		var alt []string
		for _, s := range meetinglink.Standard().Schemes() {
			if s != "sip" && s != "sips" {
				alt = append(alt, regexp.QuoteMeta(s))
			}
		}
		return regexp.MustCompile(`(?i)\b(?:` + strings.Join(alt, "|") + `)://[^\s<>"'\x60{}|\\^\[\]]+`)
	}()
	// sipLink finds sip: and sips: links; IPv6 hosts keep their brackets.
	sipLink = regexp.MustCompile(`(?i)\bsips?:[^\s<>"'\x60{}|\\^(),]+`)
	// bareAddress finds user@host written without sip: (Zoom's "Join by
	// SIP", Webex's "Dial …@site.webex.com", a Teams CVI address).
	bareAddress = regexp.MustCompile(`(?i)(?:^|[^a-z0-9._%+\-:/@=])([a-z0-9][a-z0-9._+\-]{0,127})@((?:[a-z0-9-]{1,63}\.)+[a-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3})\b`)
	// videoLabel marks a line (or the line before) that introduces a
	// video address rather than an e-mail address.
	videoLabel = regexp.MustCompile(`(?i)\b(?:sip|sips|video|vtc|room system|h\.?323|conferencing device|dial)\b`)
	// Labelled numbers. Digits may be grouped with spaces ("812 3456 7890").
	meetingIDLabel = regexp.MustCompile(`(?i)\b(?:video conference id|vtc conference id|conference id|meeting id|meeting number|access code)(?:\s*\([a-z ]+\))?\s*[:：]?\s*([0-9](?:[0-9 ]{0,24}[0-9])?)(?:[^0-9A-Za-z]|$)`)
	cviIDLabel     = regexp.MustCompile(`(?i)\b(?:video conference id|vtc conference id)\s*[:：]?\s*([0-9](?:[0-9 ]{0,24}[0-9])?)(?:[^0-9A-Za-z]|$)`)
	// Passcodes count only at the start of a line ("Passcode: 314159"),
	// so that "Wi-Fi password: 1234" in an agenda is never sent as DTMF.
	passcodeLabel = regexp.MustCompile(`(?i)^[\s•*>|-]*(?:meeting |numeric )?(?:passcode|password|pin)(?: from (?:phones and )?video systems| \(numeric\))?\s*[:：]\s*([0-9](?:[0-9 ]{0,24}[0-9])?)(?:[^0-9A-Za-z]|$)`)
	noPINLabel    = regexp.MustCompile(`(?i)^[\s•*>|-]*(?:meeting |numeric )?(?:passcode|password)(?: from (?:phones and )?video systems| \(numeric\))?\s*[:：]\s*([0-9](?:[0-9 ]{0,24}[0-9])?)(?:[^0-9A-Za-z]|$)`)
	bareNumber    = regexp.MustCompile(`(?im)\b(?:video address|sip address|sip|vmr|video conference number)\s*[:：]\s*([0-9]{3,20})[ \t]*(?:$|[^0-9\s])`)
	zoomLinkID    = regexp.MustCompile(`^/(?:j|w|s|wc/join|my)/([0-9]{9,11})\b`)
	meetCode      = regexp.MustCompile(`^/([a-z]{3}-[a-z]{4}-[a-z]{3})\b`)
	jitsiRoom     = regexp.MustCompile(`^/(?:[A-Za-z0-9_.-]+/)?([A-Za-z0-9_-]{1,64})$`)
	webexRoom     = regexp.MustCompile(`^/(?:meet|join)/([A-Za-z0-9._-]{1,64})$`)
)

// Domains whose addresses are the services' own SIP addresses: found
// bare in an invitation, they are video addresses, not e-mail.
var (
	zoomSIPDomains  = []string{"zoomcrc.com"}
	webexSIPDomains = []string{"webex.com"}
	cviDomains      = []string{"plcm.vc", "m.webex.com", "onpexip.com", "pexip.me", "bjn.vc"}
	meetSIPDomains  = []string{"gmeet.video.pexip.com", "gmeet.pexip.me"}
)

func under(host string, domains []string) bool {
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// facts is what an invitation says, gathered from all its fields.
type facts struct {
	native      []meetinglink.Link // joinable roomd links, in order
	ownBroken   []candidate        // roomd links that cannot be joined
	refused     []candidate        // sip: links and links with credentials meetinglink refused
	service     candidate          // the first meeting service's web link
	web         candidate          // the first other web link
	sip         []candidate        // SIP addresses, in order
	cvi         []candidate        // Teams CVI (tenant) addresses
	meetingID   string             // first labelled meeting / conference ID, digits
	cviID       string             // Teams Video Conference ID, digits
	passcode    string             // first numeric passcode (PIN counted)
	passcodeNoP string             // first numeric passcode, "PIN" not counted
	bareNumber  string             // "Video address: 4711"
	zoomID      string             // from a Zoom link
	meetCode    string             // from a Meet link
	jitsiRoom   string             // from a Jitsi link
	webexSite   string             // host of a Webex link
	webexRoom   string             // personal room name from a Webex link
}

type candidate struct {
	link    meetinglink.Link
	err     error
	service string // for SIP addresses: the service whose domain it is
	found   bool
}

// Extract finds what the room dials for an invitation, in the order
// room-system calendar parsers use: a link roomd joins directly, then the
// service's SIP address in the invitation, then a gateway or IVR address
// with DTMF (a Teams CVI address and its conference ID) or a meeting ID
// turned into an address by the organisation's dial rules. A passcode in
// the invitation goes with a SIP dial in Link.Secret. An invitation with
// nothing dialable comes back with the reason.
func Extract(ev Event, rules DialRules) Dial {
	fields := append(append([]string(nil), ev.URLs...), ev.Location, ev.Description)
	if ev.HTML != "" {
		fields = append(fields, Text(ev.HTML))
	}
	return ExtractText(rules, fields...)
}

// ExtractText is Extract on plain-text fields, in order of preference.
func ExtractText(rules DialRules, fields ...string) Dial {
	var f facts
	for _, field := range fields {
		if len(field) > MaxText {
			field = field[:MaxText]
		}
		field = strings.ReplaceAll(field, "\u00a0", " ")
		f.read(field, rules)
	}
	return f.decide(rules)
}

// maxLine is the longest stretch of text matched at once: invitation
// lines are short, and short inputs keep Go's regexps fast.
const maxLine = 4 << 10

// read gathers the facts of one field, line by line.
func (f *facts) read(field string, rules DialRules) {
	prev := ""
	for len(field) > 0 {
		line, rest, _ := strings.Cut(field, "\n")
		if len(line) > maxLine {
			line, rest = field[:maxLine], field[maxLine:]
		}
		field = rest
		f.readLine(line, prev, rules)
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
}

// readLine gathers the facts of one line; prev is the line before, which
// may label this one ("Join by SIP").
func (f *facts) readLine(line, prev string, rules DialRules) {
	if strings.Contains(line, "://") {
		f.links(line)
	}
	lower := strings.ToLower(line)
	if strings.Contains(lower, "sip") {
		f.sipLinks(line, rules)
	}
	if strings.Contains(line, "@") {
		f.addresses(line, prev, rules)
	}
	if !strings.ContainsAny(line, "0123456789") {
		return
	}
	if m := cviIDLabel.FindStringSubmatch(line); m != nil && f.cviID == "" {
		f.cviID = digits(m[1])
	}
	if m := meetingIDLabel.FindStringSubmatch(line); m != nil && f.meetingID == "" {
		f.meetingID = digits(m[1])
	}
	if m := passcodeLabel.FindStringSubmatch(line); m != nil && f.passcode == "" {
		f.passcode = digits(m[1])
	}
	if m := noPINLabel.FindStringSubmatch(line); m != nil && f.passcodeNoP == "" {
		f.passcodeNoP = digits(m[1])
	}
	if m := bareNumber.FindStringSubmatch(line); m != nil && f.bareNumber == "" {
		f.bareNumber = m[1]
	}
}

// links notes scheme://… links: roomd's own, services', web pages.
func (f *facts) links(line string) {
	for _, raw := range schemeLink.FindAllString(line, maxLinks) {
		raw = strings.TrimRight(raw, ".,;:!?)>*")
		l, err := meetinglink.Parse(raw)
		if errors.Is(err, meetinglink.ErrCredentials) {
			f.refused = append(f.refused, candidate{link: l, err: err, found: true})
			continue
		}
		switch l.Provider {
		case "":
		case meetinglink.Janus, meetinglink.WHIP, meetinglink.LiveKit:
			if err == nil {
				f.native = append(f.native, l)
			} else {
				f.ownBroken = append(f.ownBroken, candidate{link: l, err: err, found: true})
			}
		case meetinglink.Web:
			if !f.web.found {
				f.web = candidate{link: l, err: err, found: true}
			}
		default:
			f.serviceLink(raw, l, err)
		}
	}
}

// sipLinks notes sip: and sips: links.
func (f *facts) sipLinks(line string, rules DialRules) {
	for _, raw := range sipLink.FindAllString(line, maxLinks) {
		raw = strings.TrimRight(raw, ".,;:!?)>*")
		l, err := meetinglink.Parse(raw)
		if err != nil {
			f.refused = append(f.refused, candidate{link: l, err: err, found: true})
			continue
		}
		svc := sipService(l.Server, rules)
		if svc == meetinglink.Zoom && l.DTMF == "" && l.PasscodeVia == "" {
			f.zoomAddress(l.User, l.Server, strings.HasPrefix(l.URI, "sips:"), l.Transport)
			continue
		}
		f.sip = append(f.sip, candidate{link: l, service: svc, found: true})
	}
}

// serviceLink notes a meeting service's web link and the meeting ID in
// it.
func (f *facts) serviceLink(raw string, l meetinglink.Link, err error) {
	if !f.service.found {
		f.service = candidate{link: l, err: err, service: l.Provider, found: true}
	}
	u, perr := url.Parse(raw)
	if perr != nil {
		return
	}
	host := strings.ToLower(u.Hostname())
	switch l.Provider {
	case meetinglink.Zoom:
		if m := zoomLinkID.FindStringSubmatch(u.Path); m != nil && f.zoomID == "" {
			f.zoomID = m[1]
		}
	case meetinglink.Meet:
		if m := meetCode.FindStringSubmatch(u.Path); m != nil && f.meetCode == "" {
			f.meetCode = m[1]
		}
	case meetinglink.Jitsi:
		if m := jitsiRoom.FindStringSubmatch(u.Path); m != nil && f.jitsiRoom == "" {
			f.jitsiRoom = strings.ToLower(m[1])
		}
	case meetinglink.Webex:
		if host != "webex.com" && host != "www.webex.com" && f.webexSite == "" {
			f.webexSite = host
			if m := webexRoom.FindStringSubmatch(u.Path); m != nil {
				f.webexRoom = m[1]
			}
		}
	}
}

// addresses notes user@host video addresses written without sip:.
func (f *facts) addresses(line, prev string, rules DialRules) {
	labelled, cviBlock := -1, false
	for _, m := range bareAddress.FindAllStringSubmatch(line, maxLinks) {
		user, host := m[1], strings.ToLower(m[2])
		svc := sipService(host, rules)
		cvi := under(host, cviDomains)
		if labelled < 0 {
			around := prev + " " + line
			labelled = 0
			if videoLabel.MatchString(around) {
				labelled = 1
			}
			cviBlock = strings.Contains(strings.ToLower(around), "conferencing device")
		}
		if svc == "" && !cvi && labelled == 0 {
			continue // an e-mail address
		}
		if svc == meetinglink.Zoom {
			f.zoomAddress(user, host, false, "")
			continue
		}
		l, err := meetinglink.SIPLink(meetinglink.SIPAddress{User: user, Host: host})
		if err != nil {
			continue
		}
		c := candidate{link: l, service: svc, found: true}
		if cvi || cviBlock {
			c.service = meetinglink.Teams
			f.cvi = append(f.cvi, c)
			continue
		}
		f.sip = append(f.sip, c)
	}
}

// zoomAddress notes a Zoom room connector address; one written as
// meeting.passcode@zoomcrc.com has its passcode split off.
func (f *facts) zoomAddress(user, host string, secure bool, transport string) {
	meeting, secret, _ := strings.Cut(user, ".")
	if digits(meeting) != meeting || meeting == "" {
		return
	}
	via := ""
	if secret != "" {
		via = meetinglink.PasscodeUser
	}
	l, err := meetinglink.SIPLink(meetinglink.SIPAddress{Secure: secure, User: meeting, Host: host, Transport: transport, Passcode: secret, Via: via})
	if err != nil {
		return
	}
	f.sip = append(f.sip, candidate{link: l, service: meetinglink.Zoom, found: true})
}

// sipService names the service whose SIP domain host is in.
func sipService(host string, rules DialRules) string {
	host, _, _ = strings.Cut(strings.ToLower(host), ":")
	switch {
	case under(host, zoomSIPDomains):
		return meetinglink.Zoom
	case under(host, meetSIPDomains):
		return meetinglink.Meet
	case under(host, []string{"m.webex.com"}):
		return "" // Cisco's Teams CVI, not a Webex meeting
	case under(host, webexSIPDomains):
		return meetinglink.Webex
	}
	for _, s := range rules.services() {
		if d := ruleDomain(s.rule); d != "" && host == d {
			return s.name
		}
	}
	if d, _, _ := strings.Cut(strings.ToLower(rules.DefaultDomain), ":"); d != "" && host == d {
		return meetinglink.SIP
	}
	return ""
}

// ruleDomain is the host a rule dials, lower case without port.
func ruleDomain(r Rule) string {
	if r.Dial == "" {
		return ""
	}
	addr, _, _ := strings.Cut(r.Dial, ";")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		addr = addr[i+1:]
	} else if i := strings.IndexByte(addr, ':'); i >= 0 && strings.HasPrefix(strings.ToLower(addr), "sip") {
		addr = addr[i+1:]
	}
	h, _, _ := strings.Cut(strings.ToLower(addr), ":")
	return h
}

// decide picks what to dial from the facts, best first.
func (f *facts) decide(rules DialRules) Dial {
	service := f.service.service
	if service == "" && len(f.cvi) > 0 {
		service = meetinglink.Teams
	}
	// 1. A link roomd joins directly.
	if len(f.native) > 0 {
		return Dial{Link: f.native[0], Service: service, From: FromNative}
	}
	// 2. The service's SIP address, written in the invitation. The first
	// address of the service the invitation is for wins; else the first.
	if c, ok := f.pickSIP(service); ok {
		return f.withPasscode(Dial{Link: c.link, Service: serviceOr(service, c.service), From: FromSIP})
	}
	if f.webexSite != "" && service == meetinglink.Webex && rules.Webex.IsZero() {
		user := f.meetingID
		if user == "" {
			user = f.webexRoom
		}
		if user != "" {
			if l, err := meetinglink.SIPLink(meetinglink.SIPAddress{User: user, Host: f.webexSite}); err == nil {
				return f.withPasscode(Dial{Link: l, Service: service, From: FromSIP})
			}
		}
	}
	// 3. Gateways and IVRs with DTMF, and dial rules.
	if d, ok := f.gateway(service, rules); ok {
		return d
	}
	return f.refuse(service, rules)
}

func serviceOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *facts) pickSIP(service string) (candidate, bool) {
	for _, c := range f.sip {
		if service != "" && c.service == service {
			return c, true
		}
	}
	if len(f.sip) > 0 {
		return f.sip[0], true
	}
	return candidate{}, false
}

// withPasscode adds the invitation's meeting ID (as DTMF, when the
// address does not already name it) and passcode to a SIP dial found in
// the invitation.
func (f *facts) withPasscode(d Dial) Dial {
	l := d.Link
	if l.Secret != "" { // split from the address itself (Zoom's meeting.passcode@)
		return d
	}
	pass := f.passcodeFor(d.Service)
	dtmf := l.DTMF
	if id := f.meetingID; id != "" && dtmf == "" && !strings.Contains(l.User, id) && d.Service == "" {
		dtmf = id + "#" // a bridge's IVR asks for the conference ID
	}
	if pass == "" && dtmf == l.DTMF {
		return d
	}
	nl, err := meetinglink.SIPLink(meetinglink.SIPAddress{Secure: strings.HasPrefix(l.URI, "sips:"), User: l.User, Host: l.Server,
		Transport: l.Transport, DTMF: dtmf, Passcode: pass, Via: l.PasscodeVia})
	if err != nil {
		return d
	}
	d.Link = nl
	return d
}

// passcodeFor is the numeric passcode to send for a service: for Meet
// and Jitsi a "PIN" is the phone dial-in's meeting ID, not a passcode.
func (f *facts) passcodeFor(service string) string {
	switch service {
	case meetinglink.Meet, meetinglink.Jitsi, meetinglink.Teams:
		return f.passcodeNoP
	}
	return f.passcode
}

// gateway tries the IVR and dial-rule forms.
func (f *facts) gateway(service string, rules DialRules) (Dial, bool) {
	v := values{passcode: f.passcodeFor(service)}
	rule := rules.rule(service)
	switch service {
	case meetinglink.Teams:
		v.meeting = f.cviID
		if len(f.cvi) > 0 {
			v.tenant = f.cvi[0].link.User
		}
		if v.meeting == "" {
			return Dial{}, false
		}
		v.passcode = "" // CVI gateways need only the conference ID
		if !rule.IsZero() {
			if l, err := rule.expand(v); err == nil {
				return Dial{Link: l, Service: service, From: FromDialRule}, true
			}
		}
		if len(f.cvi) > 0 {
			c := f.cvi[0].link
			// The conference ID in the address: dial it as it is.
			if strings.Contains(c.User, v.meeting) {
				return Dial{Link: c, Service: service, From: FromSIP}, true
			}
			if l, err := meetinglink.SIPLink(meetinglink.SIPAddress{User: c.User, Host: c.Server, DTMF: v.meeting + "#"}); err == nil {
				return Dial{Link: l, Service: service, From: FromGateway}, true
			}
		}
		return Dial{}, false
	case meetinglink.Zoom:
		v.meeting = serviceOr(f.zoomID, f.meetingID)
	case meetinglink.Webex:
		v.meeting = f.meetingID
	case meetinglink.Meet:
		v.meeting = f.meetCode
	case meetinglink.Jitsi:
		v.meeting = f.jitsiRoom
	}
	if !rule.IsZero() && v.meeting != "" {
		if l, err := rule.expand(v); err == nil {
			return Dial{Link: l, Service: service, From: FromDialRule}, true
		}
	}
	if f.bareNumber != "" && rules.DefaultDomain != "" {
		if l, err := meetinglink.SIPLink(meetinglink.SIPAddress{User: f.bareNumber, Host: rules.DefaultDomain}); err == nil {
			return f.withPasscode(Dial{Link: l, Service: service, From: FromDialRule}), true
		}
	}
	return Dial{}, false
}

// refuse says why nothing in the invitation is dialable, most specific
// first: a broken roomd link, a refused sip: link, the service's reason,
// a web page, nothing.
func (f *facts) refuse(service string, rules DialRules) Dial {
	if len(f.ownBroken) > 0 {
		c := f.ownBroken[0]
		return Dial{Link: c.link, Service: service, Why: meetinglink.Why(c.err)}
	}
	if len(f.refused) > 0 {
		c := f.refused[0]
		return Dial{Link: c.link, Service: service, Why: meetinglink.Why(c.err)}
	}
	if service != "" {
		link := f.service.link
		if !f.service.found && len(f.cvi) > 0 {
			link = f.cvi[0].link
		}
		return Dial{Link: link, Service: service, Why: f.serviceWhy(service, rules)}
	}
	if f.web.found {
		return Dial{Link: f.web.link, Why: WhyWebPage}
	}
	if f.bareNumber != "" {
		return Dial{Why: "a video address without a domain; this organisation has no default SIP domain dial rule"}
	}
	return Dial{Why: WhyNoLink}
}

func (f *facts) serviceWhy(service string, rules DialRules) string {
	rule := rules.rule(service)
	name := meetinglink.ServiceName(service)
	switch service {
	case meetinglink.Teams:
		if f.cviID == "" {
			return "a Microsoft Teams meeting without a video conferencing device block (Video Conference ID); the organiser's tenant has no Cloud Video Interop"
		}
		if len(f.cvi) == 0 && rule.IsZero() {
			return "a Microsoft Teams meeting with a Video Conference ID but no CVI address; this organisation has no Teams dial rule"
		}
		if _, err := rule.expand(values{meeting: f.cviID}); errors.Is(err, errNeedsTenant) {
			return "a Microsoft Teams meeting without a CVI address; the Teams dial rule needs {tenant}"
		}
		return "the Teams dial rule does not make a SIP address for this meeting"
	case meetinglink.Webex:
		if rule.IsZero() {
			return "a Webex meeting link without a video address or meeting number; this organisation has no Webex dial rule"
		}
		return "a Webex meeting link without a meeting number"
	}
	id := map[string]string{meetinglink.Zoom: serviceOr(f.zoomID, f.meetingID), meetinglink.Meet: f.meetCode, meetinglink.Jitsi: f.jitsiRoom}[service]
	kind := map[string]string{meetinglink.Zoom: "Zoom connector", meetinglink.Meet: "Meet gateway", meetinglink.Jitsi: "Jitsi gateway"}[service]
	switch {
	case rule.IsZero():
		return "a " + name + " meeting link without a SIP address; this organisation has no " + kind + " dial rule"
	case id == "":
		return "a " + name + " meeting link without a meeting ID to dial"
	}
	return "the " + name + " dial rule does not make a SIP address for this meeting"
}

// digits keeps the digits of s ("812 3456 7890" → "81234567890").
func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
