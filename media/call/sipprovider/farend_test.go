package sipprovider

import (
	"context"
	"fmt"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// Tests against a real far end nobody here wrote (Debian's baresip,
// internal/siptest): they fail, not skip, when it is missing under
// CI=true, and skip under -short.

// TestBaresipAnswersRoom: the room calls baresip (auto-answer, plain RTP
// under the "preferred" policy); both decode each other's video and audio,
// DTMF reaches baresip, and baresip's hang-up ends the call with the
// reason.
func TestBaresipAnswersRoom(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{})
	begin := time.Now()
	g.join(b.URI("udp"))
	g.wait(t, room.InCall, 15*time.Second)
	t.Logf("INVITE → in call: %v", time.Since(begin))

	// roomd shows baresip's bars.
	eventually(t, 10*time.Second, "a picture from baresip on roomd's screen", func() bool {
		st := g.engine.Stats()
		for _, n := range st.FramesDecoded {
			if n > 0 {
				return true
			}
		}
		return false
	})
	t.Logf("INVITE → first remote frame decoded: %v", time.Since(begin))
	parts := g.comp.Participants()
	if len(parts) != 1 {
		t.Fatalf("participants on screen %v; want baresip alone", parts)
	}
	var barsErr error
	eventually(t, 5*time.Second, "baresip's bars on roomd's screen", func() bool {
		img, _ := g.comp.Compose()
		barsErr = siptest.CheckBars(img)
		return barsErr == nil
	})

	// baresip shows roomd's pattern.
	var patErr error
	eventually(t, 15*time.Second, "roomd's pattern at baresip", func() bool {
		img, err := b.ReceivedFrame(3 * time.Second)
		if err != nil {
			patErr = err
			return false
		}
		patErr = checkPattern(img)
		return patErr == nil
	})

	// Audio both ways.
	eventually(t, 5*time.Second, "roomd's tone at baresip", func() bool {
		a, err := b.ReceivedAudio()
		return err == nil && a.Duration() > 500*time.Millisecond && a.RMS() > 300
	})
	eventually(t, 5*time.Second, "baresip's tone in roomd's speaker mix", func() bool {
		return g.mixer.Stats().Received > 0
	})

	// DTMF from the room, as its SendDTMF action asks the engine.
	if err := g.engine.SendDTMF(1, "12#"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	eventually(t, 5*time.Second, "DTMF 12# at baresip", func() bool { return b.DTMFReceived() == "12#" })

	// baresip hangs up.
	b.Hangup()
	r := g.wait(t, room.Idle, 5*time.Second)
	if r.Reason != whyHungUp {
		t.Errorf("ended with %q; want %q", r.Reason, whyHungUp)
	}
	if len(g.comp.Participants()) != 0 {
		t.Errorf("baresip still on screen after the call: %v", g.comp.Participants())
	}
}

// TestBaresipKilledFailsTheCall: baresip dies mid-call (no BYE); after
// the RTP timeout the room shows 'reconnecting' and calls back, and the
// failed call back fails the call with the reason.
func TestBaresipKilledFailsTheCall(t *testing.T) {
	const timeout = 2 * time.Second
	b, g := inCallWithBaresip(t, timeout)
	b.Kill()
	killed := time.Now()
	r := g.wait(t, room.Reconnecting, 2*timeout)
	t.Logf("killed → reconnecting in %v: %q", time.Since(killed), r.Reason)
	r = g.wait(t, room.Failed, 3*timeout)
	t.Logf("killed → failed in %v: %q", time.Since(killed), r.Reason)
	if !strings.Contains(r.Reason, "no media from the far end") || !strings.Contains(r.Reason, "calling back failed") {
		t.Errorf("failed with %q; want the media timeout and the failed call back", r.Reason)
	}
}

// TestEncryption: an SDES-SRTP call and a DTLS-SRTP one (with and
// without rtcp-mux: baresip then runs a DTLS handshake on each RTP and
// RTCP port) carry video both ways; "required" refuses a far end that
// only does plain RTP, with the reason.
func TestEncryption(t *testing.T) {
	dtls := Config{Keying: sdp.KeyingDTLS}
	for _, tc := range []struct {
		name   string
		far    siptest.MediaEncryption
		mux    bool // baresip takes rtcp-mux
		cfg    Config
		crypto string // in the call's log line; "" means refused
		// secured are the components baresip reports secure.
		secured []string
	}{
		{"sdes", siptest.EncryptionSDESMandatory, false, Config{}, "SDES", []string{"audio,AES_CM_128_HMAC_SHA1_80", "video,AES_CM_128_HMAC_SHA1_80"}},
		{"dtls", siptest.EncryptionDTLS, false, dtls, "DTLS-SRTP", dtlsComponents(false)},
		{"dtls-rtcp-mux", siptest.EncryptionDTLS, true, dtls, "DTLS-SRTP", dtlsComponents(true)},
		{"required-vs-plain", siptest.EncryptionNone, false, Config{}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true, Encryption: tc.far, RTCPMux: tc.mux})
			g := newRig(t, tc.cfg, ua.Config{})
			g.join(b.URI("udp"))
			if tc.crypto == "" {
				r := g.wait(t, room.Failed, 15*time.Second)
				t.Logf("refused: %q", r.Reason)
				if !strings.Contains(r.Reason, "codec or encryption") {
					t.Errorf("refused with %q; want the reason (no common encryption)", r.Reason)
				}
				return
			}
			g.wait(t, room.InCall, 15*time.Second)
			b.Expect(5*time.Second, siptest.EventCallEstablished)
			seeEachOther(t, b, g)
			if got := g.prov.Crypto(); !strings.Contains(got, tc.crypto) {
				t.Errorf("call's crypto %q; want %s", got, tc.crypto)
			}
			checkSecured(t, b, g, tc.secured)
		})
	}
}

