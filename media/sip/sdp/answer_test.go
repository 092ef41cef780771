package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestAnswerFixtures answers real offers (testdata/offers) and checks
// what was negotiated and what roomd wrote back.
func TestAnswerFixtures(t *testing.T) {
	type want struct {
		audio, video string // "name pt" of the codec roomd sends; "" none
		videoRefused string // part of VideoRefused's message
		method       Method
		remote, rtcp string
		mux          bool
		dtmf         string // "pt/clock" or ""
		dir          Direction
		limit        string // video SendLimit
		feedback     Feedback
		role         DTLSRole
		ice          string
		mlines       []int // answer's ports: 0 rejected, 1 taken
	}
	for _, tc := range []struct {
		file string
		mod  func(*Config)
		want want
	}{
		{"baresip-srtp-mand.sdp", nil, want{
			audio: "opus 96", video: "H264 97", method: SDES, remote: "192.0.2.2:7772", rtcp: "192.0.2.2:7773",
			dtmf: "101/8000", limit: "1280x720@30 ≤14000 kbit/s", feedback: Feedback{PLI: true}, mlines: []int{1, 1},
		}},
		{"baresip-srtp-mandf.sdp", nil, want{
			audio: "opus 96", video: "H264 97", method: SDES, remote: "192.0.2.2:6314", rtcp: "192.0.2.2:6315",
			dtmf: "101/8000", limit: "1280x720@30 ≤14000 kbit/s", feedback: Feedback{PLI: true}, mlines: []int{1, 1},
		}},
		{"baresip-dtls-srtp.sdp", withDTLS, want{
			audio: "opus 96", video: "H264 97", method: DTLSSRTP, role: DTLSClient, remote: "192.0.2.2:17148", rtcp: "192.0.2.2:17149",
			dtmf: "101/8000", limit: "1280x720@30 ≤14000 kbit/s", feedback: Feedback{PLI: true}, mlines: []int{1, 1},
		}},
		{"baresip-plain.sdp", func(c *Config) { c.Encryption = EncryptionPreferred }, want{
			audio: "opus 96", video: "H264 97", method: Plain, remote: "192.0.2.2:1994", rtcp: "192.0.2.2:1995",
			dtmf: "101/8000", limit: "1280x720@30 ≤14000 kbit/s", feedback: Feedback{PLI: true}, mlines: []int{1, 1},
		}},
		// AAC-LD and G.722.1 first: roomd takes G.722 when it has it
		// (Poly's, below, without it: PCMU). Level 2.2 raised by
		// max-fs/max-mbps to 1080p: roomd's own 720p30 fits; max-br 5000
		// kbit/s is below b=TIAS. The presentation and BFCP lines are
		// rejected.
		{"cisco-ce.sdp", withG722, want{
			audio: "G722 9", video: "H264 97", method: SDES, remote: "198.51.100.20:2348", rtcp: "198.51.100.20:2349",
			dtmf: "105/8000", limit: "1280x720@30 ≤5000 kbit/s", feedback: Feedback{PLI: true, FIR: true, TMMBR: true},
			mlines: []int{1, 1, 0, 0},
		}},
		{"poly-group.sdp", func(c *Config) { c.Encryption = EncryptionPreferred }, want{
			audio: "PCMU 0", video: "H264 110", method: Plain, remote: "198.51.100.30:49152", rtcp: "198.51.100.30:49153",
			dtmf: "101/8000", limit: "1280x720@30 ≤1920 kbit/s", feedback: Feedback{FIR: true, TMMBR: true}, mlines: []int{1, 1},
		}},
		// Main without constraint_set1 (4d001f) and High (64001f) are left
		// out; Baseline 42001f comes first as the far end listed it.
		{"freeswitch-webrtc-video.sdp", func(c *Config) { c.Encryption = EncryptionOff }, want{
			audio: "opus 111", video: "H264 102", method: Plain, remote: "203.0.113.5:29940", rtcp: "203.0.113.5:29941",
			dtmf: "101/8000", limit: "1280x720@30 ≤3072 kbit/s", feedback: Feedback{NACK: true, PLI: true, FIR: true, TMMBR: true},
			mlines: []int{1, 1},
		}},
		{"webrtc-dtls-ice.sdp", withDTLS, want{
			audio: "opus 111", method: DTLSSRTP, role: DTLSClient, remote: "203.0.113.77:50000", rtcp: "203.0.113.77:50000", mux: true,
			dtmf: "110/48000", ice: "ufrag GVWP, 2 candidates", mlines: []int{1},
		}},
		{"rfc4568-example.sdp", nil, want{
			audio: "PCMU 0", method: SDES, remote: "168.2.17.12:49170", rtcp: "168.2.17.12:49171", mlines: []int{1},
		}},
		{"rfc3264-example.sdp", func(c *Config) { c.Encryption = EncryptionPreferred }, want{
			audio: "PCMU 0", method: Plain, remote: "192.0.2.10:49170", rtcp: "192.0.2.10:49171",
			videoRefused: "sdp: no common video codec (far end offers H261, MPV)", mlines: []int{1, 0},
		}},
		// Old-style hold: nowhere to send, so roomd only receives.
		{"rfc2543-hold.sdp", nil, want{
			audio: "PCMU 0", method: SDES, dtmf: "101/8000", dir: RecvOnly, mlines: []int{1},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			offer := fixture(t, "offers/"+tc.file)
			s := newSession(t, roomConfig("192.0.2.1", 40000, tc.mod))
			answer, neg, err := s.Answer(offer, SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			got := want{
				audio: codecID(neg.Audio), video: codecID(neg.Video), method: neg.Audio.Crypto.Method,
				remote: addrString(neg.Audio.Remote), rtcp: addrString(neg.Audio.RemoteRTCP), mux: neg.Audio.RTCPMux,
				dir: neg.Audio.Direction, role: neg.Audio.Crypto.Role, mlines: w.mlines,
			}
			if neg.Audio.DTMF != nil {
				got.dtmf = fmt.Sprintf("%d/%d", neg.Audio.DTMF.PT, neg.Audio.DTMF.ClockRate)
			}
			if neg.Audio.ICE != nil {
				got.ice = neg.Audio.ICE.String()
			}
			if neg.Video != nil {
				got.limit, got.feedback = neg.Video.SendLimit.String(), neg.Video.Feedback
				if neg.Video.Crypto.Method != neg.Audio.Crypto.Method {
					t.Errorf("video is %v, audio %v", neg.Video.Crypto, neg.Audio.Crypto)
				}
			}
			if neg.VideoRefused != nil {
				got.videoRefused = neg.VideoRefused.Error()
				if !strings.Contains(got.videoRefused, w.videoRefused) || w.videoRefused == "" {
					t.Errorf("video refused: %v, want %q", neg.VideoRefused, w.videoRefused)
				}
				got.videoRefused = w.videoRefused
			}
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("negotiated\n got %+v\nwant %+v", got, w)
			}
			checkAnswer(t, offer, answer, neg, w.mlines)
		})
	}
}

