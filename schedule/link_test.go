package schedule

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseLinkKeepsWhatIsShown(t *testing.T) {
	tests := []struct {
		in       string
		want     Link
		passcode string
	}{
		{"janus+wss://sfu.example.com/janus?room=1234&pin=4711",
			Link{Provider: ProviderJanus, URI: "janus+wss://sfu.example.com/janus?room=1234", Joinable: true}, "4711"},
		{"JANUS+WSS://SFU.example.com:8989?room=42",
			Link{Provider: ProviderJanus, URI: "janus+wss://sfu.example.com:8989?room=42", Joinable: true}, ""},
		{"janus+wss://sfu.example.com/janus?room=lobby&pin=1",
			Link{Provider: ProviderJanus, URI: "janus+wss://sfu.example.com/janus", Why: "janus room must be a number"}, ""},
		{"janus+ws://10.0.0.5:8188/?pin=2468&room=9",
			Link{Provider: ProviderJanus, URI: "janus+ws://10.0.0.5:8188/?room=9", Joinable: true}, "2468"},
		// Unknown parameters may be secrets: they are dropped.
		{"janus+wss://sfu.example.com/janus?room=1&apisecret=x&token=y",
			Link{Provider: ProviderJanus, URI: "janus+wss://sfu.example.com/janus?room=1", Joinable: true}, ""},
		{"janus+wss://sfu.example.com/janus",
			Link{Provider: ProviderJanus, URI: "janus+wss://sfu.example.com/janus", Why: "janus link needs room=<id>"}, ""},
		{"janus+wss://u:p@sfu.example.com/janus?room=1",
			Link{Provider: ProviderJanus, URI: "janus+wss://sfu.example.com/janus", Why: "meeting link carries a user name or password; put the secret in pin= or token="}, ""},
		{"whip+https://m.example.com/whip/1?whep=https%3A%2F%2Fm.example.com%2Fwhep%2F1&token=tok",
			Link{Provider: ProviderWHIP, URI: "whip+https://m.example.com/whip/1?whep=https%3A%2F%2Fm.example.com%2Fwhep%2F1", Joinable: true}, "tok"},
		{"whip+https://m.example.com/whip/1?whep=http%3A%2F%2Fm.example.com%2Fwhep",
			Link{Provider: ProviderWHIP, URI: "whip+https://m.example.com/whip/1", Why: "whip link needs whep=<url-encoded https WHEP URL>"}, ""},
		{"whip+https://m.example.com/whip/1",
			Link{Provider: ProviderWHIP, URI: "whip+https://m.example.com/whip/1", Why: "whip link needs whep=<url-encoded https WHEP URL>"}, ""},
		{"whip+http://m.example.com/whip?whep=https%3A%2F%2Fm.example.com%2Fwhep",
			Link{Provider: ProviderWHIP, URI: "whip+http://m.example.com/whip", Why: "whip links must use https (whip+https://)"}, ""},
		{"livekit+wss://lk.example.com?room=r1&token=jwt.jwt.jwt",
			Link{Provider: ProviderLiveKit, URI: "livekit+wss://lk.example.com?room=r1", Why: "provider not supported yet"}, "jwt.jwt.jwt"},
		{"https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7b%7d",
			Link{Provider: ProviderTeams, URI: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0", Why: "roomd cannot join Microsoft Teams meetings"}, ""},
		{"https://us02web.zoom.us/j/812?pwd=secret",
			Link{Provider: ProviderZoom, URI: "https://us02web.zoom.us/j/812", Why: "roomd cannot join Zoom meetings"}, ""},
		{"https://meet.google.com/abc-defg-hij",
			Link{Provider: ProviderMeet, URI: "https://meet.google.com/abc-defg-hij", Why: "roomd cannot join Google Meet meetings"}, ""},
		{"https://acme.webex.com/meet/x?pw=1",
			Link{Provider: ProviderWebex, URI: "https://acme.webex.com/meet/x", Why: "roomd cannot join Webex meetings"}, ""},
		{"https://notzoom.us.example.com/j/1",
			Link{Provider: ProviderWeb, URI: "https://notzoom.us.example.com/j/1", Why: "not a meeting link"}, ""},
		// The calendar and the call engine read links alike (meetinglink):
		// Janus has no room 0, and a WHIP server on the room's own loopback
		// may be plain http.
		{"janus+wss://h/?room=0&pin=1",
			Link{Provider: ProviderJanus, URI: "janus+wss://h/", Why: "janus room must be a number from 1 up"}, ""},
		{"whip+http://127.0.0.1:8080/whip?whep=http%3A%2F%2F127.0.0.1%3A8080%2Fwhep&token=tok9",
			Link{Provider: ProviderWHIP, URI: "whip+http://127.0.0.1:8080/whip?whep=http%3A%2F%2F127.0.0.1%3A8080%2Fwhep", Joinable: true}, "tok9"},
		{"ftp://example.com/x", Link{Why: "meeting link not readable"}, ""},
		{"janus+wss:opaque", Link{Why: "meeting link not readable"}, ""},
		{"janus+wss://h/?room=1%00", Link{Provider: ProviderJanus, URI: "janus+wss://h/", Why: "janus room must be a number"}, ""},
		{"janus+wss://h/?room=" + strings.Repeat("x", 5000), Link{Why: "meeting link too long"}, ""},
	}
	for _, tt := range tests {
		got := parseLink(tt.in)
		if got.Passcode != tt.passcode {
			t.Errorf("parseLink(%q) passcode %q, want %q", tt.in, got.Passcode, tt.passcode)
		}
		got.Passcode = ""
		if got != tt.want {
			t.Errorf("parseLink(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
		if tt.passcode != "" && strings.Contains(got.URI, tt.passcode) {
			t.Errorf("parseLink(%q): URI %q still carries the secret", tt.in, got.URI)
		}
	}
}

func TestFindLink(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		want   string // URI
		why    string
	}{
		{"roomd link beats an earlier foreign one",
			[]string{"https://teams.microsoft.com/l/x", "Room 1", "also janus+wss://s.example.com/j?room=2&pin=3"},
			"janus+wss://s.example.com/j?room=2", ""},
		{"the first field wins", []string{"janus+wss://a.example.com/?room=1", "janus+wss://b.example.com/?room=2"},
			"janus+wss://a.example.com/?room=1", ""},
		{"angle brackets and trailing punctuation", []string{"", "", "Join here: <janus+wss://s.example.com/?room=7&pin=1>."},
			"janus+wss://s.example.com/?room=7", ""},
		{"foreign beats plain web", []string{"https://wiki.example.com/x", "https://zoom.us/j/1?pwd=2"},
			"https://zoom.us/j/1", "a Zoom meeting link without a SIP address; this organisation has no Zoom connector dial rule"},
		{"nothing", []string{"", "Room 4.12", "Bring snacks"}, "", "no meeting link"},
		{"case-insensitive scheme", []string{"JANUS+WSS://s.example.com/?room=1"}, "janus+wss://s.example.com/?room=1", ""},
	}
	for _, tt := range tests {
		got := FindLink(tt.fields...)
		if got.URI != tt.want || got.Why != tt.why {
			t.Errorf("%s: FindLink = %+v, want URI %q why %q", tt.name, got, tt.want, tt.why)
		}
	}
}

func TestFindLinkPrefersJoinable(t *testing.T) {
	got := FindLink("janus+wss://a.example.com/janus", "janus+wss://b.example.com/janus?room=1")
	if !got.Joinable || got.URI != "janus+wss://b.example.com/janus?room=1" {
		t.Errorf("FindLink = %v, want the joinable second link", got)
	}
	got = FindLink("https://zoom.us/j/1", "janus+wss://a.example.com/janus")
	if got.Provider != ProviderJanus || got.Why != "janus link needs room=<id>" {
		t.Errorf("FindLink = %v, want the broken roomd link with its reason", got)
	}
}

func TestLinkStringHidesPasscode(t *testing.T) {
	o := Occurrence{ID: "x", Link: parseLink("janus+wss://s.example.com/?room=1&pin=98765")}
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%v", []Occurrence{o})} {
		if strings.Contains(s, "98765") || !strings.Contains(s, "<redacted>") {
			t.Errorf("printed occurrence %s", s)
		}
	}
}

// A link with a user name or password is never joinable, on its own or
// found in an event, and nothing about it shows the secret: not its URI,
// not its printed or JSON form. Links url.Parse refuses count too.
func TestParseLinkRefusesCredentials(t *testing.T) {
	for _, raw := range []string{
		"janus+ws://alice:s3cret@sfu.example.com/?room=1",
		"janus+wss://s3cret@sfu.example.com/janus?room=1&pin=4711",
		"janus+ws://alice:s3cret@sfu.example.com:bad/?room=1",
		"janus+ws://alice:s3cret@[::1/?room=1",
		"janus+ws:alice:s3cret@sfu.example.com",
		"whip+https://alice:s3cret@m.example.com/whip/1?whep=https%3A%2F%2Fm.example.com%2Fwhep%2F1",
		"whip+https://m.example.com/whip/1?whep=https%3A%2F%2Falice%3As3cret%40m.example.com%2Fwhep",
		"livekit+wss://alice:s3cret@lk.example.com?room=r1",
		"https://alice:s3cret@zoom.us/j/1",
	} {
		for _, l := range []Link{parseLink(raw), FindLink("", "Room 4", "join: "+raw)} {
			if l.Joinable || !strings.Contains(l.Why, "user name or password") && !strings.Contains(l.Why, "whep=") &&
				(strings.Contains(raw, "://") || l.Why != whyNoLink) { // FindLink only sees scheme://… in text
				t.Errorf("%q: %+v, want refused for its credentials", raw, l)
			}
			js, _ := json.Marshal(l)
			for _, s := range []string{l.URI, l.Passcode, l.String(), fmt.Sprintf("%+v", l), string(js)} {
				if strings.Contains(s, "s3cret") {
					t.Errorf("%q: the secret shows in %q", raw, s)
				}
			}
		}
	}
}
