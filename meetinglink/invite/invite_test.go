package invite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/meetinglink"
)

// extractTests seed FuzzExtract; the golden invitations are in
// schedule/testdata/invitations, read through the calendar's parser.
var extractTests = []struct {
	name  string
	ev    Event
	rules DialRules
	uri   string // shown
	pass  string // Link.Secret
	from  string
	why   string
}{
	{name: "native first, wherever it is",
		ev:  Event{Location: "81234567890@zoomcrc.com", Description: "janus+wss://s.example.com/j?room=2&pin=3"},
		uri: "janus+wss://s.example.com/j?room=2", pass: "3", from: FromNative},
	{name: "zoom SIP address with its passcode",
		ev:  Event{Description: "https://zoom.us/j/81234567890?pwd=x\nPasscode: 314 159\nJoin by SIP\n81234567890@zoomcrc.com"},
		uri: "sips:81234567890@zoomcrc.com", pass: "314159", from: FromSIP},
	{name: "zoom sip: link with the passcode in its user part",
		ev:  Event{Description: "sip:81234567890.314159@zoomcrc.com"},
		uri: "sips:81234567890@zoomcrc.com;passcode-via=user", pass: "314159", from: FromSIP},
	{name: "an alphanumeric passcode is not sent",
		ev:  Event{Description: "Join by SIP\n81234567890@zoomcrc.com\nPasscode: 3x1415"},
		uri: "sip:81234567890@zoomcrc.com", from: FromSIP},
	{name: "a password that is not the meeting's is not sent",
		ev:  Event{Description: "Video: sip:4711@pbx.example.com\nWi-Fi password: 12345678\nthe password: 999"},
		uri: "sip:4711@pbx.example.com", from: FromSIP},
	{name: "an e-mail address is not a video address",
		ev:  Event{Description: "Organiser: alice@example.com\nRoom 4"},
		why: WhyNoLink},
	{name: "a labelled address on the line before is",
		ev:  Event{Description: "Video system:\nboardroom@video.example.com"},
		uri: "sip:boardroom@video.example.com", from: FromSIP},
	{name: "teams CVI from HTML",
		ev: Event{HTML: `<p>Join with a video conferencing device</p><p>acme&#64;t.plcm.vc</p><p>Video Conference ID:&nbsp;<span>111 222 333</span></p>` +
			`<a href="https://teams.microsoft.com/l/meetup-join/x">Join</a>`},
		uri: "sip:acme@t.plcm.vc;dtmf=111222333%23", from: FromGateway},
	{name: "teams rule without a tenant in the invitation",
		ev:    Event{Description: "https://teams.microsoft.com/l/meetup-join/x\nVideo Conference ID: 111 222 333"},
		rules: DialRules{Teams: Rule{Dial: "{tenant}.{conference}@t.plcm.vc"}},
		why:   "a Microsoft Teams meeting without a CVI address; the Teams dial rule needs {tenant}"},
	{name: "teams rule without a tenant pattern",
		ev:    Event{Description: "https://teams.microsoft.com/l/meetup-join/x\nVideo Conference ID: 111 222 333"},
		rules: DialRules{Teams: Rule{Dial: "{conference}@cvi.example.com"}},
		uri:   "sip:111222333@cvi.example.com", from: FromDialRule},
	{name: "a Meet code cannot be sent as DTMF",
		ev:    Event{Description: "https://meet.google.com/abc-defg-hij"},
		rules: DialRules{Meet: Rule{Dial: "gw.example.com", DTMF: "{meeting}#"}},
		why:   "the Google Meet dial rule does not make a SIP address for this meeting"},
	{name: "a zoom rule but no meeting ID",
		ev:    Event{Description: "https://zoom.us/my/someone"},
		rules: DialRules{Zoom: Rule{Dial: "{meeting}@zoomcrc.com"}},
		why:   "a Zoom meeting link without a meeting ID to dial"},
	{name: "a link with credentials is refused for them",
		ev:  Event{Description: "https://alice:s3cret@zoom.us/j/1"},
		why: "meeting link carries a user name or password; put the secret in pin= or token="},
	{name: "a broken roomd link beats a service link",
		ev:  Event{Description: "https://zoom.us/j/81234567890 janus+wss://s.example.com/j"},
		why: "janus link needs room=<id>"},
	{name: "a sips: link is never downgraded",
		ev:  Event{Description: "Video: sips:4711@pbx.example.com\nConference ID: 99"},
		uri: "sips:4711@pbx.example.com;dtmf=99%23", from: FromSIP},
	{name: "sip link in angle brackets with trailing dot",
		ev:  Event{Description: "Call <sip:room@192.0.2.10>."},
		uri: "sip:room@192.0.2.10", from: FromSIP},
	{name: "bare number without a default domain",
		ev:  Event{Description: "SIP: 4711"},
		why: "a video address without a domain; this organisation has no default SIP domain dial rule"},
}

