package whip_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/whip"
)

// A room system publishes its camera and microphone over WHIP, receives
// the meeting over WHEP, and leaves.
func Example() {
	ctx := context.Background()
	newPC := func() (*webrtc.PeerConnection, error) {
		return webrtc.NewPeerConnection(webrtc.Configuration{}) // transport.Factory in roomd
	}
	camera, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "room")

	pub, err := whip.Publish(ctx, whip.Options{
		Endpoint:          "https://sfu.example.org/whip/boardroom",
		Token:             "meeting-passcode",
		NewPeerConnection: newPC,
		AddTracks: func(pc *webrtc.PeerConnection) error {
			_, err := pc.AddTransceiverFromTrack(camera, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			return err
		},
	})
	switch {
	case errors.Is(err, whip.ErrUnauthorized), errors.Is(err, whip.ErrNotFound):
		log.Print(err) // show it in the room; retrying will not help
		return
	case err != nil:
		log.Print(err) // unreachable or refused: try again later
		return
	}
	view, err := whip.Receive(ctx, whip.Options{
		Endpoint:          "https://sfu.example.org/whep/boardroom-mix",
		Token:             "meeting-passcode",
		NewPeerConnection: newPC,
		OnTrack: func(pc *webrtc.PeerConnection, track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			// decode track; send PLIs on pc
		},
	})
	if err != nil {
		log.Print(err)
	}

	select {
	case <-pub.Connected():
		// in the meeting
	case <-pub.Done():
		log.Print(pub.Err())
	}
	// ... until the meeting ends:
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if view != nil {
		view.Leave(lctx)
	}
	pub.Leave(lctx)
}
