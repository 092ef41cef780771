package rtpmedia

import (
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/media/sip/sdp"
)

// dtlsPair starts two audio streams keyed by a DTLS handshake between
// them (one on RTP and one on RTCP unless mux); b checks a's certificate
// against aPrint.
func dtlsPair(t *testing.T, mux bool, aPrint func(sdp.Fingerprint) sdp.Fingerprint) (a, b *Stream, gotA, gotB *pcmSink) {
	t.Helper()
	certA, fpA, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	certB, fpB, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	gotA, gotB = &pcmSink{}, &pcmSink{}
	opts := Options{RTCPInterval: 100 * time.Millisecond}
	a, b = listen(t, Audio, opts), listen(t, Audio, opts)
	c := Codec{PT: 0, Name: CodecPCMU}
	ra, rb := remoteOf(b, c), remoteOf(a, c)
	ra.RTCPMux, rb.RTCPMux = mux, mux
	ra.DTLS = &DTLSParams{Client: true, Certificate: certA, RemoteFingerprints: []sdp.Fingerprint{fpB}}
	rb.DTLS = &DTLSParams{Certificate: certB, RemoteFingerprints: []sdp.Fingerprint{aPrint(fpA)}}
	start(t, b, rb, Handlers{OnAudio: gotB.add})
	start(t, a, ra, Handlers{OnAudio: gotA.add})
	return a, b, gotA, gotB
}

// A DTLS handshake on the RTP socket keys SRTP and SRTCP both ways
// (rtcp-mux); without rtcp-mux a second handshake on the RTCP sockets
// keys SRTCP with keys of its own (RFC 5764 §4.1), as baresip does it.
// Sender reports go out and come back as receiver reports: an RTT.
func TestDTLSSRTP(t *testing.T) {
	for _, mux := range []bool{true, false} {
		name := map[bool]string{true: "rtcp-mux", false: "rtcp-port"}[mux]
		t.Run(name, func(t *testing.T) {
			a, b, gotA, gotB := dtlsPair(t, mux, func(f sdp.Fingerprint) sdp.Fingerprint { return f })
			began := time.Now()
			keyed := func(s *Stream) bool {
				s.sendMu.Lock()
				defer s.sendMu.Unlock()
				return s.srtpOut != nil && s.srtcpOut != nil
			}
			if !eventually(5*time.Second, func() bool { return keyed(a) && keyed(b) }) {
				t.Fatalf("not keyed: a %v, b %v", a.Stats().KeyingError, b.Stats().KeyingError)
			}
			t.Logf("DTLS handshake on loopback: %v", time.Since(began).Round(time.Millisecond))
			a.sendMu.Lock()
			own := a.srtcpOut != a.srtpOut
			a.sendMu.Unlock()
			if own == mux {
				t.Errorf("RTCP keyed by its own association: %v; want %v", own, !mux)
			}
			talk(t, a, b, 300*time.Millisecond)
			heardBothWays(t, name, gotA, gotB, 300*time.Millisecond)
			if !eventually(3*time.Second, func() bool { return a.Stats().RTT > 0 && b.Stats().RTT > 0 }) {
				t.Errorf("no RTT over SRTCP: a %v, b %v", a.Stats().RTT, b.Stats().RTT)
			}
			for n, s := range map[string]*Stream{"a": a, "b": b} {
				if st := s.Stats(); st.DecryptFailures != 0 || st.KeyingError != nil {
					t.Errorf("%s: %d packets did not authenticate, keying error %v", n, st.DecryptFailures, st.KeyingError)
				}
			}
		})
	}
}

// A certificate that is not the one the SDP announced fails the
// handshake: nothing is sent or played, and Stats says why.
func TestDTLSWrongFingerprint(t *testing.T) {
	a, b, gotA, gotB := dtlsPair(t, true, func(f sdp.Fingerprint) sdp.Fingerprint {
		f.Value = "00" + f.Value[2:]
		return f
	})
	if !eventually(5*time.Second, func() bool { return b.Stats().KeyingError != nil }) {
		t.Fatal("b accepted a certificate that does not match the fingerprint")
	}
	// pion/dtls keeps only the message of the verifier's error.
	if err := b.Stats().KeyingError; !strings.Contains(err.Error(), errFingerprint.Error()) {
		t.Fatalf("b's keying error %v does not say the fingerprint is wrong", err)
	}
	talk(t, a, b, 100*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	if n, m := len(gotA.samples()), len(gotB.samples()); n != 0 || m != 0 {
		t.Fatalf("played %d and %d samples without keys", n, m)
	}
	t.Logf("wrong fingerprint: %v", b.Stats().KeyingError)
}
