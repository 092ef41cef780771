package siptest

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// Every file of testdata/hostile reads as a request with outcomes and
// transports, and its sipp scenario is well-formed XML that cancels a
// ringing INVITE and acknowledges a refused one with the INVITE's branch.
func TestHostileRequestsRead(t *testing.T) {
	hs, err := HostileRequests()
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) < 20 {
		t.Fatalf("%d hostile requests; testdata/hostile has more", len(hs))
	}
	for _, h := range hs {
		for _, tr := range h.Transports {
			if tr != "udp" && tr != "tcp" {
				t.Errorf("%s: transport %q", h.Name, tr)
			}
		}
		if h.Method == "INVITE" && h.Allows(200) {
			t.Errorf("%s allows a 200 to an INVITE", h.Name)
		}
		if strings.Contains(h.Message, "{{") {
			t.Errorf("%s: a mark is left unexpanded", h.Name)
		}
		sc := h.scenario(500e6)
		dec := xml.NewDecoder(strings.NewReader(sc))
		dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil } // ASCII
		if err := dec.Decode(new(struct{})); err != nil {
			t.Errorf("%s: scenario is not XML: %v", h.Name, err)
		}
		withVia := strings.Contains(h.Message, "branch=[branch]")
		if h.Method == "INVITE" && (!strings.Contains(sc, "\nCANCEL ") || !strings.Contains(sc, "\nACK ") ||
			withVia && strings.Count(sc, "branch="+probeBranch) != 3) {
			t.Errorf("%s: scenario lacks a CANCEL and an ACK on the INVITE's branch:\n%s", h.Name, sc)
		}
	}
	if _, err := parseHostile("x", "# want: 2xx\n# transports: udp\nOPTIONS sip:x SIP/2.0\n"); err == nil {
		t.Error("a want of 2xx was read")
	}
	if _, err := parseHostile("x", "OPTIONS sip:x SIP/2.0\n"); err == nil {
		t.Error("a request without want and transports was read")
	}
	h, err := parseHostile("x", "# want: drop\n# transports: udp\nOPTIONS sip:x SIP/2.0\nX: {{repeat a\\tb 3}}\n")
	if err != nil || !strings.Contains(h.Message, "X: a\tba\tba\tb\n") {
		t.Errorf("repeat mark: %q, %v", h.Message, err)
	}
}

// The outcome is the final answer to the request itself: the probe's
// CANCEL and its 200 do not count, a ring that ends in 487 is Rang.
func TestHostileOutcome(t *testing.T) {
	for _, tc := range []struct {
		got  []string
		want int
	}{
		{nil, Dropped},
		{[]string{"SIP/2.0 100 Trying | CSeq: 1 INVITE"}, Dropped},
		{[]string{"SIP/2.0 400 Bad Request"}, 400},
		{[]string{"SIP/2.0 100 Trying | CSeq: 1 INVITE", "SIP/2.0 488 Not Acceptable Here | CSeq: 1 INVITE"}, 488},
		{[]string{"SIP/2.0 180 Ringing | CSeq: 1 INVITE", "SIP/2.0 200 OK | CSeq: 1 CANCEL", "SIP/2.0 487 Request Terminated | CSeq: 1 INVITE"}, Rang},
		{[]string{"SIP/2.0 180 Ringing | CSeq: 1 INVITE", "SIP/2.0 200 OK | CSeq: 1 INVITE"}, 200},
		{[]string{"SIP/2.0 180 Ringing | CSeq: 1 INVITE"}, Rang},
		{[]string{"SIP/2.0 400 CSeq method does not match the request | CSeq: 1 BYE"}, 400},
	} {
		if got := outcome("INVITE", tc.got); got != tc.want {
			t.Errorf("%q: outcome %d, want %d", tc.got, got, tc.want)
		}
	}
}

// sipp's message trace and error log read back as responses with their
// CSeq, quoted ones (an answer sipp could not match) included.
func TestSippResponses(t *testing.T) {
	log := "----------------------------------------------- 2026-12-07 09:53:24.422439\n" +
		"UDP message sent (261 bytes):\n\nOPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n\n" +
		"----------------------------------------------- 2026-12-07 09:53:24.423033\n" +
		"UDP message received [428] bytes :\n\nSIP/2.0 400 Bad Request\r\nVia: x\r\nCSeq: 1 OPTIONS\r\n\r\n\n" +
		"2026-12-07\t09:51:26.255468\t1796637086.255468: (1) No valid Call-ID: header in reply 'SIP/2.0 200 OK\nVia: y\n'\n"
	got := responses(log)
	want := []string{"SIP/2.0 400 Bad Request | CSeq: 1 OPTIONS", "SIP/2.0 200 OK"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("responses %q, want %q", got, want)
	}
}
