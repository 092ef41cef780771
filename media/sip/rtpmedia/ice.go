package rtpmedia

import (
	"net"
	"sync/atomic"

	"github.com/pion/stun/v4"
)

// ICEParams are the credentials of an ICE-lite stream (RFC 8445 §2.5):
// roomd answered an offer with ICE, so the far end (the controlling, full
// agent) sends connectivity checks that roomd answers. Never log LocalPwd.
type ICEParams struct {
	// LocalUfrag and LocalPwd are roomd's a=ice-ufrag and a=ice-pwd.
	LocalUfrag, LocalPwd string
	// RemoteUfrag is the far end's a=ice-ufrag; empty takes any.
	RemoteUfrag string
}

// String shows the ufrags, never the password.
func (p ICEParams) String() string { return "ice " + p.LocalUfrag + ":" + p.RemoteUfrag }

// GoString hides the password, like String.
func (p ICEParams) GoString() string { return "rtpmedia.ICEParams{" + p.String() + "}" }

// iceResponder answers the far end's Binding requests on a stream's
// sockets. It keeps no state between requests and is safe for concurrent
// use.
type iceResponder struct {
	p         ICEParams
	integrity stun.MessageIntegrity
}

func newICEResponder(p ICEParams) *iceResponder {
	return &iceResponder{p: p, integrity: stun.NewShortTermIntegrity(p.LocalPwd)}
}

// isSTUN says whether a datagram on a media socket is STUN (RFC 7983:
// first byte 0-3; a STUN header is 20 bytes).
func isSTUN(b []byte) bool { return len(b) >= 20 && b[0] <= 3 }

// answer reads one STUN datagram from from and returns the response to
// send back (nil: drop it) and whether it was an authenticated check that
// nominated the pair (USE-CANDIDATE). Following RFC 8489 §9.1.3 and RFC
// 8445 §7.3: what is not a Binding request (indications, responses: a
// lite agent sends no requests) or fails its FINGERPRINT is dropped; a
// request without USERNAME or MESSAGE-INTEGRITY gets 400 Bad Request; a
// wrong USERNAME or a MESSAGE-INTEGRITY that does not verify with roomd's
// password gets 401 Unauthorized, without integrity of its own.
func (r *iceResponder) answer(b []byte, from *net.UDPAddr) (resp []byte, nominated bool) {
	m := new(stun.Message)
	if err := stun.Decode(b, m); err != nil || m.Type != stun.BindingRequest {
		return nil, false
	}
	if m.Contains(stun.AttrFingerprint) && stun.Fingerprint.Check(m) != nil {
		return nil, false
	}
	var u stun.Username
	if u.GetFrom(m) != nil || !m.Contains(stun.AttrMessageIntegrity) {
		return r.refuse(m, stun.CodeBadRequest), false
	}
	if !r.knows(string(u)) || r.integrity.Check(m) != nil {
		return r.refuse(m, stun.CodeUnauthorized), false
	}
	ok, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.IP, Port: from.Port}, r.integrity, stun.Fingerprint)
	if err != nil {
		return nil, false
	}
	return ok.Raw, m.Contains(stun.AttrUseCandidate)
}

// knows says whether a check's USERNAME is "ourufrag:theirufrag".
func (r *iceResponder) knows(u string) bool {
	local := r.p.LocalUfrag + ":"
	if r.p.RemoteUfrag != "" {
		return u == local+r.p.RemoteUfrag
	}
	return len(u) > len(local) && u[:len(local)] == local
}

// refuse is an error response to m with code; nil when it cannot be
// built.
func (r *iceResponder) refuse(m *stun.Message, code stun.ErrorCode) []byte {
	e, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingError, code, stun.Fingerprint)
	if err != nil {
		return nil
	}
	return e.Raw
}

// answerSTUN answers a connectivity check that came to conn; a nominating
// one points dst (and, for a muxed RTP socket, the RTCP destination) at
// the address it came from: media goes to the nominated pair's remote
// candidate from then on.
func (s *Stream) answerSTUN(conn *net.UDPConn, dst *atomic.Pointer[net.UDPAddr], b []byte, from *net.UDPAddr, muxed bool) {
	resp, nominated := s.ice.answer(b, from)
	if resp == nil {
		return
	}
	if _, err := conn.WriteToUDP(resp, from); err != nil {
		s.log.Debug("rtpmedia: ice: answering a check", "to", from, "err", err)
		return
	}
	if !nominated {
		return
	}
	if cur := dst.Load(); cur == nil || !cur.IP.Equal(from.IP) || cur.Port != from.Port {
		s.log.Info("rtpmedia: ice: pair nominated; sending media to its remote candidate", "remote", from, "local", conn.LocalAddr())
	}
	latch(dst, from)
	if muxed {
		latch(&s.rtcpDst, from)
	}
}
