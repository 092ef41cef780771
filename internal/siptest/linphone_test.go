package siptest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
)

// linphonec calls an auto-answering baresip that offers only PCMU and
// H.264 (the codec-fallback far end): the call connects, each side decodes
// the other's bars, and audio reaches both.
func TestLinphoneCallsBaresip(t *testing.T) {
	bs := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true,
		AudioCodecs: []string{"PCMU"}, VideoCodecs: []string{"H264"}})
	begin := time.Now()
	lp := siptest.StartLinphone(t, &siptest.LinphoneOptions{User: "carol", Video: true})
	t.Logf("linphonec up in %v (SIP %d)", time.Since(begin), lp.Port)

	lp.Call(bs.URI("udp"))
	if which, m := lp.WaitLine(10*time.Second, siptest.LinphoneConnected, siptest.LinphoneEnded); which != 0 {
		t.Fatalf("linphonec's call did not connect: %q", m[0])
	}
	bs.Expect(10*time.Second, siptest.EventCallEstablished)
	lp.WaitLine(10*time.Second, siptest.LinphoneStreams)
	for _, want := range []string{"Set audio encoder: PCMU", "Set video encoder: H264 packetization-mode=0"} {
		if !strings.Contains(bs.Log(), want) {
			t.Errorf("baresip's log lacks %q: the call did not fall back to PCMU and H.264 mode 0", want)
		}
	}

	img, err := bs.ReceivedFrame(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := siptest.CheckBars(img); err != nil {
		t.Errorf("baresip received from linphonec: %v", err)
	}
	img, err = lp.ReceivedFrame(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := siptest.CheckBars(img); err != nil {
		t.Errorf("linphonec received from baresip: %v", err)
	}
	time.Sleep(time.Second) // let a second of audio accumulate
	lp.Terminate()
	bs.Expect(5*time.Second, siptest.EventCallClosed)
	lp.WaitLine(5*time.Second, siptest.LinphoneEnded)
	// linphonec writes its recording's header when the call ends.
	for name, get := range map[string]func() (siptest.Audio, error){"baresip": bs.ReceivedAudio, "linphonec": lp.ReceivedAudio} {
		a, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Duration() < 500*time.Millisecond || a.RMS() < 500 {
			t.Errorf("%s received %v of audio at RMS %.0f (%s)", name, a.Duration(), a.RMS(), a.Path)
		}
	}
}

// linphonec registers with Kamailio and a registered baresip calls it
// there; linphonec answers by itself.
func TestBaresipCallsRegisteredLinphoneThroughKamailio(t *testing.T) {
	k := siptest.StartKamailio(t, nil)
	lp := siptest.StartLinphone(t, &siptest.LinphoneOptions{AutoAnswer: true,
		Account: &siptest.Account{User: "bob", Password: k.Users["bob"], Domain: k.Domain}})
	lp.WaitRegistered(10 * time.Second)
	if _, err := k.WaitRegistered("bob", 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	bs := siptest.StartBaresip(t, &siptest.Options{NoVideo: true,
		Account: &siptest.Account{User: "alice", Password: k.Users["alice"], Domain: k.Domain}})
	bs.Expect(5*time.Second, siptest.EventRegisterOK)
	bs.Dial(k.AOR("bob"))
	if ev := bs.Expect(10*time.Second, siptest.EventCallEstablished, siptest.EventCallClosed); ev.Type != siptest.EventCallEstablished {
		t.Fatalf("call to linphonec through kamailio: %v", ev)
	}
	lp.WaitLine(5*time.Second, siptest.LinphoneConnected)
	bs.Hangup()
	if _, m := lp.WaitLine(5*time.Second, siptest.LinphoneEnded); m == nil {
		t.Fatal("linphonec saw no hang-up")
	}
}
