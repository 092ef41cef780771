package sdp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"
)

// TestOfferContents checks roomd's first offer under each policy: pion's
// parser takes it, and it has the profile, keys and codecs the policy
// promises.
func TestOfferContents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*Config)
		proto  string
		crypto int // a=crypto lines per m-line
		dtls   bool
	}{
		{"required", nil, "RTP/SAVP", 2, false},
		{"required AVPF", func(c *Config) { c.AVPF = true }, "RTP/SAVPF", 2, false},
		{"preferred", func(c *Config) { c.Encryption = EncryptionPreferred }, "RTP/AVP", 2, false},
		{"off", func(c *Config) { c.Encryption = EncryptionOff }, "RTP/AVP", 0, false},
		{"DTLS", func(c *Config) { withDTLS(c); c.Keying = KeyingDTLS }, "UDP/TLS/RTP/SAVPF", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, roomConfig("192.0.2.1", 40000, tc.mod))
			body, err := s.Offer(SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			var d psdp.SessionDescription
			if err := d.Unmarshal(body); err != nil {
				t.Fatalf("pion/sdp: %v\n%s", err, body)
			}
			rs := reparse(t, body)
			if len(rs.media) != 2 || rs.media[0].media != "audio" || rs.media[1].media != "video" {
				t.Fatalf("m-lines %v, want audio and video", d.MediaDescriptions)
			}
			for _, m := range rs.media {
				if m.proto != tc.proto || len(m.crypto) != tc.crypto || (len(m.fps) > 0) != tc.dtls || !m.rtcpMux || m.dir != SendRecv {
					t.Errorf("%s: proto %s, %d a=crypto, fingerprints %v, rtcp-mux %v, %v", m.media, m.proto, len(m.crypto), m.fps, m.rtcpMux, m.dir)
				}
				if tc.dtls && m.setup != "actpass" {
					t.Errorf("%s: a=setup:%s, want actpass", m.media, m.setup)
				}
				if m.addr.String() != "192.0.2.1" || m.rtcpPort != m.port+1 {
					t.Errorf("%s: address %v rtcp %d, port %d", m.media, m.addr, m.rtcpPort, m.port)
				}
			}
			var audio []string
			for _, pt := range rs.media[0].pts {
				r := rs.media[0].format(pt)
				audio = append(audio, fmt.Sprintf("%d %s/%d", pt, r.name, r.clock))
			}
			if got := strings.Join(audio, ", "); got != "111 opus/48000, 0 PCMU/8000, 8 PCMA/8000, 101 telephone-event/8000, 110 telephone-event/48000" {
				t.Errorf("audio formats: %s", got)
			}
			v := rs.media[1]
			if got := fmt.Sprint(v.pts); got != "[96 97 98]" {
				t.Errorf("video payload types %s", got)
			}
			for pt, mode := range map[uint8]int{96: 1, 97: 0} {
				p, prof, ok := parseH264(v.fmtps[pt])
				if !ok || p.PacketizationMode != mode || p.ProfileLevelID != "42e01f" || !prof.decodable() ||
					p.MaxFS != 3600 || p.MaxMBPS != 108000 || !p.LevelAsymmetryAllowed {
					t.Errorf("pt %d fmtp %q", pt, v.fmtps[pt])
				}
			}
			for _, pt := range v.pts {
				if got := v.feedback(pt); !slices.Equal(got, []string{"nack", "nack pli", "ccm fir", "ccm tmmbr", "goog-remb"}) {
					t.Errorf("pt %d rtcp-fb %v", pt, got)
				}
			}
		})
	}
}

// TestOfferVideoLimits: max-fs and max-mbps follow the encoder's limits.
func TestOfferVideoLimits(t *testing.T) {
	for _, tc := range []struct {
		limits   VideoLimits
		fs, mbps int
		bitrate  int
	}{
		{VideoLimits{}, 3600, 108000, 0},
		{VideoLimits{Width: 1920, Height: 1080, FPS: 30, MaxBitrate: 4_000_000}, 8160, 244800, 4_000_000},
		{VideoLimits{Width: 640, Height: 360, FPS: 15}, 920, 13800, 0},
	} {
		s := newSession(t, roomConfig("192.0.2.1", 40000, func(c *Config) { c.Video = tc.limits }))
		body, err := s.Offer(SendRecv)
		if err != nil {
			t.Fatal(err)
		}
		v := reparse(t, body).media[1]
		p, _, _ := parseH264(v.fmtps[ptH264Mode1])
		vp8 := fmtpParams(v.fmtps[ptVP8])
		if p.MaxFS != tc.fs || p.MaxMBPS != tc.mbps || intParam(vp8, "max-fs") != tc.fs || v.bandwidth != tc.bitrate {
			t.Errorf("%v: max-fs %d max-mbps %d vp8 %v bandwidth %d, want %d %d %d", tc.limits, p.MaxFS, p.MaxMBPS, vp8, v.bandwidth, tc.fs, tc.mbps, tc.bitrate)
		}
	}
}

