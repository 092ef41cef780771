package call

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/media/e2ee"
	"github.com/roomd/roomd/media/e2ee/sframe"
	"github.com/roomd/roomd/room"
)

// Frames sealed by one sender open on a receiver holding the meeting's
// key, whatever KID the sender drew; a receiver with another key, or clear
// frames, fail and are counted, and after three failures in a row the
// participant's tile says "cannot decrypt" and status names them.
func TestFrameCrypt(t *testing.T) {
	comp := display.NewCompositor(320, 180)
	e := &Engine{cfg: Config{Compositor: comp}, stats: Stats{Decrypt: map[string]Decryption{}, Participants: []string{"a#1", "b#2"}}}
	good := &frameCrypt{key: e2ee.NewSecret([]byte("0123456789abcdef"))}
	bad := &frameCrypt{key: e2ee.NewSecret([]byte("fedcba9876543210"))}
	e.crypt = good

	s1, err := good.newSealer()
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := good.newSealer() // a sender made again (a codec change): a new KID
	if s1.s.KID() == s2.s.KID() {
		t.Fatalf("two sealers drew the same KID %d", s1.s.KID())
	}
	op, _ := good.newOpener(e, "a#1")
	plain := []byte("\x10\x02\x00\x9d\x01\x2a a VP8 frame")
	for i, s := range []*sealer{s1, s2, s1} {
		ct, err := s.seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ct, plain[6:]) {
			t.Fatalf("frame %d: the ciphertext holds the frame in the clear", i)
		}
		got, ok := op.open(ct)
		if !ok || !bytes.Equal(got, plain) {
			t.Fatalf("frame %d: opened %q, %v", i, got, ok)
		}
		// A replayed frame is refused.
		if _, ok := op.open(ct); ok {
			t.Fatalf("frame %d opened twice", i)
		}
	}
	if _, ok := op.open(nil); ok {
		t.Fatal("an empty payload opened")
	}
	if d := e.stats.Decrypt["a#1"]; d.OK != 3 || d.Failed != 3 || d.Failing {
		t.Fatalf("a#1: %+v", d)
	}
	if got := e.encryptionLocked(); got != "end-to-end (SFrame AES_128_GCM_SHA256_128)" {
		t.Fatalf("Call Encryption %q", got)
	}

	// b's frames are sealed with another key, then sent in the clear.
	wrong, _ := bad.newSealer()
	ob, _ := good.newOpener(e, "b#2")
	for i := range 3 {
		ct, _ := wrong.seal(plain)
		if _, ok := ob.open(ct); ok {
			t.Fatalf("frame %d under the wrong key opened", i)
		}
		if i < 2 && e.stats.Decrypt["b#2"].Failing {
			t.Fatalf("b#2 failing after %d frames", i+1)
		}
	}
	// The key derived for the wrong sender's KID was dropped again.
	ct, _ := wrong.seal(plain)
	if _, _, err := ob.r.Decrypt(nil, ct, nil); !errors.Is(err, sframe.ErrUnknownKey) {
		t.Fatalf("the receiver kept the key of a KID whose frames do not authenticate: %v", err)
	}
	e.stats.Decrypt["b#2"] = Decryption{Failed: 3, Failing: true, run: 3} // that probe is not counted
	if _, ok := ob.open(plain); ok {
		t.Fatal("a clear frame opened")
	}
	if d := e.stats.Decrypt["b#2"]; d.OK != 0 || d.Failed != 4 || !d.Failing {
		t.Fatalf("b#2: %+v", d)
	}
	if comp.Label("b#2") != cannotDecrypt {
		t.Fatalf("b#2's tile label %q", comp.Label("b#2"))
	}
	if got := e.encryptionLocked(); got != "end-to-end (SFrame AES_128_GCM_SHA256_128); cannot decrypt: b#2" {
		t.Fatalf("Call Encryption %q", got)
	}
	// b gets the right key: the next frame clears the label.
	right, _ := good.newSealer()
	ct, _ = right.seal(plain)
	if _, ok := ob.open(ct); !ok || e.stats.Decrypt["b#2"].Failing || comp.Label("b#2") != "" {
		t.Fatalf("b#2 after a good frame: %+v, label %q", e.stats.Decrypt["b#2"], comp.Label("b#2"))
	}

	// Without end-to-end encryption nothing changes the frames.
	var none *frameCrypt
	ns, _ := none.newSealer()
	no, _ := none.newOpener(e, "a#1")
	if ct, err := ns.seal(plain); err != nil || !bytes.Equal(ct, plain) {
		t.Fatalf("no e2ee: sealed %q, %v", ct, err)
	}
	if got, ok := no.open(plain); !ok || !bytes.Equal(got, plain) {
		t.Fatalf("no e2ee: opened %q, %v", got, ok)
	}
}

// e2eeOf: the PIN goes to the meeting server, the key to SFrame; a link
// asking for e2ee without a readable key is refused, never joined in the
// clear.
func TestE2EEOfMeeting(t *testing.T) {
	c, pin, err := e2eeOf("", room.Meeting{Passcode: "4711"})
	if c != nil || pin != "4711" || err != nil {
		t.Fatalf("no e2ee: %v %q %v", c, pin, err)
	}
	c, pin, err = e2eeOf("sframe", room.Meeting{Passcode: "MDEyMzQ1Njc4OWFiY2RlZg.4711"})
	if c == nil || pin != "4711" || err != nil || c.key.Reveal() != "0123456789abcdef" {
		t.Fatalf("sframe: %v %q %v", c, pin, err)
	}
	for _, pc := range []string{"", "4711", "MDEyMzQ1Njc4OWFi.4711"} {
		if _, _, err := e2eeOf("sframe", room.Meeting{Passcode: pc}); !errors.Is(err, ErrE2EEKey) || !errors.Is(err, ErrUnsupportedLink) {
			t.Fatalf("passcode %q: %v", pc, err)
		}
	}
	if got := e2eeCodecs([]string{webrtc.MimeTypeH264, "video/vp8"}); len(got) != 1 || got[0] != "video/vp8" {
		t.Fatalf("e2ee codecs %v", got)
	}
}

// An end-to-end encrypted meeting the room cannot encrypt fails with a
// reason before anything is sent: no key, or no VP8.
func TestE2EEJoinRefused(t *testing.T) {
	g := newRigWith(t, nil, func() (capture.VideoSource, error) {
		return capture.NewPattern(capture.PatternOptions{Width: 160, Height: 90, FPS: 15})
	})
	for _, tc := range []struct {
		m      room.Meeting
		codecs []string
		want   string
	}{
		{room.Meeting{URI: "janus+ws://127.0.0.1:1/?e2ee=sframe&room=5", Passcode: "4711"}, nil, "end-to-end encrypted (e2ee=sframe) and its key is missing"},
		{room.Meeting{URI: "janus+ws://127.0.0.1:1/?e2ee=sframe&room=5", Passcode: "MDEyMzQ1Njc4OWFiY2RlZg"}, []string{webrtc.MimeTypeH264}, "needs VP8"},
	} {
		g.engine.cfg.Codecs = tc.codecs
		if err := g.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: tc.m}}); err != nil {
			t.Fatal(err)
		}
		s := waitCall(t, g.room, room.Failed, 10*time.Second)
		if !strings.Contains(s.CallReason, tc.want) {
			t.Fatalf("reason %q, want %q", s.CallReason, tc.want)
		}
	}
}