// TestBaresipCallsRoomDTLS: baresip calls the room with DTLS-SRTP (its
// a=setup:actpass makes the room the DTLS client), with and without
// rtcp-mux; the room answers and both decode each other's video.
func TestBaresipCallsRoomDTLS(t *testing.T) {
	for _, mux := range []bool{false, true} {
		t.Run(map[bool]string{false: "rtcp-port", true: "rtcp-mux"}[mux], func(t *testing.T) {
			b := siptest.StartBaresip(t, &siptest.Options{User: "bob", Encryption: siptest.EncryptionDTLS, RTCPMux: mux})
			g := newRig(t, Config{Keying: sdp.KeyingDTLS}, ua.Config{Inbound: ua.Policy{Kind: ua.PolicyRing}})
			b.Dial(g.ua.Contact(ua.UDP))
			g.answer(t)
			g.wait(t, room.InCall, 10*time.Second)
			b.Expect(5*time.Second, siptest.EventCallEstablished)
			seeEachOther(t, b, g)
			if got := g.prov.Crypto(); !strings.Contains(got, "DTLS-SRTP (roomd is the DTLS client)") {
				t.Errorf("call's crypto %q; want DTLS-SRTP with the room as client", got)
			}
			checkSecured(t, b, g, dtlsComponents(mux))
		})
	}
}

// seeEachOther waits for roomd's pattern at baresip and baresip's bars on
// the room's screen.
func seeEachOther(t *testing.T, b *siptest.Baresip, g *rig) {
	t.Helper()
	eventually(t, 10*time.Second, "roomd's pattern at baresip", func() bool {
		img, err := b.ReceivedFrame(2 * time.Second)
		return err == nil && checkPattern(img) == nil
	})
	eventually(t, 10*time.Second, "baresip's bars on roomd's screen", g.seesBars)
}

// dtlsComponents are the DTLS associations baresip makes in a call with
// audio and video: RTP and RTCP each, or RTP alone with rtcp-mux.
func dtlsComponents(mux bool) []string {
	if mux {
		return []string{"audio,RTP", "video,RTP"}
	}
	return []string{"audio,RTCP", "audio,RTP", "video,RTCP", "video,RTP"}
}

