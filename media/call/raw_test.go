package call

import (
	"context"
	"image"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/mediatest"
	"github.com/roomd/roomd/media/call/provider"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/room"
)

// A provider that carries the media itself (as SIP does, over plain RTP)
// gets the room's media through Session's RawMedia: the far end decodes
// the room's pattern and hears its microphone, the far end's picture
// reaches the room's screen and status, its PLI reaches the encoder, and
// the provider's figures reach the room.
func TestRawMediaOverRTP(t *testing.T) {
	g := newFakeRig(t)
	w := g.room.Watch(context.Background())
	g.join(t, room.Meeting{ID: "sip"})
	j := g.nextJoin(t)
	ip := net.IPv4(127, 0, 0, 1)
	listen := func(k rtpmedia.Kind) *rtpmedia.Stream {
		s, err := rtpmedia.Listen(ip, k, rtpmedia.Options{RTCPInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	// The room's side, as a SIP provider would run it, and the far end's.
	roomV, roomA, farV, farA := listen(rtpmedia.Video), listen(rtpmedia.Audio), listen(rtpmedia.Video), listen(rtpmedia.Audio)
	audio := rtpmedia.Codec{PT: 0, Name: rtpmedia.CodecPCMU}
	var farFrames, farPattern, farAudio atomic.Int64
	var mu sync.Mutex
	var enc provider.RawEncoder
	var mime string
	j.run(t, func(ctx context.Context, s Session) {
		raw, ok := s.(provider.RawMedia)
		if !ok {
			t.Fatal("the engine's session has no RawMedia")
		}
		var err error
		mime, err = raw.VideoCodec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		name := rtpmedia.CodecH264
		if strings.EqualFold(mime, codec.MimeVP8) {
			name = rtpmedia.CodecVP8
		}
		video := rtpmedia.Codec{PT: 96, Name: name, PacketizationMode: 1}
		e, err := raw.SendRaw(ctx, rtpmedia.Media{Audio: roomA, Video: roomV})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		enc = e
		mu.Unlock()
		left := s.Participant("far")
		player := raw.ReceiveRaw("far")
		context.AfterFunc(ctx, func() { left(); player.Close() })
		fb := rtpmedia.Feedback{PLI: true}
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(roomV.Start(ctx, rtpmedia.Remote{RTP: farV.RTPAddr(), RTCP: farV.RTCPAddr(), Codec: video, Feedback: fb},
			rtpmedia.Handlers{OnVideo: player.Video, OnKeyFrameRequest: e.ForceKeyFrame, OnBitrate: e.SetBitRate}))
		must(roomA.Start(ctx, rtpmedia.Remote{RTP: farA.RTPAddr(), RTCP: farA.RTCPAddr(), Codec: audio}, rtpmedia.Handlers{OnAudio: player.Audio}))
		must(farV.Start(context.Background(), rtpmedia.Remote{RTP: roomV.RTPAddr(), RTCP: roomV.RTCPAddr(), Codec: video, Feedback: fb},
			rtpmedia.Handlers{OnVideo: func(img *image.YCbCr) {
				farFrames.Add(1)
				if _, err := capture.ReadPatternCounter(img); err == nil {
					farPattern.Add(1)
				}
			}}))
		must(farA.Start(context.Background(), rtpmedia.Remote{RTP: roomA.RTPAddr(), RTCP: roomA.RTCPAddr(), Codec: audio},
			rtpmedia.Handlers{OnAudio: func(pcm []int16) { farAudio.Add(int64(len(pcm))) }}))
		go raw.ReportRaw(ctx, rtpmedia.Media{Audio: roomA, Video: roomV}.Stats)
		s.Connected()
	})
	waitState(t, w, room.InCall)

	// The far end sends the room its own pattern, as a camera would, in
	// the codec negotiated.
	newEnc := codec.NewH264
	if strings.EqualFold(mime, codec.MimeVP8) {
		newEnc = codec.NewVP8
	}
	farEnc, err := newEnc(codec.VideoConfig{Width: 160, Height: 96, KeyFrameInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer farEnc.Close()
	src, err := capture.NewPattern(capture.PatternOptions{Width: 160, Height: 96, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for range 20 {
		img, release, err := src.Read()
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := farEnc.Encode(img)
		release()
		if err != nil {
			t.Fatal(err)
		}
		farV.WriteVideo(f, 50*time.Millisecond)
		time.Sleep(10 * time.Millisecond)
	}

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (farPattern.Load() < 3 || farAudio.Load() < 48000/2 || g.engine.Stats().FramesDecoded["far"] < 10) {
		time.Sleep(20 * time.Millisecond)
	}
	st := g.engine.Stats()
	t.Logf("far end decoded %d room pictures (%d with the pattern), %d samples of room audio; room decoded %d far pictures", farFrames.Load(), farPattern.Load(), farAudio.Load(), st.FramesDecoded["far"])
	if farPattern.Load() < 3 {
		t.Fatalf("the far end decoded %d of the room's pattern pictures", farPattern.Load())
	}
	if farAudio.Load() < 48000/2 {
		t.Fatalf("the far end heard %d samples of the room's microphone", farAudio.Load())
	}
	if st.FramesDecoded["far"] < 10 || st.Received["far"].Width != 160 {
		t.Fatalf("the room decoded %d of the far end's pictures (%+v)", st.FramesDecoded["far"], st.Received["far"])
	}
	if ps := g.comp.Participants(); len(ps) != 1 || ps[0] != "far" {
		t.Fatalf("on screen: %v", ps)
	}
	// The far end's PLI makes the room's encoder send a key frame.
	before := roomV.Stats().Sent.PLIs
	farV.RequestKeyFrame()
	if !mediatest.Eventually(2*time.Second, func() bool { return roomV.Stats().Sent.PLIs > before }) {
		t.Fatal("the room saw no PLI")
	}
	// The loss-based target reaches the encoder and status.
	mu.Lock()
	enc.SetBitRate(300_000)
	mu.Unlock()
	if got := g.engine.Stats().TargetBitrate; got != 300_000 {
		t.Fatalf("target bitrate in the engine's figures: %d", got)
	}
	// The provider's figures reach the room within a report or two.
	if !mediatest.Eventually(6*time.Second, func() bool { m := g.room.Snapshot().Media; return m.SendBitrate > 0 && m.Width == 160 }) {
		t.Fatalf("room's call media: %+v", g.room.Snapshot().Media)
	}
	t.Logf("room's call media: %+v", g.room.Snapshot().Media)
}
