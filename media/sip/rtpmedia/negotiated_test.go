package rtpmedia

import (
	"image"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/sip/sdp"
)

// Two rooms negotiate with media/sip/sdp (SRTP with SDES keys, the
// default) and run what it decided: audio and video decode both ways.
func TestNegotiatedCall(t *testing.T) {
	type side struct {
		audio, video *Stream
		sess         *sdp.Session
		heard        *pcmSink
		seen         atomic.Int32
	}
	mk := func() *side {
		s := &side{audio: listen(t, Audio, Options{}), video: listen(t, Video, Options{}), heard: &pcmSink{}}
		var err error
		s.sess, err = sdp.NewSession(sdp.Config{Address: netip.MustParseAddr("127.0.0.1"),
			AudioPort: s.audio.RTPAddr().Port, VideoPort: s.video.RTPAddr().Port})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	caller, callee := mk(), mk()
	offer, err := caller.sess.Offer(sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	answer, negCallee, err := callee.sess.Answer(offer, sdp.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	negCaller, err := caller.sess.Answered(answer)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("caller: %v", negCaller)
	for _, x := range []struct {
		s   *side
		neg *sdp.Negotiated
	}{{caller, negCaller}, {callee, negCallee}} {
		ra, err := RemoteFrom(x.neg.Audio, nil)
		if err != nil {
			t.Fatal(err)
		}
		rv, err := RemoteFrom(x.neg.Video, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ra.SRTP == nil || rv.SRTP == nil {
			t.Fatal("the default policy negotiated plain RTP")
		}
		s := x.s
		start(t, s.audio, ra, Handlers{OnAudio: s.heard.add})
		start(t, s.video, rv, Handlers{OnVideo: func(*image.YCbCr) { s.seen.Add(1) }})
	}
	if c := negCaller.Video.Codec(); !c.Is(CodecH264) {
		t.Fatalf("video negotiated as %v; the test sends H.264", c)
	}
	// Both packetization modes were negotiated: either may come in.
	if rv, _ := RemoteFrom(negCaller.Video, nil); len(rv.Codec.ReceiveAlso) == 0 {
		t.Errorf("H.264 %v receives only its own payload type", rv.Codec)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		enc, err := codec.NewH264(codec.VideoConfig{Width: 320, Height: 180, KeyFrameInterval: -1})
		if err != nil {
			t.Error(err)
			return
		}
		defer enc.Close()
		for _, img := range patternFrames(t, 320, 180, 10) {
			f, _, err := enc.Encode(img)
			if err == nil && len(f) > 0 {
				callee.video.WriteVideo(f, 33*time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	sendTone(t, caller.audio, 1000, 300*time.Millisecond)
	<-done
	checkTone(t, "caller → callee", callee.heard, 1000, 300*time.Millisecond)
	if !eventually(2*time.Second, func() bool { return caller.seen.Load() >= 8 }) {
		t.Fatalf("the caller decoded %d of the callee's 10 pictures", caller.seen.Load())
	}
	if f := caller.video.Stats().DecryptFailures + callee.audio.Stats().DecryptFailures; f != 0 {
		t.Fatalf("%d packets failed to decrypt", f)
	}
}