// checkSecured waits until baresip has reported each of want secure
// (CALL_MENC) and no other component, and for RTCP to decrypt at
// baresip (CALL_RTCP: the room's sender reports, audio and video). When
// RTCP has DTLS keys of its own it also waits for baresip's RTCP to
// decrypt at the room (baresip's first report comes after about 5 s).
func checkSecured(t *testing.T, b *siptest.Baresip, g *rig, want []string) {
	t.Helper()
	eventually(t, 5*time.Second, "the room's audio and video RTCP at baresip", func() bool {
		var audio, video bool
		for _, e := range b.Events() {
			audio = audio || e.Type == siptest.EventCallRTCP && e.Param == "audio"
			video = video || e.Type == siptest.EventCallRTCP && e.Param == "video"
		}
		return audio && video
	})
	if slices.Contains(want, "audio,RTCP") {
		began := time.Now()
		eventually(t, 12*time.Second, "baresip's RTCP at the room", func() bool {
			st, ok := g.prov.audioStats()
			return ok && st.RTCPReceived > 0
		})
		t.Logf("baresip's first RTCP after %v", time.Since(began).Round(time.Millisecond))
	}
	if st, _ := g.prov.audioStats(); st.DecryptFailures != 0 {
		// baresip starts a stream when its first component is secure
		// and sends a packet or two in the clear on the other: dropped.
		t.Logf("%d packets from baresip did not authenticate (dropped)", st.DecryptFailures)
	}
	if strings.Contains(b.Log(), "failed to decrypt") {
		t.Errorf("baresip could not decrypt the room's packets:\n%s", b.Log())
	}
	var got []string
	eventually(t, 5*time.Second, fmt.Sprintf("baresip reporting %v secure", want), func() bool {
		got = slices.Sorted(slices.Values(b.Secured()))
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Errorf("baresip reported %v secure; want %v", got, want)
	}
	t.Logf("baresip: secure %v", got)
}

// TestBaresipCallsRoom: baresip calls the room, which rings (inbound
// "ring"); the room answers and both decode each other's video.
func TestBaresipCallsRoom(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob"})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{Inbound: ua.Policy{Kind: ua.PolicyRing}})
	b.Dial(g.ua.Contact(ua.UDP))
	ic := g.answer(t)
	if !strings.HasPrefix(ic.From, "sip:bob@") {
		t.Errorf("caller %q; want sip:bob@…", ic.From)
	}
	g.wait(t, room.InCall, 10*time.Second)
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	eventually(t, 10*time.Second, "baresip's bars on roomd's screen", func() bool {
		img, _ := g.comp.Compose()
		return len(g.comp.Participants()) == 1 && siptest.CheckBars(img) == nil
	})
	eventually(t, 15*time.Second, "roomd's pattern at baresip", func() bool {
		img, err := b.ReceivedFrame(2 * time.Second)
		return err == nil && checkPattern(img) == nil
	})
}

// TestRoomToRoom: two rooms on loopback, no registrar: room A calls room
// B by IP with SDES-SRTP; B rings and answers; each shows the other's
// pattern.
func TestRoomToRoom(t *testing.T) {
	roomToRoom(t, Config{}, "SDES")
}

// TestRoomToRoomDTLS is TestRoomToRoom keyed with DTLS-SRTP.
func TestRoomToRoomDTLS(t *testing.T) {
	roomToRoom(t, Config{Keying: sdp.KeyingDTLS}, "DTLS")
}

func roomToRoom(t *testing.T, cfg Config, crypto string) {
	testtool.SkipInShortMode(t, "two call engines encoding H.264")
	a := newRig(t, cfg, ua.Config{User: "room-a"})
	b := newRig(t, cfg, ua.Config{User: "room-b", Inbound: ua.Policy{Kind: ua.PolicyRing}})
	begin := time.Now()
	a.join(b.ua.Contact(ua.TCP))
	b.answer(t)
	a.wait(t, room.InCall, 10*time.Second)
	b.wait(t, room.InCall, 10*time.Second)
	eventually(t, 10*time.Second, "B's pattern on A's screen", a.seesPattern)
	t.Logf("INVITE → A shows B's pattern: %v", time.Since(begin))
	eventually(t, 10*time.Second, "A's pattern on B's screen", b.seesPattern)
	if got := a.prov.Crypto(); !strings.Contains(got, crypto) {
		t.Errorf("room to room crypto %q; want %s", got, crypto)
	}
}

// TestBaresipHoldsRoom: baresip puts the room on hold for longer than the
// RTP timeout and resumes; the call stays up and its video comes back.
func TestBaresipHoldsRoom(t *testing.T) {
	const timeout = 2 * time.Second
	b, g := inCallWithBaresip(t, timeout)
	b.Expect(5*time.Second, siptest.EventCallEstablished)
	b.Hold()
	eventually(t, 5*time.Second, "the room on hold", g.prov.cfgHeld)
	time.Sleep(timeout + time.Second)
	b.Resume()
	eventually(t, 5*time.Second, "the room off hold", func() bool { return !g.prov.cfgHeld() })
	frames := func() uint64 {
		var n uint64
		for _, f := range g.engine.Stats().FramesDecoded {
			n += f
		}
		return n
	}
	before := frames()
	eventually(t, 5*time.Second, "baresip's video after resume", func() bool { return frames() > before+5 })
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.reports {
		if r.State != room.InCall {
			t.Errorf("the call went %v (%q) during hold", r.State, r.Reason)
		}
	}
}

// TestIncomingDeclinedAndGone: the room declines one ringing call (baresip
// hears 603) and reports another whose caller gave up.
func TestIncomingDeclinedAndGone(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob"})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{Inbound: ua.Policy{Kind: ua.PolicyRing}})
	b.Dial(g.ua.Contact(ua.UDP))
	var ic room.IncomingCallReported
	select {
	case ic = <-g.ringing:
	case <-time.After(10 * time.Second):
		t.Fatal("no call rang the room")
	}
	g.engine.Decline(ic.ID)
	ev := b.Expect(5*time.Second, siptest.EventCallClosed)
	t.Logf("baresip: %q", ev.Param)
	if !strings.Contains(ev.Param, "603") && !strings.Contains(strings.ToLower(ev.Param), "decline") {
		t.Errorf("baresip's call closed with %q; want 603 Decline", ev.Param)
	}
	b.Dial(g.ua.Contact(ua.UDP))
	select {
	case <-g.ringing:
	case <-time.After(10 * time.Second):
		t.Fatal("the second call never rang the room")
	}
	b.Hangup()
	select {
	case x := <-g.gone:
		t.Logf("gone: %q", x.Reason)
		if x.Reason == "" {
			t.Error("the caller gave up without a reason")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the room was never told the caller gave up")
	}
}

// waitRegistration waits for the room to be told the registration
// reached status.
func (g *rig) waitRegistration(t *testing.T, status string) room.SIPRegistrationReported {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-g.regs:
			if r.Status == status {
				return r
			}
		case <-deadline:
			t.Fatalf("the registration never reached %s", status)
		}
	}
}

