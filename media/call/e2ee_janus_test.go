package call

import (
	"context"
	"encoding/base64"
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/internal/janustest"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/room"
)

// sframeRig is a roomd room named name that joins meeting link raw the
// way Call Join does (the link's secrets moved to the passcode).
func sframeRig(t *testing.T, j *janustest.Server, name, raw string) *rig {
	t.Helper()
	g := newRigWith(t, j, func() (capture.VideoSource, error) {
		return capture.NewPattern(capture.PatternOptions{Width: 320, Height: 180, FPS: 15})
	})
	g.engine.cfg.Display = name
	g.engine.cfg.Codecs = []string{webrtc.MimeTypeVP8}
	l, err := meetinglink.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel},
		Do: room.Join{Meeting: room.Meeting{ID: name, URI: l.URI, Passcode: l.Secret}}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.InCall, 20*time.Second)
	return g
}

// of returns the figures of g's remote participant named name.
func of(g *rig, name string) (id string, decoded uint64, d Decryption, bytes uint64) {
	s := g.engine.Stats()
	for _, p := range s.Participants {
		if strings.HasPrefix(p, name+"#") {
			return p, s.FramesDecoded[p], s.Decrypt[p], s.Received[p].bytes
		}
	}
	return "", 0, Decryption{}, 0
}

// eventually polls ok for up to 20 s and fails with what() otherwise.
func eventually(t *testing.T, what func() string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two roomd rooms with the same key in a Janus room see each other
// through SFrame; a room with another key sees them as "cannot decrypt"
// (100 % of its frames fail, and they see it the same way); a room
// without end-to-end encryption, like Janus itself, receives frames none
// of which decode.
func TestSFrameOverJanus(t *testing.T) {
	j := janustest.Start(t, &janustest.Options{Rooms: []janustest.Room{{ID: 88, Publishers: 6, Bitrate: 1_000_000, VideoCodec: "vp8"}}})
	key := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef"))
	other := base64.RawURLEncoding.EncodeToString([]byte("fedcba9876543210"))
	e2ee := func(k string) string { return link(j, 88) + "&e2ee=sframe&key=" + k }

	a := sframeRig(t, j, "A", e2ee(key))
	b := sframeRig(t, j, "B", e2ee(key))
	for _, p := range []struct {
		g          *rig
		self, peer string
	}{{a, "A", "B"}, {b, "B", "A"}} {
		eventually(t, func() string { return fmt.Sprintf("%s decodes %s: %+v", p.self, p.peer, p.g.engine.Stats()) }, func() bool {
			_, n, d, _ := of(p.g, p.peer)
			return n > 15 && d.OK > 15
		})
		id, n, d, _ := of(p.g, p.peer)
		if d.Failed != 0 || d.Failing {
			t.Fatalf("%s: %d of %s's frames failed to decrypt (%d decrypted)", p.self, d.Failed, p.peer, d.OK)
		}
		// The pattern, not a blank or a label: many colours on screen.
		img, _ := p.g.comp.Compose()
		colours := map[color.RGBA]bool{}
		for y := 0; y < img.Rect.Dy(); y += 4 {
			for x := 0; x < img.Rect.Dx(); x += 4 {
				colours[img.RGBAAt(x, y)] = true
			}
		}
		if len(colours) < 20 || p.g.comp.Label(id) != "" {
			t.Fatalf("%s shows %s with %d colours, label %q", p.self, p.peer, len(colours), p.g.comp.Label(id))
		}
		t.Logf("%s decoded %d of %s's frames, %d decrypted, 0 failed", p.self, n, p.peer, d.OK)
	}
	eventually(t, func() string { return a.room.Snapshot().Media.Encryption }, func() bool {
		return a.room.Snapshot().Media.Encryption == "end-to-end (SFrame AES_128_GCM_SHA256_128)"
	})

	// A room with the wrong key.
	c := sframeRig(t, j, "C", e2ee(other))
	eventually(t, func() string { return fmt.Sprintf("C fails on A: %+v", c.engine.Stats()) }, func() bool {
		_, _, d, _ := of(c, "A")
		return d.Failed > 30 && d.Failing
	})
	id, n, d, _ := of(c, "A")
	if n != 0 || d.OK != 0 {
		t.Fatalf("C with the wrong key decoded %d and decrypted %d of A's frames", n, d.OK)
	}
	if got := c.comp.Label(id); got != "cannot decrypt" {
		t.Fatalf("C shows A with label %q", got)
	}
	t.Logf("C (wrong key): %d of A's frames failed to decrypt, 0 decrypted (100 %%)", d.Failed)
	eventually(t, func() string { return c.room.Snapshot().Media.Encryption }, func() bool {
		e := c.room.Snapshot().Media.Encryption
		return strings.HasPrefix(e, "end-to-end (SFrame AES_128_GCM_SHA256_128); cannot decrypt: ") && strings.Contains(e, "A#") && strings.Contains(e, "B#")
	})
	// And A sees C the same way, while B stays decryptable.
	eventually(t, func() string { return a.room.Snapshot().Media.Encryption }, func() bool {
		e := a.room.Snapshot().Media.Encryption
		return strings.Contains(e, "cannot decrypt: C#") && !strings.Contains(e, "B#")
	})

	// A room without end-to-end encryption (what Janus forwards): it
	// receives A's frames and decodes none of them.
	plain := sframeRig(t, j, "P", link(j, 88))
	eventually(t, func() string { return fmt.Sprintf("P receives A: %+v", plain.engine.Stats()) }, func() bool {
		_, _, _, bytes := of(plain, "A")
		return bytes > 100_000
	})
	_, n, _, bytes := of(plain, "A")
	if n != 0 {
		t.Fatalf("a room without the key decoded %d of A's end-to-end encrypted frames", n)
	}
	if e := plain.room.Snapshot().Media.Encryption; e != "DTLS-SRTP" {
		t.Fatalf("Call Encryption without e2ee: %q", e)
	}
	t.Logf("P (no e2ee): %d bytes of A's media received, 0 frames decoded", bytes)
	// The control: P decodes a second room without end-to-end encryption
	// at once, and A shows P's clear frames as not decryptable.
	sframeRig(t, j, "Q", link(j, 88))
	eventually(t, func() string { return fmt.Sprintf("P decodes Q: %+v", plain.engine.Stats()) }, func() bool {
		_, n, _, _ := of(plain, "Q")
		return n > 15
	})
	if _, n, _, _ := of(plain, "A"); n != 0 {
		t.Fatalf("P decoded %d of A's frames", n)
	}
	eventually(t, func() string { return a.room.Snapshot().Media.Encryption }, func() bool {
		e := a.room.Snapshot().Media.Encryption
		return strings.Contains(e, "P#") && strings.Contains(e, "Q#")
	})
}
