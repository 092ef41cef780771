package meetinglink

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// SIPLink builds what the invitation extractor dials: a passcode makes
// the link sips: unless a transport is named, stays out of the URI, and
// reaches the far end as DTMF or in the user part.
func TestSIPLink(t *testing.T) {
	tests := []struct {
		user, host, transport, dtmf, passcode, via string

		uri, dialUser, dialDTMF string
		err                     error
	}{
		{user: "81234567890", host: "zoomcrc.com",
			uri: "sip:81234567890@zoomcrc.com", dialUser: "81234567890"},
		{user: "81234567890", host: "zoomcrc.com", passcode: "314159",
			uri: "sips:81234567890@zoomcrc.com", dialUser: "81234567890", dialDTMF: "314159#"},
		{user: "81234567890", host: "zoomcrc.com", passcode: "314159", via: PasscodeUser,
			uri: "sips:81234567890@zoomcrc.com;passcode-via=user", dialUser: "81234567890.314159"},
		{user: "acme", host: "t.plcm.vc", dtmf: "1234567890#", passcode: "2718",
			uri: "sips:acme@t.plcm.vc;dtmf=1234567890%23", dialUser: "acme", dialDTMF: "1234567890#,2718#"},
		{user: "4711", host: "pbx.example.com", transport: "udp", passcode: "2718",
			uri: "sip:4711@pbx.example.com;transport=udp", dialUser: "4711", dialDTMF: "2718#"},
		{host: "192.0.2.10", dtmf: "42#", uri: "sip:192.0.2.10;dtmf=42%23", dialDTMF: "42#"},
		{host: "[2001:db8::10]:5061", transport: "tls", uri: "sip:[2001:db8::10]:5061;transport=tls"},
		{user: "4711", host: "pbx.example.com", passcode: "12ab", err: ErrBadParameter},
		{user: "4711", host: "pbx.example.com", passcode: "12;pin=1", via: PasscodeUser, err: ErrBadParameter},
		{user: "47 11", host: "pbx.example.com", err: ErrBadParameter},
		{user: "4711", host: "pbx.example.com?x=1", err: ErrBadParameter},
		{user: "4711", host: "pbx.example.com", dtmf: "12;pin=3", err: ErrBadParameter},
	}
	for _, tt := range tests {
		l, err := SIPLink(SIPAddress{User: tt.user, Host: tt.host, Transport: tt.transport, DTMF: tt.dtmf, Passcode: tt.passcode, Via: tt.via})
		name := fmt.Sprintf("SIPLink(%q, %q, %q, %q, passcode, %q)", tt.user, tt.host, tt.transport, tt.dtmf, tt.via)
		if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("%s: error %v, want %v", name, err, tt.err)
			continue
		}
		if err != nil {
			if l.Secret != "" || (tt.passcode != "" && strings.Contains(err.Error(), tt.passcode)) {
				t.Errorf("%s: refused link %#v or error %v shows the passcode", name, l, err)
			}
			continue
		}
		if l.URI != tt.uri || l.DialUser() != tt.dialUser || l.DialDTMF() != tt.dialDTMF || l.Secret != tt.passcode {
			t.Errorf("%s = %s, user %q, DTMF %q; want %s, %q, %q", name, l.URI, l.DialUser(), l.DialDTMF(), tt.uri, tt.dialUser, tt.dialDTMF)
		}
		checkShowable(t, l.URI, l, nil)
		again, err := Parse(l.URI)
		l.Secret = ""
		if err != nil || again != l {
			t.Errorf("%s: its URI parses as %#v, %v", name, again, err)
		}
	}
}
