package transport_test

import (
	"context"
	"log"
	"net"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/transport"
)

// encoder stands for a real one from media/codec.
type encoder struct{}

func (encoder) SetBitRate(int) {}
func (encoder) ForceKeyFrame() {}

// A sending PeerConnection: ICE pinned to the room's LAN address, the
// encoder's bitrate driven by GCC, key frames on request.
func Example() {
	lan := net.ParseIP("192.0.2.10")
	f, err := transport.New(transport.Config{
		MaxBitrate: 2_000_000,
		ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.org"}}},
		SettingEngine: func(se *webrtc.SettingEngine) {
			se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(lan) })
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	pc, err := f.NewPeerConnection()
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()

	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "room")
	if err != nil {
		log.Fatal(err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		log.Fatal(err)
	}

	var enc encoder
	ctrl, err := transport.NewController(pc.Estimator(), enc, nil, transport.ControllerConfig{
		MinBitrate: f.Config().MinBitrate, MaxBitrate: f.Config().MaxBitrate,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = ctrl.Run(ctx) }()
	go func() { _ = (&transport.SenderFeedback{Sender: sender, KeyFrame: enc}).Run(ctx) }()

	// ... offer/answer with the meeting provider, then feed track and
	// report transport.NewStatsReader(pc).Read() in status.
}
