package whip

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/pion/webrtc/v4"
)

var linkTests = []struct {
	name   string
	header []string
	want   []webrtc.ICEServer
}{
	{"none", nil, nil},
	{"RFC 9725 example", []string{
		`<stun:stun.example.net>; rel="ice-server"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"`,
		`<turn:turn.example.net?transport=tcp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"`,
		`<turns:turn.example.net?transport=tcp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"`,
	}, []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: "user", Credential: "myPassword"},
		{URLs: []string{"turn:turn.example.net?transport=tcp"}, Username: "user", Credential: "myPassword"},
		{URLs: []string{"turns:turn.example.net?transport=tcp"}, Username: "user", Credential: "myPassword"},
	}},
	{"one field, comma separated, odd spacing", []string{
		`<stun:a.example>;rel=ice-server,<turn:b.example>  ;  rel = "ice-server" ; username=u ; credential="p,w;d"`,
	}, []webrtc.ICEServer{
		{URLs: []string{"stun:a.example"}},
		{URLs: []string{"turn:b.example"}, Username: "u", Credential: "p,w;d"},
	}},
	{"escapes in quoted strings", []string{`<turn:c.example>; rel="ice-server"; username="a\"b"; credential="x\\y"`},
		[]webrtc.ICEServer{{URLs: []string{"turn:c.example"}, Username: `a"b`, Credential: `x\y`}}},
	{"several relation types, case", []string{`<STUN:d.example>; REL="preload ICE-Server"`},
		[]webrtc.ICEServer{{URLs: []string{"STUN:d.example"}}}},
	{"other relations and schemes skipped", []string{
		`</style.css>; rel="stylesheet"`,
		`<https://e.example/>; rel="ice-server"`,
		`<stun:f.example>; rel="ice-server"`,
	}, []webrtc.ICEServer{{URLs: []string{"stun:f.example"}}}},
	{"OAuth credentials skipped", []string{`<turn:g.example>; rel="ice-server"; username="u"; credential="t"; credential-type="oauth"`}, nil},
	{"first of a repeated parameter wins", []string{`<turn:h.example>; rel="ice-server"; username="one"; username="two"`},
		[]webrtc.ICEServer{{URLs: []string{"turn:h.example"}, Username: "one"}}},
	{"garbage after a good link", []string{`<stun:i.example>; rel="ice-server", junk <stun:j.example>; rel="ice-server"`},
		[]webrtc.ICEServer{{URLs: []string{"stun:i.example"}}}},
	{"unterminated", []string{`<stun:k.example`, `<stun:l.example>; rel="ice-server`, `<stun:m.example>; rel=`}, nil},
}

func TestICEServersFromLinks(t *testing.T) {
	for _, tc := range linkTests {
		h := http.Header{}
		for _, v := range tc.header {
			h.Add("Link", v)
		}
		if got := ICEServersFromLinks(h); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func FuzzICEServersFromLinks(f *testing.F) {
	for _, tc := range linkTests {
		for _, v := range tc.header {
			f.Add(v)
		}
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Link": {v}}
		for _, s := range ICEServersFromLinks(h) {
			if len(s.URLs) != 1 || !iceURI(s.URLs[0]) {
				t.Fatalf("%q gave %+v", v, s)
			}
		}
	})
}