// TestAnsweredBaresip reads baresip's real answers to roomd's offers.
func TestAnsweredBaresip(t *testing.T) {
	for _, tc := range []struct {
		file   string
		mod    func(*Config)
		method Method
		role   DTLSRole
		key    string // the far end's key as its a=crypto wrote it
	}{
		{"baresip-srtp-mand.sdp", nil, SDES, 0, "inline:DbRiY54esSNlGxr/Gz6k6dWPgmARAlLcNCp+cJgQ"},
		{"baresip-srtp-preferred.sdp", func(c *Config) { c.Encryption = EncryptionPreferred }, SDES, 0, "inline:ni7AIkaIcEX66CaeQClxw9sA1fUMGOafM2NuyqE8"},
		{"baresip-plain.sdp", func(c *Config) { c.Encryption = EncryptionPreferred }, Plain, 0, ""},
		{"baresip-plain.sdp", func(c *Config) { c.Encryption = EncryptionOff }, Plain, 0, ""},
		{"baresip-dtls-srtp.sdp", func(c *Config) { withDTLS(c); c.Keying = KeyingDTLS }, DTLSSRTP, DTLSServer, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s := newSession(t, roomConfig("127.0.0.1", 40000, tc.mod))
			if _, err := s.Offer(SendRecv); err != nil {
				t.Fatal(err)
			}
			neg, err := s.Answered(fixture(t, "answers/"+tc.file))
			if err != nil {
				t.Fatal(err)
			}
			a, v := neg.Audio, neg.Video
			if a == nil || v == nil {
				t.Fatalf("negotiated %v", neg)
			}
			if codecID(a) != "opus 111" || a.Codec().ReceivePT != 111 || a.DTMF == nil || a.DTMF.PT != 101 || a.DTMF.ClockRate != 8000 {
				t.Errorf("audio %v dtmf %v", a.Codecs, a.DTMF)
			}
			if codecID(v) != "H264 96" || v.Codec().H264.PacketizationMode != 1 || len(v.Codecs) != 3 || !v.Codecs[2].Is(VP8) || v.Feedback != (Feedback{PLI: true}) {
				t.Errorf("video %v feedback %+v", v.Codecs, v.Feedback)
			}
			if a.RTCPMux || a.Remote.Addr().String() != "192.0.2.2" || a.RemoteRTCP.Port() != a.Remote.Port()+1 {
				t.Errorf("audio to %v, RTCP %v (mux %v)", a.Remote, a.RemoteRTCP, a.RTCPMux)
			}
			for _, st := range []*Stream{a, v} {
				cr := st.Crypto
				if cr.Method != tc.method || cr.Role != tc.role || st.Direction != SendRecv {
					t.Errorf("%v: %v, %v", st.Kind, cr, st.Direction)
				}
				if tc.method == DTLSSRTP && (len(cr.RemoteFingerprints) != 1 || cr.RemoteFingerprints[0].Algorithm != "sha-256" ||
					!strings.HasPrefix(cr.RemoteFingerprints[0].Value, "BA:F0:4E")) {
					t.Errorf("%v fingerprints %v", st.Kind, cr.RemoteFingerprints)
				}
			}
			if tc.key != "" && a.Crypto.Remote.Inline() != tc.key {
				t.Error("the far end's audio key is not the one it answered with")
			}
			if _, err := s.Answered(fixture(t, "answers/"+tc.file)); !errors.Is(err, ErrNoOffer) {
				t.Errorf("a second answer: %v, want ErrNoOffer", err)
			}
		})
	}
}

