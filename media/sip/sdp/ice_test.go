package sdp

import (
	"bytes"
	"strings"
	"testing"
)

// iceOffer is a WebRTC-style offer with ICE, keyed by SDES so a room
// without a DTLS certificate takes it.
func iceOffer(t *testing.T) []byte {
	return edit(t, fixture(t, "offers/webrtc-dtls-ice.sdp"), "UDP/TLS/RTP/SAVPF", "RTP/SAVPF",
		"a=setup:actpass", "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj")
}

func withICE(c *Config) { c.ICE = &ICE{Ufrag: "roomufrg", Pwd: "ROOMPASSWORD234567ABCDEFGH"} }

// TestAnswerICELite: an offer with ICE is answered as an ICE-lite agent:
// a=ice-lite at session level, roomd's credentials and one host candidate
// per component on the ports the media uses.
func TestAnswerICELite(t *testing.T) {
	for _, c := range []struct {
		name       string
		offer      func(*testing.T) []byte
		candidates []string
	}{
		{"rtcp-mux", iceOffer, []string{"a=candidate:1 1 UDP 2130706431 192.0.2.1 40000 typ host"}},
		{"separate RTCP", func(t *testing.T) []byte { return dropLines(t, iceOffer(t), "a=rtcp-mux") }, []string{
			"a=candidate:1 1 UDP 2130706431 192.0.2.1 40000 typ host",
			"a=candidate:1 2 UDP 2130706430 192.0.2.1 40001 typ host",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t, roomConfig("192.0.2.1", 40000, withICE))
			answer, neg, err := s.Answer(c.offer(t), SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			reparse(t, answer)
			body := string(answer)
			head, _, _ := strings.Cut(body, "m=")
			if !strings.Contains(head, "a=ice-lite\r\n") {
				t.Errorf("no session-level a=ice-lite:\n%s", body)
			}
			for _, want := range append([]string{"a=ice-ufrag:roomufrg\r\n", "a=ice-pwd:ROOMPASSWORD234567ABCDEFGH\r\n"}, c.candidates...) {
				if !strings.Contains(body, want) {
					t.Errorf("answer lacks %q:\n%s", want, body)
				}
			}
			if n := strings.Count(body, "a=candidate:"); n != len(c.candidates) {
				t.Errorf("%d candidates, want %d:\n%s", n, len(c.candidates), body)
			}
			a := neg.Audio
			if a.LocalICE == nil || a.LocalICE.Ufrag != "roomufrg" || !a.LocalICE.Lite || a.ICE == nil || a.ICE.Ufrag != "GVWP" {
				t.Errorf("negotiated local ICE %v, remote %v", a.LocalICE, a.ICE)
			}
		})
	}
}

// TestNoICEUnlessOffered: an offer without ICE gets the same answer with
// or without ICE credentials configured, and roomd's own offers carry no
// ICE (as an offerer roomd is not an ICE agent).
func TestNoICEUnlessOffered(t *testing.T) {
	offer := fixture(t, "offers/baresip-plain.sdp")
	answer := func(mod func(*Config)) []byte {
		s := newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) {
			c.Rand, c.Encryption = newSeeded(), EncryptionOff
			if mod != nil {
				mod(c)
			}
		}))
		body, neg, err := s.Answer(offer, SendRecv)
		if err != nil {
			t.Fatal(err)
		}
		if neg.Audio.LocalICE != nil {
			t.Errorf("local ICE %v on an offer without ICE", neg.Audio.LocalICE)
		}
		return body
	}
	if with, without := answer(withICE), answer(nil); !bytes.Equal(with, without) {
		t.Errorf("answer changed by ICE credentials:\n%s\nwithout:\n%s", with, without)
	}
	s := newSession(t, roomConfig("192.0.2.1", 40000, withICE))
	body, err := s.Offer(SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("ice")) || bytes.Contains(body, []byte("candidate")) {
		t.Errorf("roomd's offer carries ICE:\n%s", body)
	}
}

// TestReofferKeepsICE: once a call runs ICE-lite, roomd's re-offers (hold,
// resume) keep its ICE description, credentials and candidates unchanged
// (RFC 8839 §4.4.1: no restart), so the far end keeps its nominated pair.
func TestReofferKeepsICE(t *testing.T) {
	s := newSession(t, roomConfig("192.0.2.1", 40000, withICE))
	answer, _, err := s.Answer(iceOffer(t), SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	hold, err := s.Offer(SendOnly)
	if err != nil {
		t.Fatal(err)
	}
	ice := func(body []byte) []string {
		var out []string
		for l := range strings.Lines(string(body)) {
			if strings.HasPrefix(l, "a=ice-") || strings.HasPrefix(l, "a=candidate:") {
				out = append(out, l)
			}
		}
		return out
	}
	if a, h := ice(answer), ice(hold); len(a) < 4 || strings.Join(a, "") != strings.Join(h, "") {
		t.Errorf("re-offer's ICE %q; answer's %q", h, a)
	}
}
