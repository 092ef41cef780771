package rtpmedia

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

const (
	testLocalUfrag  = "roomufrg"
	testLocalPwd    = "ROOMPASSWORD234567ABCDEFGH"
	testRemoteUfrag = "farufrag"
)

// iceStream starts an audio stream with ICE-lite credentials whose
// signalled remote is decoy, and returns it with a far-end socket.
func iceStream(t *testing.T, decoy *net.UDPAddr) (*Stream, *net.UDPConn) {
	t.Helper()
	s := listen(t, Audio, Options{})
	start(t, s, Remote{RTP: decoy, RTCPMux: true, Codec: Codec{PT: 0, Name: CodecPCMU},
		ICE: &ICEParams{LocalUfrag: testLocalUfrag, LocalPwd: testLocalPwd, RemoteUfrag: testRemoteUfrag}})
	far, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })
	return s, far
}

// check builds a Binding request as a controlling full agent sends it.
func check(t *testing.T, username, pwd string, extra ...stun.Setter) *stun.Message {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest}
	if username != "" {
		setters = append(setters, stun.NewUsername(username))
	}
	setters = append(setters, extra...)
	if pwd != "" {
		setters = append(setters, stun.NewShortTermIntegrity(pwd))
	}
	m, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// roundTrip sends req from far to s and returns the STUN response, nil
// when none came within a short while.
func roundTrip(t *testing.T, far *net.UDPConn, s *Stream, req []byte) *stun.Message {
	t.Helper()
	if _, err := far.WriteToUDP(req, s.RTPAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for {
		far.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, _, err := far.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		if !isSTUN(buf[:n]) {
			continue // media
		}
		m := new(stun.Message)
		if err := stun.Decode(buf[:n], m); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
		return m
	}
}

func TestICEAnswersAuthenticatedCheck(t *testing.T) {
	s, far := iceStream(t, &net.UDPAddr{IP: loopback, Port: 9})
	req := check(t, testLocalUfrag+":"+testRemoteUfrag, testLocalPwd, stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 0x1e, 0xff}})
	resp := roundTrip(t, far, s, req.Raw)
	if resp == nil {
		t.Fatal("no response to a good check")
	}
	if resp.Type != stun.BindingSuccess || resp.TransactionID != req.TransactionID {
		t.Fatalf("response %v, want a Binding success for transaction %x", resp, req.TransactionID)
	}
	if err := stun.NewShortTermIntegrity(testLocalPwd).Check(resp); err != nil {
		t.Fatalf("response integrity: %v", err)
	}
	if err := stun.Fingerprint.Check(resp); err != nil {
		t.Fatalf("response fingerprint: %v", err)
	}
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(resp); err != nil {
		t.Fatal(err)
	}
	if me := far.LocalAddr().(*net.UDPAddr); !xa.IP.Equal(me.IP) || xa.Port != me.Port {
		t.Fatalf("XOR-MAPPED-ADDRESS %v, want %v", xa, me)
	}
}

func TestICERefusesBadChecks(t *testing.T) {
	s, far := iceStream(t, &net.UDPAddr{IP: loopback, Port: 9})
	for _, c := range []struct {
		name      string
		req       []byte
		wantCode  stun.ErrorCode // 0: dropped
		wantNoRsp bool
	}{
		{"wrong password", check(t, testLocalUfrag+":"+testRemoteUfrag, "WRONGPASSWORD234567ABCDEFG").Raw, stun.CodeUnauthorized, false},
		{"wrong local ufrag", check(t, "otheruf:"+testRemoteUfrag, testLocalPwd).Raw, stun.CodeUnauthorized, false},
		{"wrong remote ufrag", check(t, testLocalUfrag+":other", testLocalPwd).Raw, stun.CodeUnauthorized, false},
		{"no username", check(t, "", testLocalPwd).Raw, stun.CodeBadRequest, false},
		{"no integrity", check(t, testLocalUfrag+":"+testRemoteUfrag, "").Raw, stun.CodeBadRequest, false},
		{"bad fingerprint", corruptFingerprint(check(t, testLocalUfrag+":"+testRemoteUfrag, testLocalPwd).Raw), 0, true},
		{"indication", mustBuild(t, stun.TransactionID, stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.Fingerprint), 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := roundTrip(t, far, s, c.req)
			if c.wantNoRsp {
				if resp != nil {
					t.Fatalf("answered %v, want it dropped", resp)
				}
				return
			}
			if resp == nil || resp.Type != stun.BindingError {
				t.Fatalf("response %v, want a Binding error", resp)
			}
			var code stun.ErrorCodeAttribute
			if err := code.GetFrom(resp); err != nil || code.Code != c.wantCode {
				t.Fatalf("error code %v (%v), want %d", code, err, c.wantCode)
			}
			if resp.Contains(stun.AttrMessageIntegrity) {
				t.Fatal("an error to an unauthenticated check carries MESSAGE-INTEGRITY")
			}
			if err := stun.Fingerprint.Check(resp); err != nil {
				t.Fatalf("error fingerprint: %v", err)
			}
		})
	}
}

