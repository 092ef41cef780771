package call

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/roomd/roomd/internal/whiptest"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/whip"
	"github.com/roomd/roomd/room"

	"github.com/roomd/roomd/internal/testtool"
)

const whipToken = "meeting-token"

func whipLink(srv *whiptest.Server, publish, play string) string {
	return "whip+" + srv.WHIP(publish) + "?whep=" + url.QueryEscape(srv.WHEP(play))
}

// farEnd publishes the test pattern (VP8) and a tone (Opus) to a stream of
// the relay, as the meeting's other side, until the test ends or leave is
// called.
func farEnd(t *testing.T, srv *whiptest.Server, stream string) (leave func()) {
	t.Helper()
	vt, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "far")
	at, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "far")
	enc, err := codec.NewVP8(codec.VideoConfig{Width: 320, Height: 180, FPS: 15, BitRate: 300_000, KeyFrameInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pattern, err := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 180, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	aenc, err := codec.NewOpus(codec.AudioConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tone, err := capture.NewTone(capture.ToneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := whip.Publish(context.Background(), whip.Options{
		Endpoint: srv.WHIP(stream), Token: whipToken,
		AddTracks: func(pc *webrtc.PeerConnection) error {
			for _, tr := range []webrtc.TrackLocal{vt, at} {
				if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			img, release, err := pattern.Read()
			if err != nil {
				return
			}
			frame, _, err := enc.Encode(img)
			release()
			if err == nil && len(frame) > 0 {
				vt.WriteSample(media.Sample{Data: frame, Duration: time.Second / 15})
			}
		}
	})
	wg.Go(func() {
		var buf []int16
		for ctx.Err() == nil {
			chunk, release, err := tone.Read()
			if err != nil {
				return
			}
			buf = appendMono(buf, chunk)
			release()
			for n := (codec.AudioConfig{}).FrameSamples(); len(buf) >= n; buf = buf[n:] {
				if pkt, err := aenc.Encode(buf[:n]); err == nil {
					at.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond})
				}
			}
		}
	})
	var once sync.Once
	leave = func() {
		once.Do(func() {
			cancel()
			pattern.Close()
			tone.Close()
			wg.Wait()
			sess.Leave(context.Background())
			enc.Close()
			aenc.Close()
		})
	}
	t.Cleanup(leave)
	return leave
}

// waitFar waits until roomd has decoded more than frames frames and audio
// audio packets of the far end.
func waitFar(t *testing.T, g *rig, frames, audio uint64, d time.Duration) Stats {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := g.engine.Stats()
		if s.FramesDecoded["far"] > frames && s.AudioPackets["far"] > audio {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("roomd did not decode the far end: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The room joins a WHIP/WHEP meeting: it is in the call once its WHIP
// media connects, the relay receives its video and audio, it decodes the
// far end's WHEP stream, plays it again when the far end comes back after
// leaving, and leaving DELETEs both sessions.
func TestWHIPMeeting(t *testing.T) {
	testtool.SkipSlowInShortMode(t, "media through a WHIP/WHEP relay for seconds")
	srv := whiptest.Start(t, whiptest.Options{Token: whipToken})
	leaveFar := farEnd(t, srv, "far")
	g := newRig(t, nil)
	ctx := context.Background()

	start := time.Now()
	join := room.Join{Meeting: room.Meeting{ID: "w1", URI: whipLink(srv, "boardroom", "far"), Passcode: whipToken}}
	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: join}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.InCall, 20*time.Second)
	t.Logf("in call %v after the join command", time.Since(start))

	deadline := time.Now().Add(20 * time.Second)
	for {
		s := g.engine.Stats()
		vp, ap := srv.Received("boardroom")
		if s.FramesDecoded["far"] > 15 && s.AudioPackets["far"] > 25 && vp > 50 && ap > 25 {
			t.Logf("%v after the join: roomd decoded %d frames and %d audio packets of the far end; the relay got %d video and %d audio packets from roomd (%s)",
				time.Since(start), s.FramesDecoded["far"], s.AudioPackets["far"], vp, ap, s.Encoder)
			if len(s.Participants) != 1 || s.Participants[0] != "far" {
				t.Errorf("participants %v, want [far]", s.Participants)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("media: roomd stats %+v; relay got %d video and %d audio packets from roomd", s, vp, ap)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ps := g.comp.Participants(); len(ps) != 1 {
		t.Errorf("compositor participants %v, want the far end", ps)
	}
	held := map[string]bool{}
	for _, r := range srv.Resources() {
		held[r.Protocol+" "+r.Stream] = true
	}
	if !held["WHIP boardroom"] || !held["WHEP far"] {
		t.Fatalf("the relay holds %+v, want roomd's WHIP and WHEP sessions", srv.Resources())
	}

	// The far end leaves: its tile goes, the room stays in the call, and
	// the stream plays again when the far end is back.
	leaveFar()
	deadline = time.Now().Add(10 * time.Second)
	for len(g.engine.Stats().Participants) != 0 || len(g.comp.Participants()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the far end left, yet roomd shows %v", g.engine.Stats().Participants)
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := g.engine.Stats()
	farEnd(t, srv, "far")
	back := time.Now()
	s := waitFar(t, g, before.FramesDecoded["far"]+15, before.AudioPackets["far"]+25, 20*time.Second)
	t.Logf("far end back on screen %v after it published again (%d frames in all)", time.Since(back), s.FramesDecoded["far"])
	if st := g.room.Snapshot(); st.Call != room.InCall {
		t.Errorf("call state %v (%s) after the far end came back", st.Call, st.CallReason)
	}

	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Leave{}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.Idle, 10*time.Second)
	for _, r := range srv.Resources() {
		if r.Stream != "far" || r.Protocol != "WHIP" {
			t.Errorf("after leaving the relay still holds %+v", r)
		}
	}
	// The far end's first session, then roomd's second WHEP session and its
	// WHIP session (the relay ended roomd's first WHEP session itself).
	if d := srv.Deleted(); len(d) != 3 {
		t.Errorf("DELETEs %v, want 3", d)
	}
	for _, r := range srv.Requests() {
		if !r.Authorized {
			t.Errorf("%s %s without the meeting's token", r.Method, r.Path)
		}
	}
}

func TestWHIPFailedJoinsSayWhy(t *testing.T) {
	srv := whiptest.Start(t, whiptest.Options{Token: whipToken})
	g := newRig(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		m    room.Meeting
		want string
	}{
		{room.Meeting{URI: whipLink(srv, "boardroom", "far"), Passcode: "wrong"}, "wrong meeting passcode"},
		{room.Meeting{URI: "whip+" + srv.URL + "/no/such/endpoint?whep=" + url.QueryEscape(srv.WHEP("far")), Passcode: whipToken}, "meeting room not found"},
		{room.Meeting{URI: "whip+http://127.0.0.1:1/whip/x?whep=" + url.QueryEscape("http://127.0.0.1:1/whep/x"), Passcode: whipToken}, "meeting server unreachable"},
		{room.Meeting{URI: "whip+http://sfu.example.org/whip/x?whep=" + url.QueryEscape("https://sfu.example.org/whep/x")}, "no meeting provider"},
	} {
		start := time.Now()
		if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: tc.m}}); err != nil {
			t.Fatal(err)
		}
		s := waitCall(t, g.room, room.Failed, 10*time.Second)
		if !strings.Contains(s.CallReason, tc.want) {
			t.Errorf("%s: reason %q, want %q", tc.m.URI, s.CallReason, tc.want)
		}
		t.Logf("%q in %v", s.CallReason, time.Since(start))
	}
	if rs := srv.Resources(); len(rs) != 0 {
		t.Errorf("failed joins left sessions on the relay: %+v", rs)
	}
}

func TestParseWHIPLink(t *testing.T) {
	whep := url.QueryEscape("https://sfu.example.org/whep/room 1?x=1")
	for _, tc := range []struct {
		link       string
		whip, whep string
		err        string
	}{
		{"whip+https://sfu.example.org/whip/room?whep=" + whep, "https://sfu.example.org/whip/room", "https://sfu.example.org/whep/room%201?x=1", ""},
		{"WHIP+HTTPS://sfu.example.org:8443/w?whep=" + whep, "https://sfu.example.org:8443/w", "https://sfu.example.org/whep/room%201?x=1", ""},
		{"whip+http://127.0.0.1:8080/whip/a?whep=" + url.QueryEscape("http://127.0.0.1:8080/whep/b"), "http://127.0.0.1:8080/whip/a", "http://127.0.0.1:8080/whep/b", ""},
		{"whip+http://[::1]/whip/a?whep=" + url.QueryEscape("http://localhost/whep/b"), "http://[::1]/whip/a", "http://localhost/whep/b", ""},
		{"whip+http://sfu.example.org/whip/a?whep=" + whep, "", "", "must use https"},
		{"whip+https://sfu.example.org/whip/a?whep=" + url.QueryEscape("http://127.0.0.1/whep"), "", "", "whep="},
		{"whip+https://sfu.example.org/whip/a", "", "", "whep="},
		{"whip+https://sfu.example.org/whip/a?whep=" + url.QueryEscape("wss://sfu.example.org/x"), "", "", "whep="},
		{"whip+https://sfu.example.org/whip/a?whep=" + whep + "&token=abc", "", "", "passcode"},
		{"whip+https://user:pw@sfu.example.org/whip/a?whep=" + whep, "", "", "user name"},
	} {
		got, err := parseLinkStd(tc.link)
		if tc.err != "" {
			if !errors.Is(err, ErrUnsupportedLink) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an unsupported link about %q", tc.link, err, tc.err)
			}
			continue
		}
		if err != nil || got.Provider != "whip" || got.WHIP != tc.whip || got.WHEP != tc.whep || got.Endpoint != tc.whip {
			t.Errorf("%s: %+v, %v; want WHIP %s and WHEP %s", tc.link, got, err, tc.whip, tc.whep)
		}
	}
}

// lateCamera is a test pattern that says it is a camera not opened yet
// until opened is set, as a USB camera plugged in during a call does.
type lateCamera struct {
	*capture.Pattern
	opened atomic.Bool
}

func (c *lateCamera) Info() capture.Info {
	if c.opened.Load() {
		return capture.Info{Kind: "camera", Device: "/dev/video0", Name: "late", Width: 640, Height: 360, FPS: 15}
	}
	return capture.Info{Kind: "camera", Width: 640, Height: 360, FPS: 15, Problem: "camera not opened yet"}
}

// The camera the room's status names is the one in use now, not the one
// there was when the call began.
func TestStatusFollowsTheCamera(t *testing.T) {
	testtool.SkipSlowInShortMode(t, "media through a WHIP/WHEP relay for seconds")
	srv := whiptest.Start(t, whiptest.Options{Token: whipToken})
	farEnd(t, srv, "far")
	cam := &lateCamera{}
	g := newRigWith(t, nil, func() (capture.VideoSource, error) {
		p, err := capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, FPS: 15})
		cam.Pattern = p
		return cam, err
	})
	join := room.Join{Meeting: room.Meeting{ID: "w1", URI: whipLink(srv, "boardroom", "far"), Passcode: whipToken}}
	if err := g.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: join}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.InCall, 20*time.Second)
	waitCamera := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := g.room.Snapshot().Media.Camera
			if strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("status names the camera %q, want it to say %q", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitCamera("not opened yet")
	cam.opened.Store(true)
	waitCamera("camera /dev/video0 (late)")
}