func TestExtract(t *testing.T) {
	for _, tt := range extractTests {
		d := Extract(tt.ev, tt.rules)
		if d.Why != tt.why || (tt.why == "" && (d.Link.URI != tt.uri || d.Link.Secret != tt.pass || d.From != tt.from)) {
			t.Errorf("%s: Extract = %s (from %q, passcode %q) why %q\nwant %s (from %q, passcode %q) why %q",
				tt.name, d.Link.URI, d.From, d.Link.Secret, d.Why, tt.uri, tt.from, tt.pass, tt.why)
		}
		checkDial(t, d)
		// The table's passcodes appear nowhere else in their invitations.
		if p := d.Link.Secret; p != "" && (strings.Contains(d.Link.URI, p) || strings.Contains(d.Link.String(), p) || strings.Contains(d.Why, p)) {
			t.Errorf("%s: %q shows its passcode", tt.name, d.Link.URI)
		}
	}
}

// checkDial holds for every extraction: a joinable dial parses again as
// shown, without a secret, and a SIP dial with a passcode is sips: (or of a
// transport the link chose).
func checkDial(t *testing.T, d Dial) {
	t.Helper()
	if d.Why != "" {
		if d.From != "" || d.Link.Secret != "" && d.Link.Provider == meetinglink.SIP {
			t.Fatalf("unjoinable dial %+v has a source or a SIP passcode", d)
		}
		return
	}
	l, err := meetinglink.Parse(d.Link.URI)
	if err != nil {
		t.Fatalf("dial %q does not parse: %v", d.Link.URI, err)
	}
	if l.Provider == meetinglink.SIP && l.Secret != "" {
		t.Fatalf("the shown SIP link %q carries a secret", d.Link.URI)
	}
	if p := d.Link.Secret; p != "" {
		if l.Provider == meetinglink.SIP && !strings.HasPrefix(d.Link.URI, "sips:") && d.Link.Transport == "" {
			t.Fatalf("dial %q with a passcode is not sips:", d.Link.URI)
		}
	}
	if d.From == "" {
		t.Fatalf("joinable dial %+v has no source", d)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		`<p>Meeting ID:&nbsp;<b>812</b> 3456</p><p>Passcode: 1</p>`:         "\nMeeting ID: 812 3456\n\nPasscode: 1\n",
		`<a href="https://x.example/a?b=1&amp;c=2">Join</a>`:                " https://x.example/a?b=1&c=2 Join",
		`<A HREF='sip:a@b.example'>x</A>`:                                   " sip:a@b.example x",
		`<a title="href=x" href=sip:q@r.example>y</a>`:                      " sip:q@r.example y",
		`a<script>sip:x@evil.example</script>b<style>p{}</style>c`:          "abc",
		`a<!-- sip:x@evil.example -->b<!-- never closed sip:y@evil.example`: "ab",
		`a<b`:                               "a",
		`<br/>x<br />y<BR>z`:                "\nx\ny\nz",
		`x &lt;sip:a@b.example&gt; y`:       "x <sip:a@b.example> y",
		`<script>never closed`:              "",
		`<head><title>t</title></head>body`: "body",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

// Hostile HTML costs linear time: a large body of unclosed tags,
// comments, nested anchors and entities is read within a second.
func TestTextIsBounded(t *testing.T) {
	for _, unit := range []string{"<", "<a href=", "<!--", "<script>", "&#", "<p>", `<a href="x">`, "<a " + strings.Repeat("href", 10)} {
		in := strings.Repeat(unit, MaxText*4/len(unit))
		start := time.Now()
		out := Text(in)
		if d := time.Since(start); d > time.Second || len(out) > 2*MaxText {
			t.Errorf("Text(%q × %d) took %v and made %d bytes", unit, MaxText*4/len(unit), d, len(out))
		}
		start = time.Now()
		Extract(Event{Description: in, HTML: in, Location: in}, DialRules{DefaultDomain: "v.example.com"})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Extract on %q × %d took %v", unit, MaxText*4/len(unit), d)
		}
	}
}

func TestDialRulesValidate(t *testing.T) {
	good := []DialRules{
		{},
		{DefaultDomain: "video.example.com:5061"},
		{Zoom: Rule{Dial: "{meeting}.{passcode}@zoomcrc.com"}},
		{Zoom: Rule{Dial: "zoomcrc.com", DTMF: "{meeting}#"}},
		{Zoom: Rule{Dial: "sips:{meeting}@zoomcrc.com;transport=tls"}},
		{Teams: Rule{Dial: "{tenant}.{conference}@t.plcm.vc"}},
		{Teams: Rule{Dial: "{conference}@cvi.example.com"}},
		{Webex: Rule{Dial: "{meeting}@acme.webex.com"}},
		{Meet: Rule{Dial: "{meeting}@gmeet.example.com"}},
		{Jitsi: Rule{Dial: "sip:{meeting}@[2001:db8::1]:5061;transport=tcp"}},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", r, err)
		}
	}
	bad := map[string]DialRules{
		"dial_rules.default_domain":                      {DefaultDomain: "video example"},
		"dial_rules.zoom: dtmf without dial":             {Zoom: Rule{DTMF: "{meeting}#"}},
		"dial_rules.zoom: dial or dtmf must use":         {Zoom: Rule{Dial: "zoomcrc.com"}},
		"{passcode} may only end the user part":          {Zoom: Rule{Dial: "{passcode}.{meeting}@zoomcrc.com"}},
		"dtmf may not name {passcode}":                   {Zoom: Rule{Dial: "zoomcrc.com", DTMF: "{meeting}#{passcode}#"}},
		"placeholders belong in the user part":           {Webex: Rule{Dial: "{meeting}@{tenant}.webex.com"}},
		"a placeholder other than":                       {Meet: Rule{Dial: "{meeting}{room}@gw.example.com"}},
		"may carry only ;transport=":                     {Meet: Rule{Dial: "{meeting}@gw.example.com;pin=1"}},
		"dial_rules.jitsi: dial":                         {Jitsi: Rule{Dial: "{meeting}@gw.example.com;transport=sctp"}},
		"dial_rules.teams: dial \"{tenant}@\" with dtmf": {Teams: Rule{Dial: "{tenant}@", DTMF: "{meeting}"}},
	}
	for want, r := range bad {
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "invite: ") {
			t.Errorf("Validate(%+v) = %v, want an error with %q", r, err, want)
		}
	}
}

