package rtpmedia

import (
	"context"
	"crypto"
	_ "crypto/sha1"   // a=fingerprint sha-1
	_ "crypto/sha256" // sha-256
	_ "crypto/sha512" // sha-384, sha-512
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"

	"github.com/roomd/roomd/media/sip/sdp"
)

// DTLSParams key a stream with DTLS-SRTP (RFC 5763, 5764): a handshake
// runs on the RTP socket and its exported keys make the SRTP contexts;
// without rtcp-mux a second one runs on the RTCP socket and keys SRTCP
// (RFC 5764 §4.1: each component its own association), as baresip does.
// Until a component is keyed nothing is sent or played on it.
type DTLSParams struct {
	// Client says roomd starts the handshake (a=setup:active).
	Client bool
	// Certificate is roomd's, whose fingerprint went into the SDP.
	Certificate tls.Certificate
	// RemoteFingerprints are the far end's a=fingerprint values; its
	// certificate must match one.
	RemoteFingerprints []sdp.Fingerprint
}

// dtlsHandshakeTimeout bounds the handshake.
const dtlsHandshakeTimeout = 10 * time.Second

// NewCertificate makes a self-signed ECDSA P-256 certificate for
// DTLS-SRTP and its sha-256 fingerprint for the SDP (sdp.Config.DTLS).
func NewCertificate() (tls.Certificate, sdp.Fingerprint, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return tls.Certificate{}, sdp.Fingerprint{}, fmt.Errorf("rtpmedia: dtls certificate: %w", err)
	}
	fp, _ := fingerprint(crypto.SHA256, cert.Certificate[0])
	return cert, sdp.Fingerprint{Algorithm: "sha-256", Value: fp}, nil
}

var fingerprintHashes = map[string]crypto.Hash{"sha-1": crypto.SHA1, "sha-256": crypto.SHA256, "sha-384": crypto.SHA384, "sha-512": crypto.SHA512}

// fingerprint is der's fingerprint as a=fingerprint writes it.
func fingerprint(h crypto.Hash, der []byte) (string, error) {
	if !h.Available() {
		return "", errors.New("rtpmedia: fingerprint hash not available")
	}
	d := h.New()
	d.Write(der)
	sum := d.Sum(nil)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":"), nil
}

// errFingerprint means the far end's certificate is not the one its SDP
// announced.
var errFingerprint = errors.New("rtpmedia: the far end's DTLS certificate does not match its a=fingerprint; the media may be intercepted")

func checkFingerprint(der []byte, want []sdp.Fingerprint) error {
	for _, f := range want {
		h, ok := fingerprintHashes[strings.ToLower(f.Algorithm)]
		if !ok {
			continue
		}
		if got, err := fingerprint(h, der); err == nil && strings.EqualFold(got, f.Value) {
			return nil
		}
	}
	return errFingerprint
}

// srtpProfiles maps the DTLS use_srtp profiles roomd offers to pion/srtp's.
var srtpProfiles = map[dtls.SRTPProtectionProfile]srtp.ProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM:       srtp.ProtectionProfileAeadAes128Gcm,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80: srtp.ProtectionProfileAes128CmHmacSha1_80,
}

// handshake runs DTLS on pc's socket, then keys SRTP for that
// component; the connection lives until ctx ends (its close_notify then
// ends the association).
func (s *Stream) handshake(ctx context.Context, p DTLSParams, pc *dtlsPacketConn) {
	defer pc.Close()
	err := s.dtlsKey(ctx, p, pc)
	if err != nil {
		s.st.keyingFailed(err)
		if ctx.Err() == nil {
			s.log.Warn("rtpmedia: DTLS-SRTP handshake failed", "component", pc.component(), "err", err)
		}
	}
}

