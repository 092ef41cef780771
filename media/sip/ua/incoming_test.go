package ua

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawRequest is a request as a far end would send it from laddr.
func rawRequest(method, laddr, target string, n int, extra string, body string) string {
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	return fmt.Sprintf("%[1]s %[3]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-%[4]d-%[1]s\r\n"+
		"From: <sip:flood@%[2]s>;tag=f%[4]d\r\n"+
		"To: <%[3]s>\r\n"+
		"Call-ID: raw-%[4]d@test\r\n"+
		"CSeq: 1 %[1]s\r\n"+
		"Contact: <sip:flood@%[2]s>\r\n"+
		"Max-Forwards: 70\r\n%[5]s%[6]s"+
		"Content-Length: %[7]d\r\n\r\n%[8]s", method, laddr, target, n, extra, ct, len(body), body)
}

// statusOf returns the status codes of responses to CSeq method,
// retransmissions left out.
func statusOf(responses []string, method string) []string {
	var codes []string
	seen := make(map[string]bool)
	for _, r := range responses {
		if seen[r] {
			continue
		}
		seen[r] = true
		if strings.Contains(r, " "+method+"\r\n") && strings.HasPrefix(r, "SIP/2.0 ") {
			codes = append(codes, r[8:11])
		}
	}
	return codes
}

// TestInviteFlood: INVITEs from one address beyond the token bucket get
// 503 at once; of those let through, one rings the room at a time and the
// others find it busy.
func TestInviteFlood(t *testing.T) {
	var rang atomic.Int32
	u := startUA(t, Config{
		Inbound: Policy{Kind: PolicyRing},
		Limits:  Limits{PerSource: 0.01, Total: 100, Burst: 3},
		OnIncoming: func(ic *IncomingCall) {
			rang.Add(1)
			go ic.Decline(true)
		},
	})
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var msgs []string
	for i := range 10 {
		msgs = append(msgs, rawRequest("INVITE", c.LocalAddr().String(), u.Contact(UDP), i, "", (&pcmu{host: "127.0.0.1"}).sdpString()))
	}
	got := exchangeFrom(t, c, u.Addr(UDP), msgs, time.Second)
	codes := statusOf(got, "INVITE")
	var limited, busy int
	for _, c := range codes {
		switch c {
		case "503":
			limited++
		case "486": // declined, or busy: the room takes one call at a time
			busy++
		}
	}
	if limited != 7 || busy != 3 || rang.Load() < 1 || rang.Load() > 3 {
		t.Errorf("10 INVITEs: %d got 503, %d got 486, %d rang (codes %v); want 7, 3 and 1–3", limited, busy, rang.Load(), codes)
	}
}