// TestAnsweredRefusals: answers roomd cannot go on with.
func TestAnsweredRefusals(t *testing.T) {
	srtp := fixture(t, "answers/baresip-srtp-mand.sdp")
	plain := fixture(t, "answers/baresip-plain.sdp")
	for _, tc := range []struct {
		name   string
		mod    func(*Config)
		answer []byte
		is     error
		msg    string
	}{
		{"SRTP answer without a key", nil, dropLines(t, srtp, "a=crypto"), ErrNotAcceptable, "answered SRTP without a key roomd offered"},
		{"plain answer to SRTP", nil, plain, ErrNotAcceptable, "answered SRTP without a key"},
		{"unknown tag", nil, edit(t, srtp, "a=crypto:1 ", "a=crypto:7 "), ErrNotAcceptable, "without a key roomd offered"},
		{"suite swapped", nil, edit(t, srtp, "a=crypto:1 ", "a=crypto:2 "), ErrNotAcceptable, "with AES_CM_128_HMAC_SHA1_80; roomd offered AES_CM_128_HMAC_SHA1_32"},
		{"bad key", nil, edit(t, srtp, "inline:DbRiY54esSNlGxr/Gz6k6dWPgmARAlLcNCp+cJgQ", "inline:c2hvcnQ="), ErrNotAcceptable, "a key roomd cannot use"},
		{"audio rejected", nil, edit(t, srtp, "m=audio 47998", "m=audio 0"), ErrNotAcceptable, "far end rejected the audio stream"},
		{"m-line dropped", nil, srtp[:strings.Index(string(srtp), "m=video")], ErrMalformed, "the answer has 1 m-lines for an offer of 2"},
		{"DTLS to SDES", nil, fixture(t, "answers/baresip-dtls-srtp.sdp"), ErrNotAcceptable, "answered DTLS-SRTP (UDP/TLS/RTP/SAVPF) to an offer without it"},
		{"SDES to DTLS", func(c *Config) { withDTLS(c); c.Keying = KeyingDTLS }, srtp, ErrNotAcceptable, "answered the DTLS-SRTP offer with RTP/SAVP"},
		{"actpass answer", func(c *Config) { withDTLS(c); c.Keying = KeyingDTLS },
			edit(t, fixture(t, "answers/baresip-dtls-srtp.sdp"), "a=setup:active", "a=setup:actpass"), ErrNotAcceptable, "answered a=setup:actpass"},
		{"SAVP to plain", func(c *Config) { c.Encryption = EncryptionOff }, srtp, ErrNotAcceptable, "answered RTP/SAVP to a plain RTP offer"},
		{"no common codec", nil, edit(t, srtp, "RTP/SAVP 111 9 0 8 101", "RTP/SAVP 18", "a=rtpmap:111 opus", "a=rtpmap:18 G729/8000\na=rtpmap:95 opus"), ErrNotAcceptable, "no common audio codec (far end answers G729)"},
		{"garbage", nil, []byte("SIP/2.0 200 OK\r\n"), ErrMalformed, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, roomConfig("127.0.0.1", 40000, tc.mod))
			if _, err := s.Offer(SendRecv); err != nil {
				t.Fatal(err)
			}
			neg, err := s.Answered(tc.answer)
			if err == nil {
				t.Fatalf("accepted: %v", neg)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "sdp: ") {
				t.Errorf("error %q, want %v containing %q", err, tc.is, tc.msg)
			}
			if s.Negotiated() != nil {
				t.Error("a refused answer changed the session")
			}
		})
	}
}

// TestAnsweredVideoRejected: the far end turning video down leaves an
// audio call with the reason.
func TestAnsweredVideoRejected(t *testing.T) {
	s := newSession(t, roomConfig("127.0.0.1", 40000, nil))
	if _, err := s.Offer(SendRecv); err != nil {
		t.Fatal(err)
	}
	neg, err := s.Answered(edit(t, fixture(t, "answers/baresip-srtp-mand.sdp"), "m=video 20290", "m=video 0"))
	if err != nil {
		t.Fatal(err)
	}
	if neg.Video != nil || neg.VideoRefused == nil || neg.VideoRefused.Error() != "sdp: far end rejected the video stream" {
		t.Fatalf("video %v refused %v", neg.Video, neg.VideoRefused)
	}
	// A re-offer keeps the rejected m-line, at port 0.
	body, err := s.Offer(SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	rs := reparse(t, body)
	if len(rs.media) != 2 || rs.media[1].port != 0 || rs.media[1].media != "video" {
		t.Errorf("re-offer m-lines %+v", rs.media)
	}
}
