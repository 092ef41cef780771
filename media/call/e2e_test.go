package call

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/internal/browsertest"
	"github.com/roomd/roomd/internal/janustest"
	roommedia "github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/call/janusprovider"
	"github.com/roomd/roomd/media/call/whipprovider"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/media/playout"
	"github.com/roomd/roomd/room"
)

type rig struct {
	janus  *janustest.Server
	room   *room.Room
	engine *Engine
	comp   *display.Compositor
	mic    *roommedia.Gate
	camera *roommedia.Gate
	mixer  *playout.Mixer
	cancel context.CancelFunc
}

func newRig(t *testing.T, j *janustest.Server) *rig {
	t.Helper()
	return newRigWith(t, j, func() (capture.VideoSource, error) {
		return capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, FPS: 15})
	})
}

// newRigWith is newRig with the camera video gives.
func newRigWith(t *testing.T, j *janustest.Server, video func() (capture.VideoSource, error)) *rig {
	t.Helper()
	g := &rig{janus: j, comp: display.NewCompositor(640, 360), mic: &roommedia.Gate{}, camera: &roommedia.Gate{}, mixer: playout.NewMixer()}
	var r *room.Room
	eng, err := New(Config{
		Display: "roomd-test",
		Sources: Sources{
			Video: video,
			Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
		},
		Mic: g.mic, Camera: g.camera, Compositor: g.comp, Playout: g.mixer,
		RetryMin: 200 * time.Millisecond, RetryMax: time.Second,
		Providers: Providers{janusprovider.Name: janusprovider.Provider{}, whipprovider.Name: whipprovider.Provider{}},
	}, func(rep room.Report) { r.Report(rep) })
	if err != nil {
		t.Fatal(err)
	}
	r = room.New(room.Options{Devices: room.Devices{Calls: eng, Mic: g.mic, Camera: g.camera}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	<-r.Ready()
	g.room, g.engine, g.cancel = r, eng, func() { cancel(); <-done; eng.Wait() }
	t.Cleanup(g.cancel)
	return g
}

func link(j *janustest.Server, id uint64) string {
	return fmt.Sprintf("janus+%s?room=%d", strings.TrimSuffix(j.URL, "/"), id)
}

func waitCall(t *testing.T, r *room.Room, want room.CallState, d time.Duration) room.State {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := r.Snapshot()
		if s.Call == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("call state %v (%s), want %v", s.Call, s.CallReason, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func browserFeed(t *testing.T, b *browsertest.Browser, what string, ok func(browsertest.Feed) bool) browsertest.Feed {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last []browsertest.Feed
	for time.Now().Before(deadline) {
		fs, err := b.Feeds()
		if err != nil {
			t.Fatal(err)
		}
		last = fs
		for _, f := range fs {
			if strings.HasPrefix(f.Display, "roomd-test") && !f.Gone && ok(f) {
				return f
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("browser: %s never happened; feeds %+v; log %v", what, last, b.Log())
	return browsertest.Feed{}
}

// roomd and a real browser in one Janus room see and hear each other.
func TestMeetingWithBrowser(t *testing.T) {
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	g := newRig(t, j)
	ctx := context.Background()

	b := browsertest.Start(t, browsertest.Options{FakeVideo: browsertest.MakeY4M(t, 320, 180, 15, 2)})
	if err := b.Join(ctx, browsertest.Join{WebSocket: j.URL, Room: vr.ID, PIN: vr.PIN, Display: "browser", Width: 320, Height: 180, FPS: 15}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: room.Meeting{ID: "m1", URI: link(j, vr.ID), Passcode: vr.PIN}}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.InCall, 20*time.Second)
	t.Logf("in call %v after the join command", time.Since(start))

	// The browser decodes roomd's pattern (not black) and receives its audio.
	f := browserFeed(t, b, "decode roomd's video and audio", func(f browsertest.Feed) bool {
		return f.FramesDecoded > 15 && f.AudioPackets > 25 && f.LitFraction > 0.3 && f.Colours > 20
	})
	t.Logf("browser sees roomd: %dx%d, %d frames, luma %.0f, %d colours, %d audio packets", f.FrameWidth, f.FrameHeight, f.FramesDecoded, f.MeanLuma, f.Colours, f.AudioPackets)

	// roomd decodes the browser's video and receives its audio.
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := g.engine.Stats()
		var frames, audio uint64
		for id, n := range s.FramesDecoded {
			if strings.HasPrefix(id, "browser") {
				frames = n
			}
		}
		for id, n := range s.AudioPackets {
			if strings.HasPrefix(id, "browser") {
				audio = n
			}
		}
		if frames > 15 && audio > 25 && g.mixer.Stats().Received > 25*960 {
			t.Logf("roomd sees the browser: %d frames, %d audio packets; encoder: %s", frames, audio, s.Encoder)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roomd did not decode the browser: %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The size of what roomd decodes is in its figures.
	sized := false
	for id, rv := range g.engine.Stats().Received {
		sized = sized || (strings.HasPrefix(id, "browser") && rv.Width > 0 && rv.Height > 0)
	}
	if !sized {
		t.Fatalf("no size for the browser's video: %+v", g.engine.Stats().Received)
	}
	if img, _ := g.comp.Compose(); img == nil || len(g.comp.Participants()) != 1 {
		t.Fatalf("compositor participants %v", g.comp.Participants())
	}
	// The call's figures reach the room's state.
	deadline = time.Now().Add(10 * time.Second)
	for {
		m := g.room.Snapshot().Media
		got := len(m.Received) == 1 && strings.HasPrefix(m.Received[0].Participant, "browser") &&
			m.Received[0].Width > 0 && m.Received[0].Height > 0 && m.Received[0].FPS > 0 && m.Received[0].Bitrate > 0
		if got && m.Participants == 1 && m.TargetBitrate > 0 && m.SendBitrate > 0 && m.RecvBitrate > 0 && m.Width == 640 && m.Encoder != "" {
			t.Logf("room status: %+v", m)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("media figures in the room: %+v", m)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Privacy: the far side sees the slate, not the pattern.
	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.SetCameraPrivacy{On: true}}); err != nil {
		t.Fatal(err)
	}
	browserFeed(t, b, "see the privacy slate", func(f browsertest.Feed) bool { return f.MeanLuma < 40 && f.LitFraction < 0.1 })
	// Mute: headless Chromium plays no audio, so it measures no level; but
	// Opus packets of silence are a fraction of a tone's, which the far
	// side sees as bytes per packet received.
	perPacket := func() float64 {
		a := browserFeed(t, b, "audio", func(browsertest.Feed) bool { return true })
		time.Sleep(time.Second)
		z := browserFeed(t, b, "audio", func(browsertest.Feed) bool { return true })
		return float64(z.AudioBytes-a.AudioBytes) / float64(max(1, z.AudioPackets-a.AudioPackets))
	}
	open := perPacket()
	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.SetMicMute{Mute: true}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	muted := perPacket()
	t.Logf("audio bytes per packet: open %.1f, muted %.1f", open, muted)
	if !(muted < open/3) {
		t.Fatalf("the far side still gets sound while muted: %.1f bytes per packet, %.1f before", muted, open)
	}
	g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.SetCameraPrivacy{On: false}})
	browserFeed(t, b, "see the pattern again", func(f browsertest.Feed) bool { return f.LitFraction > 0.3 && f.Colours > 20 })

	// Leave cleans up on Janus.
	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Leave{}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.Idle, 10*time.Second)
	deadline = time.Now().Add(5 * time.Second)
	for {
		ps, err := j.Participants(vr.ID)
		if err != nil {
			t.Fatal(err)
		}
		gone := true
		for _, p := range ps {
			if strings.HasPrefix(p.Display, "roomd-test") {
				gone = false
			}
		}
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roomd still in the Janus room after leaving: %+v", ps)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestFailedJoinsSayWhy(t *testing.T) {
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	g := newRig(t, j)
	ctx := context.Background()
	for _, tc := range []struct {
		m    room.Meeting
		want string
	}{
		{room.Meeting{URI: link(j, vr.ID), Passcode: "0000"}, "wrong meeting passcode"},
		{room.Meeting{URI: link(j, 999999), Passcode: vr.PIN}, "meeting room not found"},
		{room.Meeting{URI: "janus+ws://127.0.0.1:1/?room=5"}, "meeting server unreachable"},
		{room.Meeting{URI: "https://teams.example/meet/1"}, "no meeting provider"},
	} {
		if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: tc.m}}); err != nil {
			t.Fatal(err)
		}
		s := waitCall(t, g.room, room.Failed, 20*time.Second)
		if !strings.Contains(s.CallReason, tc.want) {
			t.Errorf("%s: reason %q, want %q", tc.m.URI, s.CallReason, tc.want)
		}
	}
}

// A Janus restart during a call: roomd reconnects by itself.
func TestJanusRestartRejoins(t *testing.T) {
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	g := newRig(t, j)
	ctx := context.Background()
	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: room.Meeting{URI: link(j, vr.ID), Passcode: vr.PIN}}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.InCall, 20*time.Second)
	w := g.room.Watch(ctx)
	j.Restart()
	sawReconnecting := false
	deadline := time.After(30 * time.Second)
	for {
		select {
		case u := <-w:
			if u.State.Call == room.Reconnecting {
				sawReconnecting = true
			}
			if sawReconnecting && u.State.Call == room.InCall {
				ps, err := j.Participants(vr.ID)
				if err != nil || len(ps) != 1 {
					t.Fatalf("after rejoin Janus has %+v (%v)", ps, err)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no rejoin: reconnecting seen %v, state %v %q", sawReconnecting, g.room.Snapshot().Call, g.room.Snapshot().CallReason)
		}
	}
}

// A room that takes only VP8 (like Debian's demo room): roomd prefers H.264,
// is refused, and joins with VP8 instead of retrying forever.
func TestFallsBackToTheCodecTheRoomTakes(t *testing.T) {
	j := janustest.Start(t, &janustest.Options{Rooms: []janustest.Room{{ID: 77, Publishers: 4, Bitrate: 1_000_000, VideoCodec: "vp8"}}})
	g := newRig(t, j)
	if err := g.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: room.Meeting{URI: link(j, 77)}}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.InCall, 20*time.Second)
	if enc := g.engine.Stats().Encoder; !strings.Contains(enc, "VP8") && !strings.Contains(enc, "vpx") {
		t.Fatalf("encoder %q, want VP8", enc)
	}
	// With H.264 only, the same room fails with a reason.
	g2 := newRig(t, j)
	g2.engine.cfg.Codecs = []string{webrtc.MimeTypeH264}
	if err := g2.room.Do(context.Background(), room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: room.Meeting{URI: link(j, 77)}}}); err != nil {
		t.Fatal(err)
	}
	if s := waitCall(t, g2.room, room.Failed, 20*time.Second); !strings.Contains(s.CallReason, "accepts none") {
		t.Fatalf("reason %q", s.CallReason)
	}
}
