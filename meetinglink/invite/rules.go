package invite

import (
	"errors"
	"fmt"
	"strings"

	"github.com/roomd/roomd/meetinglink"
)

// DialRules are an organisation's rules for turning the meeting IDs found
// in invitations into SIP addresses: which connector or interop gateway
// reaches each service from this room. The zero value has no rules:
// only SIP addresses written in the invitation are dialled.
type DialRules struct {
	// DefaultDomain is the SIP domain (host[:port]) a bare number is
	// dialled at, when an invitation gives only "Video address: 4711"
	// or "SIP: 4711".
	DefaultDomain string `json:"default_domain,omitempty" toml:"default_domain"`
	// Zoom reaches Zoom meetings through a room connector:
	// {Dial: "{meeting}.{passcode}@zoomcrc.com"}, or
	// {Dial: "zoomcrc.com", DTMF: "{meeting}#"} for its IVR.
	Zoom Rule `json:"zoom" toml:"zoom"`
	// Webex reaches Webex meetings by meeting number when the invitation
	// names no site: {Dial: "{meeting}@acme.webex.com"}.
	Webex Rule `json:"webex" toml:"webex"`
	// Teams reaches Teams meetings through the organisation's Cloud
	// Video Interop: {Dial: "{tenant}.{conference}@t.plcm.vc"} or
	// {Dial: "{conference}@cvi.example.com"}. {tenant} is the user part
	// of the CVI address in the invitation, {conference} its Video
	// Conference ID.
	Teams Rule `json:"teams" toml:"teams"`
	// Meet reaches Google Meet through an interop gateway:
	// {Dial: "{meeting}@gmeet.example.com"}; {meeting} is the meeting
	// code (abc-defg-hij) from the link.
	Meet Rule `json:"meet" toml:"meet"`
	// Jitsi reaches Jitsi meetings through a SIP gateway (jigasi):
	// {Dial: "{meeting}@sip.meet.example.com"}; {meeting} is the room
	// name from the link, lower case.
	Jitsi Rule `json:"jitsi" toml:"jitsi"`
}

// Rule is one service's dial pattern.
type Rule struct {
	// Dial is the SIP address: [sips:]user@host[:port][;transport=…] or
	// a bare host, with {meeting} (the meeting ID; {conference} is the
	// same), {tenant} (Teams) and {passcode} placeholders. {passcode}
	// may only end the user part, after a dot ("{meeting}.{passcode}@…");
	// without a passcode ".{passcode}" is left out. Empty: no rule.
	Dial string `json:"dial,omitempty" toml:"dial"`
	// DTMF is sent after connecting: digits, * # A-D, ',' pauses and
	// {meeting}. A passcode not in Dial follows it as DTMF, then '#'.
	DTMF string `json:"dtmf,omitempty" toml:"dtmf"`
}

// IsZero reports whether r is no rule.
func (r Rule) IsZero() bool { return r.Dial == "" && r.DTMF == "" }

// Validate checks every rule and reports all problems at once; errors
// start with "invite: dial_rules.<service>".
func (d DialRules) Validate() error {
	var errs []error
	if d.DefaultDomain != "" {
		if _, err := meetinglink.SIPLink(meetinglink.SIPAddress{User: "4711", Host: d.DefaultDomain}); err != nil {
			errs = append(errs, fmt.Errorf("invite: dial_rules.default_domain %q is not a SIP host[:port] such as \"video.example.com\": %s", d.DefaultDomain, meetinglink.Why(err)))
		}
	}
	for _, s := range d.services() {
		if s.rule.IsZero() {
			continue
		}
		if _, err := s.rule.expand(values{meeting: "1234567890", tenant: "acme", passcode: "4711"}); err != nil {
			errs = append(errs, fmt.Errorf("invite: dial_rules.%s: %w", s.key, err))
		}
	}
	return errors.Join(errs...)
}

type service struct {
	key  string // as in the configuration
	name string // meetinglink's provider
	rule Rule
}

func (d DialRules) services() []service {
	return []service{
		{"zoom", meetinglink.Zoom, d.Zoom}, {"webex", meetinglink.Webex, d.Webex},
		{"teams", meetinglink.Teams, d.Teams}, {"meet", meetinglink.Meet, d.Meet},
		{"jitsi", meetinglink.Jitsi, d.Jitsi},
	}
}

