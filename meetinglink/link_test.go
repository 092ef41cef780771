package meetinglink

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

var whep = url.QueryEscape("https://m.example.com/whep/1")

// parseTests hold every form docs/schedule.md lists and the refusals.
// Their inputs seed FuzzParse.
var parseTests = []struct {
	in   string
	want Link  // Secret included
	err  error // kind; nil when joinable
	why  string
}{
	// janus+wss:// and janus+ws://, with and without pin=.
	{in: "janus+wss://sfu.example.com/janus?room=1234&pin=4711",
		want: Link{Provider: Janus, URI: "janus+wss://sfu.example.com/janus?room=1234", Server: "wss://sfu.example.com/janus", Room: "1234", Secret: "4711"}},
	{in: "JANUS+WSS://SFU.example.com:8989?room=42",
		want: Link{Provider: Janus, URI: "janus+wss://sfu.example.com:8989?room=42", Server: "wss://sfu.example.com:8989", Room: "42"}},
	{in: "janus+ws://10.0.0.5:8188/?pin=2468&room=9",
		want: Link{Provider: Janus, URI: "janus+ws://10.0.0.5:8188/?room=9", Server: "ws://10.0.0.5:8188/", Room: "9", Secret: "2468"}},
	{in: "janus+ws://127.0.0.1:8188/rooms/a@b?room=1", // an @ after the host is no user info
		want: Link{Provider: Janus, URI: "janus+ws://127.0.0.1:8188/rooms/a@b?room=1", Server: "ws://127.0.0.1:8188/rooms/a@b", Room: "1"}},
	// Unknown parameters may be secrets: they are dropped.
	{in: "janus+wss://sfu.example.com/janus?room=1&apisecret=x&token=y",
		want: Link{Provider: Janus, URI: "janus+wss://sfu.example.com/janus?room=1", Server: "wss://sfu.example.com/janus", Room: "1"}},
	{in: "janus+wss://sfu.example.com/janus", err: ErrBadParameter, why: "janus link needs room=<id>",
		want: Link{Provider: Janus, URI: "janus+wss://sfu.example.com/janus"}},
	{in: "janus+wss://sfu.example.com/janus?room=lobby&pin=1", err: ErrBadParameter, why: "janus room must be a number",
		want: Link{Provider: Janus, URI: "janus+wss://sfu.example.com/janus"}},
	{in: "janus+wss://sfu.example.com/janus?room=0", err: ErrBadParameter, why: "janus room must be a number from 1 up",
		want: Link{Provider: Janus, URI: "janus+wss://sfu.example.com/janus"}},
	{in: "janus+wss://h/?room=1%00", err: ErrBadParameter, why: "janus room must be a number",
		want: Link{Provider: Janus, URI: "janus+wss://h/"}},
	{in: "janus+wss://h/?room=1&pin=a%01b", err: ErrBadParameter, why: "janus link has an unreadable pin",
		want: Link{Provider: Janus, URI: "janus+wss://h/"}},
	// e2ee=sframe stays in the URI; key= joins the pin in the Secret.
	{in: "janus+wss://h/?room=1&pin=4711&e2ee=sframe&key=AAECAwQFBgcICQoLDA0ODw",
		want: Link{Provider: Janus, URI: "janus+wss://h/?e2ee=sframe&room=1", Server: "wss://h/", Room: "1", E2EE: "sframe", Secret: "AAECAwQFBgcICQoLDA0ODw.4711"}},
	{in: "janus+wss://h/?room=1&e2ee=sframe",
		want: Link{Provider: Janus, URI: "janus+wss://h/?e2ee=sframe&room=1", Server: "wss://h/", Room: "1", E2EE: "sframe"}},
	{in: "janus+wss://h/?room=1&e2ee=sframe&key=AAECAwQFBgcICQoLDA0O", err: ErrBadParameter, why: "janus link's key= must be base64url of 16 bytes or more",
		want: Link{Provider: Janus, URI: "janus+wss://h/"}},
	{in: "janus+wss://h/?room=1&e2ee=sframe&key=AAEC+wQFBgcICQoLDA0ODw", err: ErrBadParameter, why: "janus link's key= must be base64url of 16 bytes or more",
		want: Link{Provider: Janus, URI: "janus+wss://h/"}},
	{in: "janus+wss://h/?room=1&e2ee=srtp", err: ErrBadParameter, why: "janus link's e2ee= must be sframe",
		want: Link{Provider: Janus, URI: "janus+wss://h/"}},
	{in: "janus+wss://h/?room=1&key=AAECAwQFBgcICQoLDA0ODw", err: ErrBadParameter, why: "janus link has key= without e2ee=sframe",
		want: Link{Provider: Janus, URI: "janus+wss://h/"}},

	// whip+https:// with and without token=.
	{in: "whip+https://m.example.com/whip/1?whep=" + whep + "&token=tok",
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com/whip/1?whep=" + whep, Server: "https://m.example.com/whip/1", WHEP: "https://m.example.com/whep/1", Secret: "tok"}},
	{in: "WHIP+HTTPS://m.example.com:8443/w?whep=" + url.QueryEscape("https://m.example.com/whep/room 1?x=1"),
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com:8443/w?whep=" + url.QueryEscape("https://m.example.com/whep/room 1?x=1"), Server: "https://m.example.com:8443/w", WHEP: "https://m.example.com/whep/room%201?x=1"}},
	// Plain http only on the loopback, for WHIP and WHEP alike.
	{in: "whip+http://127.0.0.1:8080/whip/a?whep=" + url.QueryEscape("http://127.0.0.1:8080/whep/b"),
		want: Link{Provider: WHIP, URI: "whip+http://127.0.0.1:8080/whip/a?whep=" + url.QueryEscape("http://127.0.0.1:8080/whep/b"), Server: "http://127.0.0.1:8080/whip/a", WHEP: "http://127.0.0.1:8080/whep/b"}},
	{in: "whip+http://[::1]/whip/a?whep=" + url.QueryEscape("http://localhost/whep/b"),
		want: Link{Provider: WHIP, URI: "whip+http://[::1]/whip/a?whep=" + url.QueryEscape("http://localhost/whep/b"), Server: "http://[::1]/whip/a", WHEP: "http://localhost/whep/b"}},
	{in: "whip+http://m.example.com/whip?whep=" + whep, err: ErrInsecure, why: "whip links must use https (whip+https://)",
		want: Link{Provider: WHIP, URI: "whip+http://m.example.com/whip"}},
	{in: "whip+https://m.example.com/whip/1?whep=" + url.QueryEscape("http://m.example.com/whep"), err: ErrBadParameter, why: "whip link needs whep=<url-encoded https WHEP URL>",
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com/whip/1"}},
	{in: "whip+https://m.example.com/whip/1?whep=" + url.QueryEscape("http://127.0.0.1/whep"), err: ErrBadParameter, why: "whip link needs whep=<url-encoded https WHEP URL>",
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com/whip/1"}},
	{in: "whip+https://m.example.com/whip/1?whep=" + url.QueryEscape("wss://m.example.com/x"), err: ErrBadParameter, why: "whip link needs whep=<url-encoded https WHEP URL>",
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com/whip/1"}},
	{in: "whip+https://m.example.com/whip/1", err: ErrBadParameter, why: "whip link needs whep=<url-encoded https WHEP URL>",
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com/whip/1"}},

	// livekit+wss://: recognised, not joinable; its token is still kept
	// out of the URI.
	{in: "livekit+wss://lk.example.com?room=r1&token=jwt.jwt.jwt", err: ErrNotJoinable, why: "provider not supported yet",
		want: Link{Provider: LiveKit, URI: "livekit+wss://lk.example.com?room=r1", Server: "wss://lk.example.com", Room: "r1", Secret: "jwt.jwt.jwt"}},

	// Other services and web pages, shown without their query.
	{in: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7b%7d", err: ErrNotJoinable, why: "roomd cannot join Microsoft Teams meetings",
		want: Link{Provider: Teams, URI: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"}},
	{in: "https://us02web.zoom.us/j/812?pwd=secret", err: ErrNotJoinable, why: "roomd cannot join Zoom meetings",
		want: Link{Provider: Zoom, URI: "https://us02web.zoom.us/j/812"}},
	{in: "https://meet.google.com/abc-defg-hij", err: ErrNotJoinable, why: "roomd cannot join Google Meet meetings",
		want: Link{Provider: Meet, URI: "https://meet.google.com/abc-defg-hij"}},
	{in: "https://acme.webex.com/meet/x?pw=1", err: ErrNotJoinable, why: "roomd cannot join Webex meetings",
		want: Link{Provider: Webex, URI: "https://acme.webex.com/meet/x"}},
	{in: "https://notzoom.us.example.com/j/1", err: ErrNotJoinable, why: "not a meeting link",
		want: Link{Provider: Web, URI: "https://notzoom.us.example.com/j/1"}},

	// Credentials in the link, anywhere before the host, even when the
	// link is otherwise unreadable, and in a WHEP URL.
	{in: "janus+wss://u:s3cret@sfu.example.com/janus?room=1&pin=4711", err: ErrCredentials, why: whyUserInfo,
		want: Link{Provider: Janus, URI: "janus+wss://sfu.example.com/janus"}},
	{in: "JANUS+WS://s3cret@127.0.0.1/?room=1", err: ErrCredentials, why: whyUserInfo,
		want: Link{Provider: Janus, URI: "janus+ws://127.0.0.1/"}},
	{in: "janus+ws://alice:s3cret@127.0.0.1:bad/?room=1", err: ErrCredentials, why: whyUserInfo, want: Link{Provider: Janus}},
	{in: "janus+ws://alice:s3cret@[::1/?room=1", err: ErrCredentials, why: whyUserInfo, want: Link{Provider: Janus}},
	{in: "janus+ws:alice:s3cret@127.0.0.1", err: ErrCredentials, why: whyUserInfo, want: Link{Provider: Janus}},
	{in: "whip+https://alice:s3cret@m.example.com/whip/1?whep=" + whep, err: ErrCredentials, why: whyUserInfo,
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com/whip/1"}},
	{in: "whip+https://m.example.com/whip/1?whep=" + url.QueryEscape("https://alice:s3cret@m.example.com/whep"), err: ErrCredentials, why: whyUserInfo,
		want: Link{Provider: WHIP, URI: "whip+https://m.example.com/whip/1"}},
	{in: "whip+http://alice:s3cret@127.0.0.1:8080/whip/a?whep=" + url.QueryEscape("http://127.0.0.1:8080/whep"), err: ErrCredentials, why: whyUserInfo,
		want: Link{Provider: WHIP, URI: "whip+http://127.0.0.1:8080/whip/a"}},
	{in: "livekit+wss://alice:s3cret@lk.example.com?room=r1", err: ErrCredentials, why: whyUserInfo,
		want: Link{Provider: LiveKit, URI: "livekit+wss://lk.example.com"}},
	{in: "https://alice:s3cret@zoom.us/j/1", err: ErrCredentials, why: whyUserInfo,
		want: Link{Provider: Zoom, URI: "https://zoom.us/j/1"}},
	{in: "ftp://alice:s3cret@example.com/x", err: ErrCredentials, why: whyUserInfo},

	// sip: and sips:, every accepted form.
	{in: "sip:123456789@zoomcrc.com",
		want: Link{Provider: SIP, URI: "sip:123456789@zoomcrc.com", Server: "zoomcrc.com", User: "123456789"}},
	{in: "SIPS:123456789@Acme.WEBEX.com",
		want: Link{Provider: SIP, URI: "sips:123456789@acme.webex.com", Server: "acme.webex.com", User: "123456789"}},
	{in: "sip:+4930123456@pbx.example.com:5070;transport=TCP",
		want: Link{Provider: SIP, URI: "sip:+4930123456@pbx.example.com:5070;transport=tcp", Server: "pbx.example.com:5070", User: "+4930123456", Transport: TCP}},
	{in: "sip:alice.smith@example.com;transport=udp",
		want: Link{Provider: SIP, URI: "sip:alice.smith@example.com;transport=udp", Server: "example.com", User: "alice.smith", Transport: UDP}},
	{in: "sips:room@pbx.example.com;transport=tls",
		want: Link{Provider: SIP, URI: "sips:room@pbx.example.com;transport=tls", Server: "pbx.example.com", User: "room", Transport: TLS}},
	{in: "sips:room@pbx.example.com;transport=tcp",
		want: Link{Provider: SIP, URI: "sips:room@pbx.example.com;transport=tcp", Server: "pbx.example.com", User: "room", Transport: TCP}},
	{in: "sip:room@192.0.2.10", // room to room by IP
		want: Link{Provider: SIP, URI: "sip:room@192.0.2.10", Server: "192.0.2.10", User: "room"}},
	{in: "sip:192.0.2.10:5062",
		want: Link{Provider: SIP, URI: "sip:192.0.2.10:5062", Server: "192.0.2.10:5062"}},
	{in: "sip:pbx.example.com",
		want: Link{Provider: SIP, URI: "sip:pbx.example.com", Server: "pbx.example.com"}},
	{in: "sip:room@[2001:DB8::10]:5060;transport=udp",
		want: Link{Provider: SIP, URI: "sip:room@[2001:db8::10]:5060;transport=udp", Server: "[2001:db8::10]:5060", User: "room", Transport: UDP}},
	{in: "sips:[2001:db8::10]",
		want: Link{Provider: SIP, URI: "sips:[2001:db8::10]", Server: "[2001:db8::10]"}},
	// DTMF to send after connecting, '#' as %23 or as written.
	{in: "sips:acme@t.plcm.vc;dtmf=1234567890%23",
		want: Link{Provider: SIP, URI: "sips:acme@t.plcm.vc;dtmf=1234567890%23", Server: "t.plcm.vc", User: "acme", DTMF: "1234567890#"}},
	{in: "sips:zoomcrc.com;dtmf=81234567890#,,*9;passcode-via=dtmf",
		want: Link{Provider: SIP, URI: "sips:zoomcrc.com;dtmf=81234567890%23,,*9;passcode-via=dtmf", Server: "zoomcrc.com", DTMF: "81234567890#,,*9", PasscodeVia: PasscodeDTMF}},
	{in: "sips:81234567890@zoomcrc.com;passcode-via=USER",
		want: Link{Provider: SIP, URI: "sips:81234567890@zoomcrc.com;passcode-via=user", Server: "zoomcrc.com", User: "81234567890", PasscodeVia: PasscodeUser}},
	// Parameters roomd does not read are dropped.
	{in: "sip:4711@pbx.example.com;user=phone;maddr=192.0.2.1;lr",
		want: Link{Provider: SIP, URI: "sip:4711@pbx.example.com", Server: "pbx.example.com", User: "4711"}},

	// sip: and sips:, every refusal.
	{in: "sip:alice:s3cret@pbx.example.com", err: ErrCredentials, why: whySIPPassword,
		want: Link{Provider: SIP, URI: "sip:pbx.example.com"}},
	{in: "sips:alice:s3cret@pbx.example.com:bad", err: ErrCredentials, why: whySIPPassword, want: Link{Provider: SIP}},
	{in: "sip:4711@pbx.example.com?Subject=x&Call-Info=s3cret", err: ErrBadParameter, why: whySIPHeaders, want: Link{Provider: SIP}},
	{in: "sip:4711@pbx.example.com;transport=sctp", err: ErrBadParameter, why: whySIPTransport,
		want: Link{Provider: SIP, URI: "sip:pbx.example.com"}},
	{in: "sip:4711@pbx.example.com;transport=", err: ErrBadParameter, why: whySIPTransport,
		want: Link{Provider: SIP, URI: "sip:pbx.example.com"}},
	{in: "sips:4711@pbx.example.com;transport=udp", err: ErrInsecure, why: whySIPSUDP,
		want: Link{Provider: SIP, URI: "sips:pbx.example.com"}},
	{in: "sip:81234567890@zoomcrc.com;pin=s3cret", err: ErrCredentials, why: whySIPPasscode,
		want: Link{Provider: SIP, URI: "sip:zoomcrc.com"}},
	{in: "sip:81234567890@zoomcrc.com;PASSCODE=s3cret", err: ErrCredentials, why: whySIPPasscode,
		want: Link{Provider: SIP, URI: "sip:zoomcrc.com"}},
	{in: "sip:81234567890@zoomcrc.com;pwd=s3cret", err: ErrCredentials, why: whySIPPasscode,
		want: Link{Provider: SIP, URI: "sip:zoomcrc.com"}},
	{in: "sip:a@zoomcrc.com;dtmf=12x", err: ErrBadParameter, why: whySIPDTMF,
		want: Link{Provider: SIP, URI: "sip:zoomcrc.com"}},
	{in: "sip:a@zoomcrc.com;dtmf=", err: ErrBadParameter, why: whySIPDTMF,
		want: Link{Provider: SIP, URI: "sip:zoomcrc.com"}},
	{in: "sip:a@zoomcrc.com;passcode-via=sms", err: ErrBadParameter, why: whySIPVia,
		want: Link{Provider: SIP, URI: "sip:zoomcrc.com"}},
	{in: "sip:a@zoomcrc.com;x=a\x01b", err: ErrBadParameter, why: whySIPParameter,
		want: Link{Provider: SIP, URI: "sip:zoomcrc.com"}},
	{in: "sip:al ice@pbx.example.com", err: ErrBadParameter, why: whySIPUser,
		want: Link{Provider: SIP, URI: "sip:pbx.example.com"}},
	{in: "sip:%61lice@pbx.example.com", err: ErrBadParameter, why: whySIPUser,
		want: Link{Provider: SIP, URI: "sip:pbx.example.com"}},
	{in: "sip:@pbx.example.com", err: ErrBadParameter, why: whySIPUser,
		want: Link{Provider: SIP, URI: "sip:pbx.example.com"}},
	{in: "sip:a@b@pbx.example.com", err: ErrBadParameter, why: whySIPUser,
		want: Link{Provider: SIP, URI: "sip:pbx.example.com"}},
	{in: "sip://pbx.example.com/100", err: ErrUnreadable, why: whySIPSlashes, want: Link{Provider: SIP}},
	{in: "sip:", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@pbx_1.example.com", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@-pbx.example.com", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@192.0.2", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@2001:db8::1", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@[192.0.2.1]", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@[fe80::1%25eth0]", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@[2001:db8::1", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@[2001:db8::1]x", err: ErrUnreadable, why: whySIPHost, want: Link{Provider: SIP}},
	{in: "sip:room@pbx.example.com:0", err: ErrBadParameter, why: whySIPPort, want: Link{Provider: SIP}},
	{in: "sip:room@pbx.example.com:65536", err: ErrBadParameter, why: whySIPPort, want: Link{Provider: SIP}},
	{in: "sip:room@pbx.example.com:", err: ErrBadParameter, why: whySIPPort, want: Link{Provider: SIP}},
	{in: "sip:room@[2001:db8::1]:", err: ErrBadParameter, why: whySIPPort, want: Link{Provider: SIP}},
	{in: "sip:room@pbx.example.com:+80", err: ErrBadParameter, why: whySIPPort, want: Link{Provider: SIP}},

	// Jitsi is recognised like the other services.
	{in: "https://meet.jit.si/WeeklyPlanning", err: ErrNotJoinable, why: "roomd cannot join Jitsi meetings",
		want: Link{Provider: Jitsi, URI: "https://meet.jit.si/WeeklyPlanning"}},

	// Unknown schemes and unreadable links.
	{in: "ftp://example.com/x", err: ErrUnknownScheme, why: whyUnreadable},
	{in: "janus+wss:opaque", err: ErrUnreadable, why: whyUnreadable},
	{in: "janus+ws://127.0.0.1:bad/?room=1&apisecret=s3cret", err: ErrUnreadable, why: whyUnreadable},
	{in: "", err: ErrUnreadable, why: whyUnreadable},
	{in: "janus+wss://h/?room=" + strings.Repeat("x", 5000), err: ErrUnreadable, why: "meeting link too long"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		got, err := Parse(tt.in)
		if got != tt.want {
			t.Errorf("Parse(%q)\n got %#v secret %q\nwant %#v secret %q", tt.in, got, got.Secret, tt.want, tt.want.Secret)
		}
		if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("Parse(%q): error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if err != nil && Why(err) != tt.why {
			t.Errorf("Parse(%q): why %q, want %q", tt.in, Why(err), tt.why)
		}
		checkShowable(t, tt.in, got, err)
	}
}

// checkShowable fails if anything that may be shown carries a secret of
// the link: its user info, pin=, token=, or another parameter.
func checkShowable(t *testing.T, in string, l Link, err error) {
	t.Helper()
	var secrets []string
	if HasUserInfo(in) {
		secrets = append(secrets, "s3cret")
	}
	if l.Secret != "" {
		secrets = append(secrets, l.Secret)
	}
	js, jerr := json.Marshal(l)
	if jerr != nil {
		t.Fatal(jerr)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("join", "link", l)
	shown := []string{l.URI, l.Server, l.Room, l.String(), fmt.Sprintf("%v %+v %#v", l, l, l), string(js), logged.String()}
	if err != nil {
		shown = append(shown, err.Error())
	}
	for _, s := range shown {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("Parse(%q): %q shows the secret %q", in, s, secret)
			}
		}
		if strings.Contains(s, "apisecret") || strings.Contains(s, "pwd=") {
			t.Errorf("Parse(%q): %q shows a parameter that may be secret", in, s)
		}
	}
}

func TestHasUserInfo(t *testing.T) {
	for raw, want := range map[string]bool{
		"janus+ws://alice:s3cret@h/?room=1": true,
		"janus+ws://alice@h/?room=1":        true,
		"alice:s3cret@h":                    true,
		"janus+ws://h/a@b?room=1":           false,
		"janus+ws://h?x=a@b":                false,
		"janus+ws://h#a@b":                  false,
		"https://h.example/":                false,
		"":                                  false,
	} {
		if got := HasUserInfo(raw); got != want {
			t.Errorf("HasUserInfo(%q) = %v, want %v", raw, got, want)
		}
	}
}

// A caller builds its own registry: a scheme it leaves out is unknown,
// one it adds is read, and the standard registry is not changed.
func TestRegistry(t *testing.T) {
	r := NewRegistry(JanusScheme(), Scheme{Provider: "sip", Names: []string{"SIPS"},
		Parse: func(u *url.URL, _ url.Values) (Link, error) {
			return Link{Provider: "sip", URI: strip(u), Server: u.Host}, nil
		}})
	if got, want := r.Schemes(), []string{"janus+ws", "janus+wss", "sips"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Schemes() = %v, want %v", got, want)
	}
	if _, err := r.Parse("whip+https://m.example.com/w?whep=" + whep); !errors.Is(err, ErrUnknownScheme) {
		t.Errorf("whip link in a registry without WHIP: %v", err)
	}
	if l, err := r.Parse("SIPS://pbx.example.com/100?x=1"); err != nil || l.Provider != "sip" || l.URI != "sips://pbx.example.com/100" {
		t.Errorf("sips link: %v, %v", l, err)
	}
	if _, err := r.Parse("sips://alice:s3cret@pbx.example.com/100"); !errors.Is(err, ErrCredentials) {
		t.Errorf("credentials are refused before the scheme reads the link: %v", err)
	}
	if _, err := Parse("sips://pbx.example.com/100"); !errors.Is(err, ErrUnreadable) {
		t.Errorf("the standard registry's own sips: reads sips://: %v", err)
	}
	want := []string{"http", "https", "janus+ws", "janus+wss", "livekit+ws", "livekit+wss", "sip", "sips", "whip+http", "whip+https"}
	if got := Standard().Schemes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Standard().Schemes() = %v, want %v", got, want)
	}
}

// FuzzParse checks, for any input, that Parse does not panic, that a
// joinable link's URI parses again to the same link without its secret,
// and that nothing shown carries the secret or user info.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := Parse(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil || !errors.Is(err, e.Kind) {
				t.Fatalf("Parse(%q): error %#v is not an *Error with a kind", in, err)
			}
			if len(in) >= 8 && strings.Contains(err.Error(), in) {
				t.Fatalf("Parse(%q): the error repeats the link: %v", in, err)
			}
		}
		if u, perr := url.Parse(l.URI); perr == nil && (u.Query().Has("pin") || u.Query().Has("token")) {
			t.Fatalf("Parse(%q): URI %q carries a secret", in, l.URI)
		}
		if l.Provider == SIP {
			_, rest, _ := strings.Cut(l.URI, ":")
			addr, _, _ := strings.Cut(rest, ";")
			if user, _, found := cutLast(addr, "@"); found && strings.Contains(user, ":") || strings.Contains(l.URI, "?") {
				t.Fatalf("Parse(%q): %v keeps a password or headers", in, l)
			}
		} else if HasUserInfo(l.URI) || HasUserInfo(l.Server) {
			t.Fatalf("Parse(%q): %v keeps user info", in, l)
		}
		if err != nil {
			return
		}
		again, err := Parse(l.URI)
		l.Secret = ""
		if err != nil || again != l {
			t.Fatalf("Parse(%q) = %#v, but its URI parses as %#v, %v", in, l, again, err)
		}
	})
}

// The passcode of an end-to-end encrypted Janus meeting comes apart into
// its key and PIN; anything without a readable key of 16+ bytes is refused.
func TestSplitJanusE2EESecret(t *testing.T) {
	for _, tc := range []struct {
		secret, pin string
		keyLen      int
		ok          bool
	}{
		{"AAECAwQFBgcICQoLDA0ODw.4711", "4711", 16, true},
		{"AAECAwQFBgcICQoLDA0ODw", "", 16, true},
		{"AAECAwQFBgcICQoLDA0ODw==.a.b", "a.b", 16, true},
		{JanusE2EESecret("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "1"), "1", 32, true},
		{"AAECAwQFBgcICQoLDA0O.4711", "", 0, false},
		{"4711", "", 0, false},
		{"", "", 0, false},
	} {
		key, pin, ok := SplitJanusE2EESecret(tc.secret)
		if ok != tc.ok || pin != tc.pin || len(key) != tc.keyLen {
			t.Errorf("%q: key of %d bytes, pin %q, ok %v; want %d, %q, %v", tc.secret, len(key), pin, ok, tc.keyLen, tc.pin, tc.ok)
		}
	}
}
