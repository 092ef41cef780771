package sipprovider

import (
	"testing"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/internal/testtool"
	"github.com/roomd/roomd/media/sip/rtpmedia"
	"github.com/roomd/roomd/media/sip/sdp"
	"github.com/roomd/roomd/media/sip/ua"
	"github.com/roomd/roomd/room"
)

// TestVideoRateFromConfig: the room's media.start/max_bitrate reach a SIP
// call's rate controller, so the encoder starts where the room says, not
// at rtpmedia's default of 1 Mbit/s, and stays under the room's maximum.
func TestVideoRateFromConfig(t *testing.T) {
	testtool.SkipInShortMode(t, "baresip")
	b := siptest.StartBaresip(t, &siptest.Options{User: "bob", AutoAnswer: true})
	g := newRig(t, Config{Encryption: sdp.EncryptionPreferred, VideoRate: rtpmedia.RateConfig{Start: 320_000, Max: 400_000}}, ua.Config{})
	g.join(b.URI("udp"))
	g.wait(t, room.InCall, 15*time.Second)
	var got int
	eventually(t, 5*time.Second, "the encoder's first target", func() bool {
		got = g.engine.Stats().TargetBitrate
		return got != 0
	})
	// A clean receiver report may already have raised it a step (8 %).
	if got < 320_000 || got > 400_000 {
		t.Errorf("the call's video is at %d bit/s; want from media.start_bitrate 320000 to max_bitrate 400000", got)
	}
}