func (s *Stream) dtlsKey(ctx context.Context, p DTLSParams, pc *dtlsPacketConn) error {
	shared := []dtls.Option{
		dtls.WithCertificates(p.Certificate),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		// Self-signed on both sides: the SDP's fingerprint is the trust.
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errFingerprint
			}
			return checkFingerprint(raw[0], p.RemoteFingerprints)
		}),
	}
	var conn *dtls.Conn
	var err error
	if p.Client {
		opts := make([]dtls.ClientOption, 0, len(shared))
		for _, o := range shared {
			opts = append(opts, o)
		}
		conn, err = dtls.ClientWithOptions(pc, pc.RemoteAddr(), opts...)
	} else {
		opts := []dtls.ServerOption{dtls.WithClientAuth(dtls.RequireAnyClientCert)}
		for _, o := range shared {
			opts = append(opts, o)
		}
		conn, err = dtls.ServerWithOptions(pc, pc.RemoteAddr(), opts...)
	}
	if err != nil {
		return fmt.Errorf("rtpmedia: dtls: %w", err)
	}
	defer conn.Close()
	defer pc.Close() // first: conn.Close waits for its reader to return
	hctx, cancel := context.WithTimeout(ctx, dtlsHandshakeTimeout)
	err = conn.HandshakeContext(hctx)
	cancel()
	if err != nil {
		return fmt.Errorf("rtpmedia: dtls handshake: %w", err)
	}
	dp, ok := conn.SelectedSRTPProtectionProfile()
	profile, known := srtpProfiles[dp]
	if !ok || !known {
		return errors.New("rtpmedia: the DTLS handshake chose no SRTP profile roomd takes")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return errors.New("rtpmedia: dtls: no connection state after the handshake")
	}
	sc := srtp.Config{Profile: profile}
	if err := sc.ExtractSessionKeysFromDTLS(&state, p.Client); err != nil {
		return fmt.Errorf("rtpmedia: dtls-srtp keys: %w", err)
	}
	k := sc.Keys
	out, in, err := srtpContexts(SRTPKeys{Profile: profile,
		Local:  append(append([]byte(nil), k.LocalMasterKey...), k.LocalMasterSalt...),
		Remote: append(append([]byte(nil), k.RemoteMasterKey...), k.RemoteMasterSalt...)})
	if err != nil {
		return err
	}
	s.keyed(pc.rtcpOnly, out, in)
	s.log.Info("rtpmedia: DTLS-SRTP keyed", "component", pc.component(), "profile", profile.String(), "client", p.Client)
	<-ctx.Done()
	return nil
}

// keyed installs the SRTP contexts of one component: the RTP one keys
// RTP, and RTCP too unless RTCP has an association of its own (rtcpOnly
// for that one).
func (s *Stream) keyed(rtcpOnly bool, out, in *srtp.Context) {
	s.sendMu.Lock()
	if !rtcpOnly {
		s.srtpOut = out
	}
	if rtcpOnly || s.dtlsRTCP == nil {
		s.srtcpOut = out
	}
	s.sendMu.Unlock()
	s.recvMu.Lock()
	if !rtcpOnly {
		s.srtpIn = in
	}
	if rtcpOnly || s.dtlsRTCP == nil {
		s.srtcpIn = in
	}
	s.recvMu.Unlock()
}

// dtlsPacketConn is the DTLS side of one of the stream's sockets (RTP, or
// RTCP without rtcp-mux): its read loop hands it the DTLS records (RFC
// 7983: first byte 20..63), and it writes to the far end's current
// address for that component.
type dtlsPacketConn struct {
	conn     *net.UDPConn
	dst      *atomic.Pointer[net.UDPAddr]
	rtcpOnly bool // the RTCP component's association
	in       chan []byte
	closed   chan struct{}
	once     sync.Once

	mu       sync.Mutex
	deadline time.Time     // read deadline; zero: none
	wake     chan struct{} // closed when the deadline changes
}

func newDTLSPacketConn(conn *net.UDPConn, dst *atomic.Pointer[net.UDPAddr], rtcpOnly bool) *dtlsPacketConn {
	return &dtlsPacketConn{conn: conn, dst: dst, rtcpOnly: rtcpOnly, in: make(chan []byte, 64), closed: make(chan struct{}), wake: make(chan struct{})}
}

// component names the association in logs.
func (c *dtlsPacketConn) component() string {
	if c.rtcpOnly {
		return "RTCP"
	}
	return "RTP"
}

// isDTLS says whether a datagram on a media socket is DTLS (RFC 7983).
func isDTLS(b []byte) bool { return len(b) > 0 && b[0] >= 20 && b[0] <= 63 }

// deliver queues a record for the handshake, dropping it when the queue
// is full (DTLS retransmits).
func (c *dtlsPacketConn) deliver(b []byte) {
	select {
	case c.in <- b:
	default:
	}
}

// ReadFrom honours the read deadline: pion/dtls sets one in the past to
// stop its reader.
func (c *dtlsPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		d, wake := c.deadline, c.wake
		c.mu.Unlock()
		var expired <-chan time.Time
		if !d.IsZero() {
			left := time.Until(d)
			if left <= 0 {
				return 0, nil, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(left)
			defer t.Stop()
			expired = t.C
		}
		select {
		case b := <-c.in:
			return copy(p, b), c.RemoteAddr(), nil
		case <-c.closed:
			return 0, nil, net.ErrClosed
		case <-expired:
			return 0, nil, os.ErrDeadlineExceeded
		case <-wake:
		}
	}
}

func (c *dtlsPacketConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	return c.conn.WriteToUDP(p, c.dst.Load())
}

func (c *dtlsPacketConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *dtlsPacketConn) LocalAddr() net.Addr              { return c.conn.LocalAddr() }
func (c *dtlsPacketConn) RemoteAddr() net.Addr             { return c.dst.Load() }
func (c *dtlsPacketConn) SetDeadline(t time.Time) error    { return c.SetReadDeadline(t) }
func (c *dtlsPacketConn) SetWriteDeadline(time.Time) error { return nil } // UDP writes do not block

func (c *dtlsPacketConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
	return nil
}