// FuzzExtract feeds anything to the extractor, as every field and as
// HTML: it must not panic, must stay fast, and what it returns must be
// consistent (checkDial).
func FuzzExtract(f *testing.F) {
	for _, tt := range extractTests {
		f.Add(tt.ev.Description+tt.ev.Location, tt.ev.HTML)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "schedule", "testdata", "invitations", "*.ics"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add("Join with a video conferencing device\nx@t.plcm.vc\nVideo Conference ID: 1", "<p>sip:a@b.example;dtmf=1%23</p>")
	rules := DialRules{DefaultDomain: "video.example.com", Zoom: Rule{Dial: "{meeting}.{passcode}@zoomcrc.com"},
		Teams: Rule{Dial: "{tenant}.{conference}@t.plcm.vc"}, Meet: Rule{Dial: "{meeting}@gmeet.example.com"},
		Jitsi: Rule{Dial: "{meeting}@jigasi.example.com"}, Webex: Rule{Dial: "{meeting}@acme.webex.com"}}
	f.Fuzz(func(t *testing.T, text, html string) {
		ev := Event{URLs: []string{text}, Location: text, Description: text, HTML: html}
		start := time.Now()
		for _, r := range []DialRules{{}, rules} {
			checkDial(t, Extract(ev, r))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}