func codecID(s *Stream) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%s %d", s.Codec().Name, s.Codec().PT)
}

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// checkAnswer checks roomd's answer against the offer (RFC 3264 §6): one
// m-line per offered one, rejected ones with port 0, formats taken from
// the offer, roomd's key and DTLS side as negotiated.
func checkAnswer(t *testing.T, offerBody, answerBody []byte, neg *Negotiated, ports []int) {
	t.Helper()
	offer, err := parse(offerBody)
	if err != nil {
		t.Fatal(err)
	}
	answer := reparse(t, answerBody)
	if len(answer.media) != len(offer.media) {
		t.Fatalf("answer has %d m-lines for %d offered", len(answer.media), len(offer.media))
	}
	for i, am := range answer.media {
		om := offer.media[i]
		if (am.port != 0) != (ports[i] != 0) {
			t.Errorf("m-line %d (%s) port %d, want taken=%v", i, am.media, am.port, ports[i] != 0)
		}
		if am.media != om.media || am.proto != om.proto {
			t.Errorf("m-line %d answers %s %s to %s %s", i, am.media, am.proto, om.media, om.proto)
		}
		for _, f := range am.formats {
			if !slices.Contains(om.formats, f) {
				t.Errorf("m-line %d answers format %s, which was not offered", i, f)
			}
		}
		if am.port == 0 {
			continue
		}
		st := neg.Audio
		if am.media == "video" {
			st = neg.Video
		}
		if st.Index != i {
			t.Errorf("%v stream index %d, want %d", st.Kind, st.Index, i)
		}
		if am.dir != st.Direction {
			t.Errorf("m-line %d written %v, negotiated %v", i, am.dir, st.Direction)
		}
		switch st.Crypto.Method {
		case SDES:
			if len(am.crypto) != 1 || am.crypto[0].keyParams != st.Crypto.Local.Inline() || am.crypto[0].tag != st.Crypto.Tag {
				t.Errorf("m-line %d's a=crypto %+v is not roomd's key under tag %d", i, am.crypto, st.Crypto.Tag)
			}
			if slices.ContainsFunc(om.crypto, func(c cryptoLine) bool { return c.keyParams == st.Crypto.Local.Inline() }) {
				t.Error("roomd answered with the far end's own key")
			}
		case DTLSSRTP:
			wantSetup := map[DTLSRole]string{DTLSClient: "active", DTLSServer: "passive"}[st.Crypto.Role]
			if am.setup != wantSetup || len(am.fps) != 1 || am.fps[0] != testFingerprint {
				t.Errorf("m-line %d: setup %q fingerprints %v, want %s and roomd's", i, am.setup, am.fps, wantSetup)
			}
		default:
			if len(am.crypto) != 0 || len(am.fps) != 0 {
				t.Errorf("plain m-line %d carries keys", i)
			}
		}
		if am.rtcpMux != om.rtcpMux {
			t.Errorf("m-line %d rtcp-mux %v, offered %v", i, am.rtcpMux, om.rtcpMux)
		}
	}
}