// TestKamailioRegisteredRoomCallsBaresip: the room registers to Kamailio
// (digest auth; the room is told), calls baresip's address of record
// through it and shows baresip's bars; a wrong password is reported as
// Failed with the reason.
func TestKamailioRegisteredRoomCallsBaresip(t *testing.T) {
	k := siptest.StartKamailio(t, &siptest.KamailioOptions{AuthCalls: true})
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true, Account: &siptest.Account{User: "bob", Password: k.Users["bob"], Domain: k.Domain}})
	b.Expect(10*time.Second, siptest.EventRegisterOK)

	bad := newRig(t, Config{}, ua.Config{Account: &ua.Account{AOR: k.AOR("alice"), Registrar: k.Proxy("udp"), Password: ua.NewSecret("not-alices")}})
	r := bad.waitRegistration(t, room.SIPFailed)
	t.Logf("wrong password: %q", r.Reason)
	if r.Reason == "" || strings.Contains(r.Reason, "not-alices") {
		t.Errorf("failed registration reason %q: want a reason without the password", r.Reason)
	}

	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{User: "alice", Account: &ua.Account{AOR: k.AOR("alice"), Registrar: k.Proxy("udp"), Password: ua.NewSecret(k.Users["alice"])}})
	if r := g.waitRegistration(t, room.SIPRegistered); r.URI != k.AOR("alice") {
		t.Errorf("registered as %q; want %q", r.URI, k.AOR("alice"))
	}
	g.join(k.AOR("bob"))
	g.wait(t, room.InCall, 15*time.Second)
	eventually(t, 10*time.Second, "baresip's bars on roomd's screen", func() bool {
		img, _ := g.comp.Compose()
		return len(g.comp.Participants()) == 1 && siptest.CheckBars(img) == nil
	})
}

