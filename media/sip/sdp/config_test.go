package sdp

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

func TestPolicyStrings(t *testing.T) {
	for s, want := range map[string]Policy{"": EncryptionRequired, "required": EncryptionRequired, "Preferred": EncryptionPreferred, "off": EncryptionOff} {
		got, err := ParsePolicy(s)
		if err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %v, %v", s, got, err)
		}
	}
	if p, err := ParsePolicy("sometimes"); err == nil || p != EncryptionRequired || !strings.Contains(err.Error(), "use required, preferred or off") {
		t.Errorf("ParsePolicy(sometimes) = %v, %v; want required and an error", p, err)
	}
	for p, want := range map[Policy]string{EncryptionRequired: "required", EncryptionPreferred: "preferred", EncryptionOff: "off", 7: "Policy(7)"} {
		if p.String() != want {
			t.Errorf("%d: %q", int(p), p.String())
		}
	}
	var zero Config
	if zero.Encryption != EncryptionRequired {
		t.Error("the zero Config does not require encryption")
	}
}

func TestDirections(t *testing.T) {
	for _, tc := range []struct {
		d                  Direction
		name               string
		sends, receives    bool
		reverse, withHeldD Direction
	}{
		{SendRecv, "sendrecv", true, true, SendRecv, SendOnly},
		{SendOnly, "sendonly", true, false, RecvOnly, SendOnly},
		{RecvOnly, "recvonly", false, true, SendOnly, Inactive},
		{Inactive, "inactive", false, false, Inactive, Inactive},
	} {
		if tc.d.String() != tc.name || tc.d.Sends() != tc.sends || tc.d.Receives() != tc.receives ||
			tc.d.reverse() != tc.reverse || tc.d.and(SendOnly) != tc.withHeldD {
			t.Errorf("%v: %v %v %v %v", tc.name, tc.d.Sends(), tc.d.Receives(), tc.d.reverse(), tc.d.and(SendOnly))
		}
	}
	if Direction(9).String() != "Direction(9)" || Kind(5).String() != "Kind(5)" || Method(4).String() != "Method(4)" || Keying(3).String() != "Keying(3)" {
		t.Error("unknown values print badly")
	}
	for v, want := range map[fmt.Stringer]string{
		Audio: "audio", Video: "video", Plain: "plain RTP", SDES: "SDES", DTLSSRTP: "DTLS-SRTP",
		KeyingSDES: "SDES", KeyingDTLS: "DTLS", DTLSClient: "client", DTLSServer: "server",
	} {
		if v.String() != want {
			t.Errorf("%#v prints %q, want %q", v, v.String(), want)
		}
	}
}

func TestConfigRefusals(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no address":      func(c *Config) { c.Address = netip.Addr{} },
		"0.0.0.0":         func(c *Config) { c.Address = netip.IPv4Unspecified() },
		"no audio port":   func(c *Config) { c.AudioPort = 0 },
		"port too high":   func(c *Config) { c.VideoPort = 65535 },
		"DTLS without fp": func(c *Config) { c.Keying = KeyingDTLS },
		"bad policy":      func(c *Config) { c.Encryption = 5 },
		"unknown audio":   func(c *Config) { c.AudioCodecs = []string{"G729"} },
		"unknown video":   func(c *Config) { c.VideoCodecs = []string{"H265"} },
		"no audio codec":  func(c *Config) { c.AudioCodecs = []string{} },
		"short rand":      func(c *Config) { c.Rand = strings.NewReader("short") },
	} {
		if _, err := NewSession(roomConfig("192.0.2.1", 40000, mod)); err == nil || !strings.HasPrefix(err.Error(), "sdp: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := newSession(t, roomConfig("2001:db8::1", 40000, func(c *Config) { c.AudioCodecs = []string{PCMA}; c.VideoPort = 0 }))
	body, err := s.Offer(SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	rs := reparse(t, body)
	if len(rs.media) != 1 || rs.media[0].addr.String() != "2001:db8::1" || !bytes.Contains(body, []byte("c=IN IP6 2001:db8::1")) {
		t.Errorf("IPv6 audio-only offer:\n%s", body)
	}
	if got := fmt.Sprint(rs.media[0].pts); got != "[8 101]" {
		t.Errorf("PCMA-only offer formats %s", got)
	}
	s = newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) {
		c.AudioCodecs = []string{"OPUS", G722, "pcmu", PCMA, "Opus"}
		c.VideoCodecs = []string{"vp8", "VP8"}
	}))
	body, err = s.Offer(SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	rs = reparse(t, body)
	if a := rs.media[0]; fmt.Sprint(a.pts) != "[111 9 0 8 101 110]" || a.format(9) != (rtpmap{G722, 8000, 0}) || a.format(111).name != Opus {
		t.Errorf("offer with G.722: formats %v, 9 is %v, 111 is %v", a.pts, a.format(9), a.format(111))
	}
	if v := rs.media[1]; fmt.Sprint(v.pts) != "[98]" || v.format(98).name != VP8 {
		t.Errorf("VP8-only offer formats %v", v.pts)
	}
}

// TestSecretsStayOut: summaries, errors and logs of a negotiation show no
// key, and Redact takes the keys and ICE password out of a body.
func TestSecretsStayOut(t *testing.T) {
	s := newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) {
		c.ICE = &ICE{Ufrag: "roomufrag", Pwd: "roomicepassword0123456789", Candidates: []string{"1 1 udp 1 192.0.2.1 40000 typ host"}}
	}))
	offer := edit(t, fixture(t, "offers/webrtc-dtls-ice.sdp"), "UDP/TLS/RTP/SAVPF", "RTP/SAVPF",
		"a=setup:actpass", "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj")
	answer, neg, err := s.Answer(offer, SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if neg.Audio.Crypto.Method != SDES || neg.Audio.ICE == nil || !bytes.Contains(answer, []byte("a=ice-pwd:roomicepassword")) {
		t.Fatalf("negotiated %v, ICE %v\n%s", neg, neg.Audio.ICE, answer)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("call", "neg", neg, "audio", neg.Audio, "crypto", neg.Audio.Crypto)
	outs := []string{logged.String(), neg.String(), fmt.Sprintf("%+v", *neg.Audio), fmt.Sprintf("%#v", neg.Audio.Crypto),
		fmt.Sprintf("%+v %#v", *neg.Audio.ICE, *neg.Audio.ICE), string(Redact(answer)), string(Redact(offer))}
	secrets := []string{
		strings.TrimPrefix(neg.Audio.Crypto.Local.Inline(), "inline:"), "NzB4d1BINUAvLEw6UzF3WSJ",
		"roomicepassword", "GoQbqNzclssPK7hZfTHBAZK3",
	}
	for _, out := range outs {
		for _, sec := range secrets {
			if strings.Contains(out, sec) {
				t.Errorf("%q shows a secret (%s)", out, sec)
			}
		}
	}
	if r := string(Redact(answer)); !strings.Contains(r, "inline:[redacted]") || !strings.Contains(r, "a=ice-pwd:[redacted]") || !strings.Contains(r, "a=ice-ufrag:roomufrag") {
		t.Errorf("redacted answer:\n%s", r)
	}
}