// withG722 lets a room negotiate G.722 (not in the defaults yet).
func withG722(c *Config) { c.AudioCodecs = []string{Opus, G722, PCMU, PCMA} }

// TestAnswerRefusals: each reason roomd refuses an offer for, with the
// message the room shows.
func TestAnswerRefusals(t *testing.T) {
	plain := fixture(t, "offers/baresip-plain.sdp")
	srtp := fixture(t, "offers/baresip-srtp-mand.sdp")
	preferred := func(c *Config) { c.Encryption = EncryptionPreferred }
	for _, tc := range []struct {
		name  string
		offer []byte
		mod   func(*Config)
		is    error  // errors.Is target
		msg   string // part of the message
	}{
		{"plain RTP, encryption required", plain, nil, ErrPlainRTP, "sdp: far end offers only plain RTP and encryption is required"},
		{"DTLS only, no certificate", fixture(t, "offers/baresip-dtls-srtp.sdp"), nil, ErrNoDTLS, "only DTLS-SRTP"},
		{"AES-256 suites only", fixture(t, "offers/zoiper-aes256-only.sdp"), nil, ErrNotAcceptable, "no key roomd can use"},
		{"no common audio codec", edit(t, plain, "RTP/AVP 96 9 0 8 101", "RTP/AVP 18 101", "a=rtpmap:96 opus", "a=rtpmap:18 G729/8000\na=rtpmap:95 opus"),
			preferred, ErrNotAcceptable, "sdp: no common audio codec (far end offers G729)"},
		{"video only", dropLines(t, plain, "m=audio"), preferred, ErrNoAudio, "no audio stream"},
		{"audio port 0", edit(t, plain, "m=audio 1994", "m=audio 0"), preferred, ErrNoAudio, "no audio stream"},
		{"holdconn", edit(t, fixture(t, "offers/baresip-dtls-srtp.sdp"), "a=setup:actpass", "a=setup:holdconn"), withDTLS, ErrNotAcceptable, "a=setup:holdconn"},
		{"DTLS without fingerprint", dropLines(t, fixture(t, "offers/baresip-dtls-srtp.sdp"), "a=fingerprint"), withDTLS, ErrNotAcceptable, "without a certificate fingerprint"},
		{"unencrypted SRTP", edit(t, srtp, "inline:31x5csh4t3YybP4pMIElw7eNMXdl9Ve04jgNCRMp", "inline:31x5csh4t3YybP4pMIElw7eNMXdl9Ve04jgNCRMp UNENCRYPTED_SRTP"),
			nil, ErrNotAcceptable, "weakens SRTP with UNENCRYPTED_SRTP"},
		{"key derivation rate", edit(t, srtp, "inline:31x5csh4t3YybP4pMIElw7eNMXdl9Ve04jgNCRMp", "inline:31x5csh4t3YybP4pMIElw7eNMXdl9Ve04jgNCRMp KDR=1"),
			nil, ErrNotAcceptable, "key derivation rate 1"},
		{"short key", edit(t, srtp, "inline:31x5csh4t3YybP4pMIElw7eNMXdl9Ve04jgNCRMp", "inline:MTIzNDU2"), nil, ErrNotAcceptable, "not 30 bytes"},
		{"AVP with unusable key, required", edit(t, plain, "a=sendrecv\na=label:1", "a=sendrecv\na=label:1\na=crypto:1 F8_128_HMAC_SHA1_80 inline:MTIzNDU2"),
			nil, ErrNotAcceptable, "keys roomd cannot use (srtpkey: \"F8_128_HMAC_SHA1_80\""},
		{"RTP over TCP", edit(t, plain, "m=audio 1994 RTP/AVP", "m=audio 1994 TCP/RTP/AVP"), preferred, ErrNotAcceptable, "audio over TCP/RTP/AVP, which roomd does not speak"},
		{"malformed", []byte("v=0\r\no=broken\r\n"), nil, ErrMalformed, "malformed session description"},
		{"not SDP", []byte("\x00\xff<html>"), nil, ErrMalformed, "malformed"},
		{"too large", append(append([]byte{}, plain...), strings.Repeat("a=x-padding:0123456789abcdef\n", MaxSize/20)...), preferred, ErrMalformed, "more than the 65536 roomd reads"},
		{"too many m-lines", append(append([]byte{}, plain...), strings.Repeat("m=audio 0 RTP/AVP 0\n", MaxMediaLines)...), preferred, ErrMalformed, "m-lines, more than the 16"},
		{"session-level host name", edit(t, plain, "c=IN IP4 192.0.2.2", "c=IN IP4 host.atlanta.example.com"), preferred, ErrMalformed, "\"host.atlanta.example.com\" is not an IP address"},
		{"no connection address", dropLines(t, plain, "c=IN IP4"), preferred, ErrMalformed, "m-line 0 has no connection address"},
		{"media-level host name", edit(t, plain, "m=audio 1994 RTP/AVP 96 9 0 8 101\n", "m=audio 1994 RTP/AVP 96 9 0 8 101\nc=IN IP4 media.example.com\n"), preferred, ErrMalformed, "is not an IP address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, roomConfig("192.0.2.1", 40000, tc.mod))
			answer, neg, err := s.Answer(tc.offer, SendRecv)
			if err == nil {
				t.Fatalf("accepted: %v\n%s", neg, answer)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want %v containing %q", err, tc.is, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "sdp: ") || answer != nil || neg != nil {
				t.Errorf("error %q (answer %d bytes): want an sdp: error and nothing else", err, len(answer))
			}
			if errors.Is(err, ErrMalformed) == errors.Is(err, ErrNotAcceptable) {
				t.Errorf("%q is both or neither malformed and not acceptable", err)
			}
			if s.Negotiated() != nil {
				t.Error("a refused offer changed the session")
			}
		})
	}
}

