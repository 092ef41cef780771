package sdp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/pion/rtcp"
)

// call is two rooms that negotiated: a offered, b answered.
type call struct {
	a, b       *Session
	negA, negB *Negotiated
}

func negotiate(t *testing.T, modA, modB func(*Config)) (call, error) {
	t.Helper()
	c := call{
		a: newSession(t, roomConfig("192.0.2.1", 40000, modA)),
		b: newSession(t, roomConfig("192.0.2.2", 50000, modB)),
	}
	offer, err := c.a.Offer(SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	answer, negB, err := c.b.Answer(offer, SendRecv)
	if err != nil {
		return c, err
	}
	negA, err := c.a.Answered(answer)
	if err != nil {
		t.Fatalf("roomd refuses its own answer: %v\n%s", err, answer)
	}
	c.negA, c.negB = negA, negB
	return c, nil
}

// TestRoundTrip: roomd calls roomd under each pair of policies; both ends
// agree on codecs, addresses and keys, and SRTP packets cross both ways.
func TestRoundTrip(t *testing.T) {
	pref := func(c *Config) { c.Encryption = EncryptionPreferred }
	off := func(c *Config) { c.Encryption = EncryptionOff }
	dtls := func(c *Config) { withDTLS(c); c.Keying = KeyingDTLS }
	for _, tc := range []struct {
		name       string
		modA, modB func(*Config)
		method     Method
		refused    error
	}{
		{"required to required", nil, nil, SDES, nil},
		{"required AVPF to required", func(c *Config) { c.AVPF = true }, nil, SDES, nil},
		{"preferred to preferred", pref, pref, SDES, nil},
		{"preferred to off", pref, off, Plain, nil},
		{"off to preferred", off, pref, Plain, nil},
		{"off to required", off, nil, 0, ErrPlainRTP},
		{"required to off", nil, off, SDES, nil}, // off still answers an offer that needs SRTP
		{"DTLS to DTLS", dtls, withDTLS, DTLSSRTP, nil},
		{"DTLS to a room without a certificate", dtls, nil, 0, ErrNoDTLS},
		{"SDES to a room with a certificate", nil, withDTLS, SDES, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := negotiate(t, tc.modA, tc.modB)
			if tc.refused != nil {
				if !errors.Is(err, tc.refused) {
					t.Fatalf("error %v, want %v", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, pair := range [][2]*Stream{{c.negA.Audio, c.negB.Audio}, {c.negA.Video, c.negB.Video}} {
				checkPair(t, pair[0], pair[1], tc.method)
			}
			if c.negA.Audio.Remote != netip.MustParseAddrPort("192.0.2.2:50000") || c.negB.Video.Remote != netip.MustParseAddrPort("192.0.2.1:40002") {
				t.Errorf("remote addresses %v, %v", c.negA.Audio.Remote, c.negB.Video.Remote)
			}
			if !c.negA.Audio.RTCPMux || c.negA.Audio.RemoteRTCP != c.negA.Audio.Remote {
				t.Errorf("rtcp-mux not taken: %v", c.negA.Audio.RemoteRTCP)
			}
			if codecID(c.negA.Audio) != "opus 111" || codecID(c.negA.Video) != "H264 96" || c.negA.Audio.DTMF.ClockRate != 48000 {
				t.Errorf("a sends %v, %v, events %v", c.negA.Audio.Codec(), c.negA.Video.Codec(), c.negA.Audio.DTMF)
			}
			if c.negA.Video.Feedback != (Feedback{NACK: true, PLI: true, FIR: true, TMMBR: true, REMB: true}) {
				t.Errorf("feedback %+v", c.negA.Video.Feedback)
			}
			if got := c.negA.CryptoStatus(); got != c.negA.Audio.Crypto.String() || got == "" {
				t.Errorf("crypto status %q", got)
			}
		})
	}
}

// checkPair checks the two ends of one stream against each other.
func checkPair(t *testing.T, a, b *Stream, method Method) {
	t.Helper()
	if a == nil || b == nil {
		t.Fatalf("streams %v and %v", a, b)
	}
	if a.Crypto.Method != method || b.Crypto.Method != method {
		t.Fatalf("%v: %v and %v, want method %d", a.Kind, a.Crypto, b.Crypto, method)
	}
	if a.Codec().Name != b.Codec().Name || a.Codec().PT != b.Codec().ReceivePT || b.Codec().PT != a.Codec().ReceivePT {
		t.Errorf("%v: a sends %v, b sends %v", a.Kind, a.Codec(), b.Codec())
	}
	if len(a.Codecs) != len(b.Codecs) {
		t.Errorf("%v: %d and %d common codecs", a.Kind, len(a.Codecs), len(b.Codecs))
	}
	switch method {
	case SDES:
		if !a.Crypto.Local.Equal(b.Crypto.Remote) || !b.Crypto.Local.Equal(a.Crypto.Remote) || a.Crypto.Local.Equal(b.Crypto.Local) {
			t.Fatalf("%v: keys do not cross", a.Kind)
		}
		if a.Crypto.Suite != b.Crypto.Suite || a.Crypto.Tag != b.Crypto.Tag {
			t.Errorf("%v: suites %v/%d and %v/%d", a.Kind, a.Crypto.Suite, a.Crypto.Tag, b.Crypto.Suite, b.Crypto.Tag)
		}
		sendAcross(t, a, b)
		sendAcross(t, b, a)
	case DTLSSRTP:
		if a.Crypto.Role == b.Crypto.Role || a.Crypto.RemoteFingerprints[0] != testFingerprint {
			t.Errorf("%v: roles %v and %v, fingerprints %v", a.Kind, a.Crypto.Role, b.Crypto.Role, a.Crypto.RemoteFingerprints)
		}
		if _, _, err := a.Crypto.Contexts(); err == nil {
			t.Error("DTLS stream built SDES contexts")
		}
	}
}

// sendAcross protects an RTCP key-frame request (a PLI) with from's
// contexts and opens it with to's (srtpkey's tests cover RTP).
func sendAcross(t *testing.T, from, to *Stream) {
	t.Helper()
	enc, _, err := from.Crypto.Contexts()
	if err != nil {
		t.Fatal(err)
	}
	_, dec, err := to.Crypto.Contexts()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := (&rtcp.PictureLossIndication{SenderSSRC: 7, MediaSSRC: 9}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := enc.EncryptRTCP(nil, raw, nil)
	if err != nil || bytes.Equal(sealed[8:12], raw[8:12]) {
		t.Fatalf("%v: the PLI is not encrypted (%v)", from.Kind, err)
	}
	opened, err := dec.DecryptRTCP(nil, sealed, nil)
	if err != nil || !bytes.Equal(opened, raw) {
		t.Fatalf("%v: the far end cannot open the PLI: %v", from.Kind, err)
	}
}

// TestHoldResume: hold and resume by re-offer, from the offerer and from
// the answerer; the o= version moves only when the body changes, and keys
// stay.
func TestHoldResume(t *testing.T) {
	c, err := negotiate(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyA := c.negA.Audio.Crypto.Local
	versionOf := func(body []byte) uint64 { return reparseOrigin(t, body) }
	reinvite := func(from, to *Session, dir Direction) (fromNeg, toNeg *Negotiated, offerVersion uint64) {
		t.Helper()
		offer, err := from.Offer(dir)
		if err != nil {
			t.Fatal(err)
		}
		answer, toNeg, err := to.Answer(offer, SendRecv)
		if err != nil {
			t.Fatalf("re-offer refused: %v\n%s", err, offer)
		}
		fromNeg, err = from.Answered(answer)
		if err != nil {
			t.Fatal(err)
		}
		return fromNeg, toNeg, versionOf(offer)
	}
	first := c.a.version
	negA, negB, v := reinvite(c.a, c.b, SendOnly)
	if v != first+1 || negA.Audio.Direction != SendOnly || negB.Audio.Direction != RecvOnly || negB.Video.Direction != RecvOnly {
		t.Errorf("hold: version %d (was %d), a %v, b %v/%v", v, first, negA.Audio.Direction, negB.Audio.Direction, negB.Video.Direction)
	}
	if _, _, again := reinvite(c.a, c.b, SendOnly); again != v {
		t.Errorf("the same hold again moved the version from %d to %d", v, again)
	}
	negA, negB, v2 := reinvite(c.a, c.b, SendRecv)
	if v2 != v+1 || negA.Audio.Direction != SendRecv || negB.Audio.Direction != SendRecv {
		t.Errorf("resume: version %d, a %v, b %v", v2, negA.Audio.Direction, negB.Audio.Direction)
	}
	if !negA.Audio.Crypto.Local.Equal(keyA) || !negB.Audio.Crypto.Remote.Equal(keyA) {
		t.Error("re-offers changed roomd's key")
	}
	// The answerer holds with inactive.
	negB, negA, _ = reinvite(c.b, c.a, Inactive)
	if negB.Audio.Direction != Inactive || negA.Audio.Direction != Inactive || negA.Video.Direction != Inactive {
		t.Errorf("inactive hold: b %v, a %v/%v", negB.Audio.Direction, negA.Audio.Direction, negA.Video.Direction)
	}
	if codecID(negA.Audio) != "opus 111" || codecID(negB.Video) != "H264 96" {
		t.Errorf("codecs changed on re-offer: %v, %v", negA.Audio.Codec(), negB.Video.Codec())
	}
}

func reparseOrigin(t *testing.T, body []byte) uint64 {
	t.Helper()
	rs := reparse(t, body)
	return rs.origin.SessionVersion
}

// TestReofferKeepsLayout: after answering Cisco's four m-lines, roomd's
// own re-offer (hold) keeps all four, the two it rejected at port 0.
func TestReofferKeepsLayout(t *testing.T) {
	s := newSession(t, roomConfig("192.0.2.1", 40000, withG722))
	offer := fixture(t, "offers/cisco-ce.sdp")
	if _, _, err := s.Answer(offer, SendRecv); err != nil {
		t.Fatal(err)
	}
	body, err := s.Offer(SendOnly)
	if err != nil {
		t.Fatal(err)
	}
	rs := reparse(t, body)
	orig, _ := parse(offer)
	if len(rs.media) != 4 {
		t.Fatalf("re-offer has %d m-lines, want 4", len(rs.media))
	}
	for i, m := range rs.media {
		if m.media != orig.media[i].media || m.proto != orig.media[i].proto || (m.port == 0) != (i >= 2) {
			t.Errorf("m-line %d: %s %d %s, offered %s %s", i, m.media, m.port, m.proto, orig.media[i].media, orig.media[i].proto)
		}
	}
	a, v := rs.media[0], rs.media[1]
	if a.dir != SendOnly || v.dir != SendOnly || len(a.crypto) != 1 || a.crypto[0].tag != 1 {
		t.Errorf("held audio %v crypto %+v, video %v", a.dir, a.crypto, v.dir)
	}
	if got := fmt.Sprint(a.pts); got != "[9 0 8 105]" {
		t.Errorf("re-offered audio formats %v, want the common ones, G.722 first", got)
	}
	// Cisco answers the hold with recvonly.
	answer := edit(t, offer, "a=sendrecv", "a=recvonly")
	answer = edit(t, answer, "m=video 2352", "m=video 0", "m=application 5070", "m=application 0")
	neg, err := s.Answered(answer)
	if err != nil {
		t.Fatal(err)
	}
	if neg.Audio.Direction != SendOnly || neg.Video.Direction != SendOnly || neg.Audio.Codec().Name != G722 {
		t.Errorf("after hold: %v", neg)
	}
}