// useCandidate is the USE-CANDIDATE attribute (no value).
func useCandidate() stun.Setter { return stun.RawAttribute{Type: stun.AttrUseCandidate} }

func mustBuild(t *testing.T, setters ...stun.Setter) []byte {
	t.Helper()
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

func corruptFingerprint(b []byte) []byte {
	b = append([]byte(nil), b...)
	b[len(b)-1] ^= 0xff
	return b
}

// TestICEUseCandidateLatches: media goes to the signalled address until an
// authenticated check with USE-CANDIDATE nominates another; a nominating
// check that does not authenticate moves nothing.
func TestICEUseCandidateLatches(t *testing.T) {
	decoy, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer decoy.Close()
	s, far := iceStream(t, decoy.LocalAddr().(*net.UDPAddr))
	receivesRTP := func(c *net.UDPConn) bool {
		buf := make([]byte, 1500)
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			if err := s.WriteAudio(tone(440, 0, 960)); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, _, err := c.ReadFromUDP(buf)
			if err == nil && n >= 12 && buf[0]>>6 == 2 && !isRTCP(buf[:n]) {
				return true
			}
		}
		return false
	}
	if !receivesRTP(decoy) {
		t.Fatal("no RTP at the signalled address before any check")
	}
	bad := check(t, testLocalUfrag+":"+testRemoteUfrag, "WRONGPASSWORD234567ABCDEFG", useCandidate())
	if resp := roundTrip(t, far, s, bad.Raw); resp == nil || resp.Type != stun.BindingError {
		t.Fatalf("bad nominating check answered %v", resp)
	}
	if !receivesRTP(decoy) {
		t.Fatal("an unauthenticated USE-CANDIDATE moved the media")
	}
	plain := check(t, testLocalUfrag+":"+testRemoteUfrag, testLocalPwd)
	if resp := roundTrip(t, far, s, plain.Raw); resp == nil || resp.Type != stun.BindingSuccess {
		t.Fatalf("check answered %v", resp)
	}
	if !receivesRTP(decoy) {
		t.Fatal("a check without USE-CANDIDATE moved the media")
	}
	nominate := check(t, testLocalUfrag+":"+testRemoteUfrag, testLocalPwd, useCandidate())
	if resp := roundTrip(t, far, s, nominate.Raw); resp == nil || resp.Type != stun.BindingSuccess {
		t.Fatalf("nominating check answered %v", resp)
	}
	if !receivesRTP(far) {
		t.Fatal("no RTP at the nominated pair's remote address")
	}
}

// FuzzSTUN: whatever comes to a media socket with a STUN first byte, the
// responder does not crash, and what it sends back is STUN.
func FuzzSTUN(f *testing.F) {
	build := func(setters ...stun.Setter) []byte {
		m, err := stun.Build(setters...)
		if err != nil {
			f.Fatal(err)
		}
		return m.Raw
	}
	good := build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(testLocalUfrag+":"+testRemoteUfrag),
		useCandidate(), stun.NewShortTermIntegrity(testLocalPwd), stun.Fingerprint)
	f.Add(good)
	f.Add(good[:20])
	f.Add(good[:len(good)-8])
	f.Add(build(stun.TransactionID, stun.BindingRequest))
	f.Add(build(stun.TransactionID, stun.BindingSuccess, stun.Fingerprint))
	f.Add([]byte{0, 1, 0xff, 0xfc, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	r := newICEResponder(ICEParams{LocalUfrag: testLocalUfrag, LocalPwd: testLocalPwd, RemoteUfrag: testRemoteUfrag})
	from := &net.UDPAddr{IP: loopback, Port: 5000}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !isSTUN(b) {
			return
		}
		resp, _ := r.answer(b, from)
		if resp != nil && !stun.IsMessage(resp) {
			t.Fatalf("answered with something that is not STUN: %x", resp)
		}
	})
}

// TestICEParamsHidePassword: printing the credentials (or a Remote with
// them) never shows the password.
func TestICEParamsHidePassword(t *testing.T) {
	p := ICEParams{LocalUfrag: testLocalUfrag, LocalPwd: testLocalPwd, RemoteUfrag: testRemoteUfrag}
	r := Remote{ICE: &p}
	for _, out := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%+v", *r.ICE)} {
		if strings.Contains(out, testLocalPwd) || !strings.Contains(out, testLocalUfrag) {
			t.Errorf("%q", out)
		}
	}
}
