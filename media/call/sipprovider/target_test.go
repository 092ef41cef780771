package sipprovider

import (
	"errors"
	"strings"
	"testing"

	"github.com/roomd/roomd/media/call/provider"
)

func TestDialTarget(t *testing.T) {
	for _, tc := range []struct {
		link, passcode  string
		uri, dtmf, host string
	}{
		{"sip:room@192.0.2.7", "", "sip:room@192.0.2.7", "", "192.0.2.7"},
		{"sip:room@192.0.2.7;transport=tcp", "", "sip:room@192.0.2.7;transport=tcp", "", "192.0.2.7"},
		{"sip:room@192.0.2.7;transport=udp", "", "sip:room@192.0.2.7;transport=udp", "", "192.0.2.7"},
		{"sips:123456789@zoomcrc.com;dtmf=1", "4321", "sips:123456789@zoomcrc.com", "1,4321#", "zoomcrc.com"},
		{"sips:123456789@zoomcrc.com;passcode-via=user", "4321", "sips:123456789.4321@zoomcrc.com", "", "zoomcrc.com"},
		{"sip:[2001:db8::1]:5070", "", "sip:[2001:db8::1]:5070", "", "2001:db8::1"},
	} {
		uri, dtmf, host, err := dialTarget(provider.Target{Endpoint: tc.link}, tc.passcode)
		if err != nil || uri != tc.uri || dtmf != tc.dtmf || host != tc.host {
			t.Errorf("%s (passcode %q) = %q, %q, %q, %v; want %q, %q, %q", tc.link, tc.passcode, uri, dtmf, host, err, tc.uri, tc.dtmf, tc.host)
		}
		if r := redactUser(uri); tc.passcode != "" && strings.Contains(r, tc.passcode) {
			t.Errorf("redactUser(%q) = %q shows the passcode", uri, r)
		}
	}
	if _, _, _, err := dialTarget(provider.Target{Endpoint: "janus+wss://x/?room=1"}, ""); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a Janus link: err = %v, want ErrNotFound", err)
	}
}