func (d DialRules) rule(provider string) Rule {
	for _, s := range d.services() {
		if s.name == provider {
			return s.rule
		}
	}
	return Rule{}
}

// values fill a rule's placeholders.
type values struct {
	meeting, tenant, passcode string
}

var errNeedsTenant = errors.New("the dial rule needs {tenant}, the CVI address in the invitation")

// expand makes the SIP link a rule dials for v. Its errors say what is
// wrong with the rule (or with v for it), never the passcode.
func (r Rule) expand(v values) (meetinglink.Link, error) {
	if r.Dial == "" {
		return meetinglink.Link{}, errors.New("dtmf without dial: say which address to call")
	}
	dial, secure := r.Dial, false
	for _, p := range []string{"sips:", "sip:"} {
		if len(dial) >= len(p) && strings.EqualFold(dial[:len(p)], p) {
			dial, secure = dial[len(p):], p == "sips:"
			break
		}
	}
	addr, params, _ := strings.Cut(dial, ";")
	transport := ""
	if params != "" {
		name, value, _ := strings.Cut(params, "=")
		if !strings.EqualFold(name, "transport") || strings.Contains(value, ";") {
			return meetinglink.Link{}, fmt.Errorf("dial %q may carry only ;transport=udp|tcp|tls", r.Dial)
		}
		transport = strings.ToLower(value)
	}
	if !strings.Contains(r.Dial+r.DTMF, "{meeting}") && !strings.Contains(r.Dial+r.DTMF, "{conference}") {
		return meetinglink.Link{}, errors.New("dial or dtmf must use {meeting} (or {conference}) to reach the meeting")
	}
	if strings.Contains(r.DTMF, "{passcode}") {
		return meetinglink.Link{}, errors.New("dtmf may not name {passcode}: a passcode not in dial is sent after it by itself")
	}
	user, host, hasUser := strings.Cut(addr, "@")
	if !hasUser {
		user, host = "", addr
	}
	via := ""
	if strings.Contains(user, "{passcode}") {
		if !strings.HasSuffix(user, ".{passcode}") || strings.Count(user, "{passcode}") > 1 {
			return meetinglink.Link{}, fmt.Errorf("dial %q: {passcode} may only end the user part, as {meeting}.{passcode}@host", r.Dial)
		}
		user = strings.TrimSuffix(user, ".{passcode}")
		via = meetinglink.PasscodeUser
	}
	if strings.Contains(host, "{") {
		return meetinglink.Link{}, fmt.Errorf("dial %q: placeholders belong in the user part", r.Dial)
	}
	fill := func(s string) (string, error) {
		if strings.Contains(s, "{tenant}") && v.tenant == "" {
			return "", errNeedsTenant
		}
		s = strings.NewReplacer("{meeting}", v.meeting, "{conference}", v.meeting, "{tenant}", v.tenant).Replace(s)
		if strings.ContainsAny(s, "{}") {
			return "", fmt.Errorf("dial %q or dtmf %q has a placeholder other than {meeting}, {conference}, {tenant} and {passcode}", r.Dial, r.DTMF)
		}
		return s, nil
	}
	user, err := fill(user)
	if err != nil {
		return meetinglink.Link{}, err
	}
	dtmf, err := fill(r.DTMF)
	if err != nil {
		return meetinglink.Link{}, err
	}
	if via == "" && v.passcode != "" {
		via = meetinglink.PasscodeDTMF
	}
	passcode := v.passcode
	if !meetinglink.Passcode(passcode, via) {
		passcode = "" // the IVR asks for it; the room's DTMF pad answers
	}
	l, err := meetinglink.SIPLink(meetinglink.SIPAddress{Secure: secure, User: user, Host: host, Transport: transport, DTMF: dtmf, Passcode: passcode, Via: via})
	if err != nil {
		return meetinglink.Link{}, fmt.Errorf("dial %q with dtmf %q does not make a SIP address: %s", r.Dial, r.DTMF, meetinglink.Why(err))
	}
	return l, nil
}