// inCallWithBaresip starts baresip (auto-answer) and a room with the RTP
// timeout given, and calls baresip.
func inCallWithBaresip(t *testing.T, timeout time.Duration) (*siptest.Baresip, *rig) {
	t.Helper()
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred, RTPTimeout: timeout}, ua.Config{})
	g.join(b.URI("udp"))
	g.wait(t, room.InCall, 15*time.Second)
	return b, g
}

// TestCodecFallback: baresip offers only PCMU and H.264 (packetization
// mode 0 first) and calls the room; the room answers with them, each
// shows the other's video, and both hear each other.
func TestCodecFallback(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AudioCodecs: []string{"PCMU/8000/1"}, VideoCodecs: []string{"H264"}})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{Inbound: ua.Policy{Kind: ua.PolicyRing}})
	b.Dial(g.ua.Contact(ua.UDP))
	g.answer(t)
	g.wait(t, room.InCall, 10*time.Second)
	// The provider notes the negotiation just after it reports the call
	// connected.
	eventually(t, 2*time.Second, "PCMU and H.264 packetization-mode 0 negotiated", func() bool {
		neg := g.prov.negotiated()
		return strings.Contains(neg, "PCMU") && strings.Contains(neg, "packetization-mode 0")
	})
	eventually(t, 10*time.Second, "baresip's bars on roomd's screen", func() bool {
		img, _ := g.comp.Compose()
		return len(g.comp.Participants()) == 1 && siptest.CheckBars(img) == nil
	})
	// Mode 0 cannot fragment a NAL unit: the room's encoder cuts its
	// pictures into slices that fit one packet, so baresip decodes whole
	// key frames and shows the room's pattern.
	eventually(t, 15*time.Second, "roomd's pattern at baresip in mode 0", func() bool {
		img, err := b.ReceivedFrame(3 * time.Second)
		if err == nil {
			err = checkPattern(img)
		}
		if err != nil {
			t.Logf("roomd's pattern at baresip: %v", err)
		}
		return err == nil
	})
	eventually(t, 5*time.Second, "roomd's tone at baresip in G.711", func() bool {
		a, err := b.ReceivedAudio()
		return err == nil && a.Duration() > 500*time.Millisecond && a.RMS() > 300
	})
	eventually(t, 5*time.Second, "baresip's tone in roomd's speaker mix", func() bool { return g.mixer.Stats().Received > 0 })
}

// TestLinphoneAnswersRoom: a second implementation, linphonec, answers
// the room's call with audio and video; each decodes the other's video.
func TestLinphoneAnswersRoom(t *testing.T) {
	lp := siptest.StartLinphone(t, &siptest.LinphoneOptions{User: "carol", AutoAnswer: true, Video: true})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{})
	g.join(lp.URI())
	g.wait(t, room.InCall, 15*time.Second)
	t.Logf("negotiated with linphonec: %s", g.prov.negotiated())
	eventually(t, 15*time.Second, "linphonec's bars on roomd's screen", func() bool {
		img, _ := g.comp.Compose()
		return len(g.comp.Participants()) == 1 && siptest.CheckBars(img) == nil
	})
	var err error
	eventually(t, 15*time.Second, "roomd's pattern at linphonec", func() bool {
		var img image.Image
		if img, err = lp.ReceivedFrame(3 * time.Second); err == nil {
			err = checkPattern(img)
		}
		return err == nil
	})
}

// TestAutomaticDTMF: a link with dtmf= and a meeting passcode: once in the
// call, the room sends the link's digits, a pause, the passcode and '#'.
func TestAutomaticDTMF(t *testing.T) {
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true, NoVideo: true})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred}, ua.Config{})
	g.engine.Start(context.Background(), 1, room.Meeting{ID: "ivr", URI: b.URI("udp") + ";dtmf=12", Passcode: "345"})
	g.wait(t, room.InCall, 15*time.Second)
	begin := time.Now()
	eventually(t, 10*time.Second, "the IVR digits at baresip", func() bool { return b.DTMFReceived() == "12345#" })
	t.Logf("digits in %v (1 s wait, ',' a 2 s pause)", time.Since(begin))
}
