package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roomd/roomd/internal/janustest"
)

// startRoom starts Janus and makes a small camera file for a test's
// browsers; ctx bounds the test.
func startRoom(t *testing.T) (*janustest.Server, janustest.Room, string, context.Context) {
	j := janustest.Start(t, nil)
	y4m := MakeY4M(t, 320, 180, 15, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return j, janustest.DefaultRooms()[0], y4m, ctx
}

// Two browsers in one room each decode the other: the harness itself works
// before it is used to judge roomd.
func TestTwoBrowsersSeeEachOther(t *testing.T) {
	j, room, y4m, ctx := startRoom(t)
	var bs []*Browser
	for i, name := range []string{"alice", "bob"} {
		b := Start(t, Options{FakeVideo: y4m})
		if err := b.Join(ctx, Join{WebSocket: j.URL, Room: room.ID, PIN: room.PIN, Display: name, Width: 320, Height: 180, FPS: 15}); err != nil {
			t.Fatalf("browser %d: %v", i, err)
		}
		bs = append(bs, b)
	}
	for i, b := range bs {
		var last []Feed
		for {
			fs, err := b.Feeds()
			if err != nil {
				t.Fatal(err)
			}
			last = fs
			if len(fs) == 1 && fs[0].FramesDecoded > 10 && fs[0].AudioPackets > 10 && fs[0].LitFraction > 0.2 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("browser %d never decoded the other: %+v\nlog: %v", i, last, b.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("browser %d: %+v", i, last[0])
	}
	if err := bs[0].Leave(); err != nil {
		t.Fatal(err)
	}
}

// A page opened with Open joins only on JoinOpened, then takes its
// microphone without echo cancellation, noise suppression or gain control
// (RawAudio) and receives the one already publishing (SubscribeEarly).
func TestOpenThenJoin(t *testing.T) {
	j, room, y4m, ctx := startRoom(t)
	alice := Start(t, Options{FakeVideo: y4m})
	if err := alice.Join(ctx, Join{WebSocket: j.URL, Room: room.ID, PIN: room.PIN, Display: "alice", Width: 320, Height: 180, FPS: 15}); err != nil {
		t.Fatal(err)
	}
	bob := Start(t, Options{FakeVideo: y4m})
	if err := bob.Open(ctx, Join{WebSocket: j.URL, Room: room.ID, PIN: room.PIN, Display: "bob", Width: 320, Height: 180, FPS: 15,
		RawAudio: true, SubscribeEarly: true}); err != nil {
		t.Fatal(err)
	}
	ps, err := j.Participants(room.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("the opened page joined before JoinOpened: %+v", ps)
	}
	if err := bob.JoinOpened(ctx); err != nil {
		t.Fatal(err)
	}
	ap, err := chromedp.Run(bob.ctx, chromedp.Evaluate[[]bool](`(() => { const s = localStream.getAudioTracks()[0].getSettings(); return [s.echoCancellation, s.noiseSuppression, s.autoGainControl]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ap) != 3 || ap[0] || ap[1] || ap[2] {
		t.Errorf("microphone processing (echo cancellation, noise suppression, gain control) = %v, want all off", ap)
	}
	for {
		fs, err := bob.Feeds()
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 1 && fs[0].Display == "alice" && fs[0].FramesDecoded > 5 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("bob never decoded alice: %+v\nlog: %v", fs, bob.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
