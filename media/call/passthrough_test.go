package call

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/browsertest"
	"github.com/roomd/roomd/internal/janustest"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/passthrough"
	"github.com/roomd/roomd/room"
)

// A camera that encodes H.264 itself (the simulated one: roomd's own clip
// of the test pattern, replayed) is sent as it is through Janus, and a real
// browser decodes it; privacy still replaces it with the slate, and the
// camera's stream comes back at its next key frame.
func TestPassthroughCameraWithBrowser(t *testing.T) {
	j := janustest.Start(t, nil)
	vr := janustest.DefaultRooms()[0]
	clip := filepath.Join(t.TempDir(), "camera.h264")
	if err := passthrough.WriteClip(clip, passthrough.ClipOptions{Width: 640, Height: 360, FPS: 15, Frames: 45, KeyEvery: 15, BitRate: 600_000}); err != nil {
		t.Fatal(err)
	}
	g := newRigWith(t, j, func() (capture.VideoSource, error) {
		return passthrough.OpenH264File(clip, passthrough.FileOptions{FPS: 15, Passthrough: true})
	})
	ctx := context.Background()
	b := browsertest.Start(t, browsertest.Options{FakeVideo: browsertest.MakeY4M(t, 320, 180, 15, 2)})
	if err := b.Join(ctx, browsertest.Join{WebSocket: j.URL, Room: vr.ID, PIN: vr.PIN, Display: "browser", Width: 320, Height: 180, FPS: 15}); err != nil {
		t.Fatal(err)
	}
	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.Join{Meeting: room.Meeting{ID: "m1", URI: link(j, vr.ID), Passcode: vr.PIN}}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, g.room, room.InCall, 20*time.Second)
	if enc := g.engine.Stats().Encoder; !strings.Contains(enc, "camera's own H.264 passed through") {
		t.Fatalf("encoder %q, want the camera's H.264 passed through", enc)
	}
	f := browserFeed(t, b, "decode the camera's H.264", func(f browsertest.Feed) bool {
		return f.FramesDecoded > 30 && f.FrameWidth == 640 && f.LitFraction > 0.3 && f.Colours > 20
	})
	t.Logf("browser decodes the camera's own stream: %dx%d, %d frames, %d colours; encoder: %s", f.FrameWidth, f.FrameHeight, f.FramesDecoded, f.Colours, g.engine.Stats().Encoder)

	if err := g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.SetCameraPrivacy{On: true}}); err != nil {
		t.Fatal(err)
	}
	browserFeed(t, b, "see the privacy slate", func(f browsertest.Feed) bool { return f.MeanLuma < 40 && f.LitFraction < 0.1 })
	g.room.Do(ctx, room.Command{From: room.Source{Kind: room.FromPanel}, Do: room.SetCameraPrivacy{On: false}})
	back := browserFeed(t, b, "see the camera again", func(f browsertest.Feed) bool { return f.LitFraction > 0.3 && f.Colours > 20 })
	if cam := g.room.Snapshot().Media.Camera; !strings.Contains(cam, "H.264 (sent as the camera encodes it") {
		t.Errorf("Call Camera = %q", cam)
	}
	t.Logf("camera back after privacy: %d frames decoded in all", back.FramesDecoded)

	// A frame-rate cap under the camera's 15 fps: its stream cannot be
	// thinned, so it is decoded and re-encoded, and the browser keeps
	// decoding pictures.
	if err := g.engine.SetCaps(Caps{MaxFPS: 8}); err != nil {
		t.Fatal(err)
	}
	capped := browserFeed(t, b, "decode the capped stream", func(f browsertest.Feed) bool {
		return f.FramesDecoded > back.FramesDecoded+20 && f.LitFraction > 0.3 && f.Colours > 20 &&
			strings.Contains(g.room.Snapshot().Media.Camera, "decoded and re-encoded instead")
	})
	t.Logf("capped at 8 fps: %d frames decoded in all; Call Camera %q", capped.FramesDecoded, g.room.Snapshot().Media.Camera)
}