// TestAnswerVideoRefusals: video that cannot be taken leaves an audio
// call, with the reason.
func TestAnswerVideoRefusals(t *testing.T) {
	plain := fixture(t, "offers/baresip-plain.sdp")
	for _, tc := range []struct {
		name  string
		offer []byte
		mod   func(*Config)
		msg   string
	}{
		{"H.263 only", edit(t, plain, "RTP/AVP 96 97 34 98 99 100", "RTP/AVP 34"), nil, "sdp: no common video codec (far end offers H263)"},
		{"High profile only", edit(t, plain, "RTP/AVP 96 97 34 98 99 100", "RTP/AVP 96", "profile-level-id=42e01f", "profile-level-id=64001f"), nil, "no common video codec (far end offers H264)"},
		{"presentation only", edit(t, plain, "a=content:main", "a=content:slides"), nil, "presentation video"},
		{"room without video", plain, func(c *Config) { c.VideoPort = 0 }, "roomd sends no video"},
		{"VP8 build without VP8", edit(t, plain, "RTP/AVP 96 97 34 98 99 100", "RTP/AVP 100"), func(c *Config) { c.VideoCodecs = []string{H264} }, "far end offers VP8); roomd speaks H264"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) {
				c.Encryption = EncryptionPreferred
				if tc.mod != nil {
					tc.mod(c)
				}
			}))
			answer, neg, err := s.Answer(tc.offer, SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			if neg.Video != nil || neg.VideoRefused == nil || !strings.Contains(neg.VideoRefused.Error(), tc.msg) {
				t.Fatalf("video %v refused %v, want refused with %q", neg.Video, neg.VideoRefused, tc.msg)
			}
			if !errors.Is(neg.VideoRefused, ErrNotAcceptable) || !strings.Contains(neg.String(), "no video: ") {
				t.Errorf("refusal %v, summary %q", neg.VideoRefused, neg)
			}
			checkAnswer(t, tc.offer, answer, neg, []int{1, 0})
		})
	}
}