// TestRefusesBadInput: an oversized request is dropped unparsed, a
// malformed one gets 400 from sipgo, a request without Call-ID or whose
// CSeq names another method 400, an INVITE without Contact 400, a
// Request-URI that is not sip: or sips: 416, a session interval under
// Min-SE 422, a required extension other than timer 420, a non-SDP body
// 415, a malformed offer 400 and one with no usable audio 488, an
// in-dialog request for no call 481; none of them rings the room, and the
// agent still answers OPTIONS with its Server header.
func TestRefusesBadInput(t *testing.T) {
	var rang atomic.Int32
	u := startUA(t, Config{Inbound: Policy{Kind: PolicyRing}, OnIncoming: func(ic *IncomingCall) { rang.Add(1); go ic.Decline(false) },
		Limits: Limits{PerSource: 100, Burst: 100}})
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	la, to := c.LocalAddr().String(), u.Contact(UDP)
	sdp := (&pcmu{host: "127.0.0.1"}).sdpString()
	for _, tc := range []struct {
		name, msg, method, want string
	}{
		{"oversized", rawRequest("OPTIONS", la, to, 1, "X-Pad: "+strings.Repeat("a", 20000)+"\r\n", ""), "OPTIONS", ""},
		{"no CSeq", strings.Replace(rawRequest("INVITE", la, to, 2, "", sdp), "CSeq: 1 INVITE\r\n", "", 1), "INVITE", ""},
		{"no Contact", strings.Replace(rawRequest("INVITE", la, to, 3, "", sdp), "Contact: <sip:flood@"+la+">\r\n", "", 1), "INVITE", "400"},
		{"short session", rawRequest("INVITE", la, to, 4, "Session-Expires: 30\r\n", sdp), "INVITE", "422"},
		{"requires 100rel", rawRequest("INVITE", la, to, 9, "Require: 100rel\r\n", sdp), "INVITE", "420"},
		{"not SDP", strings.Replace(rawRequest("INVITE", la, to, 5, "", sdp), "application/sdp", "text/plain", 1), "INVITE", "415"},
		{"OPTIONS without Call-ID", strings.Replace(rawRequest("OPTIONS", la, to, 13, "", ""), "Call-ID: raw-13@test\r\n", "", 1), "OPTIONS", "400"},
		{"CSeq of another method", strings.Replace(rawRequest("INVITE", la, to, 14, "", sdp), "CSeq: 1 INVITE", "CSeq: 1 BYE", 1), "BYE", "400"},
		{"xmpp Request-URI", strings.Replace(rawRequest("INVITE", la, to, 10, "", sdp), "INVITE sip:", "INVITE xmpp:", 1), "INVITE", "416"},
		{"malformed offer", rawRequest("INVITE", la, to, 11, "", strings.Replace(sdp, "m=audio ", "m=audio 9", 1)), "INVITE", "400"},
		{"offer without audio", rawRequest("INVITE", la, to, 12, "", strings.Replace(sdp, "m=audio ", "m=video ", 1)), "INVITE", "488"},
		{"BYE for no call", strings.Replace(rawRequest("BYE", la, to, 6, "", ""), "To: <"+to+">", "To: <"+to+">;tag=nope", 1), "BYE", "481"},
		{"unknown method", rawRequest("SUBSCRIBE", la, to, 7, "", ""), "SUBSCRIBE", "405"},
		{"alive", rawRequest("OPTIONS", la, to, 8, "", ""), "OPTIONS", "200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sameCall(tc.msg, exchangeFrom(t, c, u.Addr(UDP), []string{tc.msg}, 300*time.Millisecond))
			codes := statusOf(got, tc.method)
			if tc.want == "" {
				if len(codes) > 0 && codes[0] != "400" {
					t.Errorf("answered %v; want nothing or 400", codes)
				}
				return
			}
			if len(codes) == 0 || codes[0] != tc.want {
				t.Errorf("answered %v; want %s", codes, tc.want)
			}
			if tc.name == "OPTIONS without Call-ID" && !strings.HasPrefix(got[0], "SIP/2.0 400 Missing Call-ID header field\r\n") {
				t.Errorf("the 400 does not name the missing header (RFC 3261 21.4.1):\n%s", got[0])
			}
			if tc.name == "alive" && !strings.Contains(got[0], "Server: roomd/test") {
				t.Errorf("OPTIONS answer without our Server header:\n%s", got[0])
			}
		})
	}
	if n := rang.Load(); n != 0 {
		t.Errorf("bad requests rang the room %d times", n)
	}
}

// sameCall keeps the responses with msg's Call-ID (none if it has none):
// a retransmitted answer to an earlier request can arrive late.
func sameCall(msg string, responses []string) []string {
	want := ""
	if _, rest, ok := strings.Cut(msg, "\r\nCall-ID: "); ok {
		id, _, _ := strings.Cut(rest, "\r\n")
		want = "\r\nCall-ID: " + id + "\r\n"
	}
	var out []string
	for _, r := range responses {
		if (want != "" && strings.Contains(r, want)) || (want == "" && !strings.Contains(r, "\r\nCall-ID:")) {
			out = append(out, r)
		}
	}
	return out
}

// exchangeFrom sends msgs from c to addr and collects what comes back
// within wait.
func exchangeFrom(t *testing.T, c net.PacketConn, addr string, msgs []string, wait time.Duration) []string {
	t.Helper()
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := c.WriteTo([]byte(m), ra); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	buf := make([]byte, 65536)
	deadline := time.Now().Add(wait)
	for {
		c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}