// TestAnswerMultipleAudio: the first usable audio m-line is taken, the
// others rejected.
func TestAnswerMultipleAudio(t *testing.T) {
	plain := fixture(t, "offers/baresip-plain.sdp")
	audio := plain[strings.Index(string(plain), "m=audio"):strings.Index(string(plain), "m=video")]
	// A first audio line with only G.729, then baresip's.
	offer := edit(t, plain, "m=audio 1994", "m=audio 1000 RTP/AVP 18\na=rtpmap:18 G729/8000\n"+string(audio)+"m=audio 1994")
	s := newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) { c.Encryption = EncryptionPreferred }))
	answer, neg, err := s.Answer(offer, SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if neg.Audio.Index != 1 || neg.Audio.Remote.Port() != 1994 || neg.Video.Index != 3 {
		t.Errorf("took audio m-line %d (port %d), video %d; want 1 (1994) and 3", neg.Audio.Index, neg.Audio.Remote.Port(), neg.Video.Index)
	}
	checkAnswer(t, offer, answer, neg, []int{0, 1, 0, 1})
}

// TestAnswerAddresses: where RTP and RTCP go, from c= and a=rtcp.
func TestAnswerAddresses(t *testing.T) {
	webrtc := fixture(t, "offers/webrtc-dtls-ice.sdp")
	for _, tc := range []struct {
		name      string
		offer     []byte
		rtp, rtcp string
		dir       Direction
	}{
		// a=rtcp's 0.0.0.0 means "same address as RTP".
		{"rtcp port without address", dropLines(t, webrtc, "a=rtcp-mux"), "203.0.113.77:50000", "203.0.113.77:9", SendRecv},
		{"rtcp with its own address", edit(t, dropLines(t, webrtc, "a=rtcp-mux"), "a=rtcp:9 IN IP4 0.0.0.0", "a=rtcp:50001 IN IP4 198.51.100.1"),
			"203.0.113.77:50000", "198.51.100.1:50001", SendRecv},
		// Beside ICE candidates, 0.0.0.0 is "no default address yet", not hold.
		{"0.0.0.0 with candidates", edit(t, webrtc, "c=IN IP4 203.0.113.77", "c=IN IP4 0.0.0.0"), "", "", SendRecv},
		{"0.0.0.0 without candidates", dropLines(t, edit(t, webrtc, "c=IN IP4 203.0.113.77", "c=IN IP4 0.0.0.0"), "a=candidate"), "", "", RecvOnly},
		{"IPv6", edit(t, webrtc, "c=IN IP4 203.0.113.77", "c=IN IP6 2001:db8::77"), "[2001:db8::77]:50000", "[2001:db8::77]:50000", SendRecv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, roomConfig("192.0.2.1", 40000, withDTLS))
			_, neg, err := s.Answer(tc.offer, SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			a := neg.Audio
			if addrString(a.Remote) != tc.rtp || addrString(a.RemoteRTCP) != tc.rtcp || a.Direction != tc.dir {
				t.Errorf("RTP %v RTCP %v %v, want %q %q %v", a.Remote, a.RemoteRTCP, a.Direction, tc.rtp, tc.rtcp, tc.dir)
			}
		})
	}
}
