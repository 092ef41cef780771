package janus_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/roomd/roomd/media/janus"
)

// An engine joins, publishes its tracks, receives every other participant
// and joins again when the server restarts.
func ExampleJoin() {
	ctx := context.Background()
	var se webrtc.SettingEngine
	if err := janus.ConfigureSettingEngine(&se); err != nil {
		log.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se)) // plus the engine's media engine and interceptors
	newPC := func() (*webrtc.PeerConnection, error) { return api.NewPeerConnection(webrtc.Configuration{}) }

	for {
		s, err := janus.Join(ctx, janus.Options{
			URL:               "ws://127.0.0.1:8188/",
			Room:              1234,
			PIN:               "2468",
			Display:           "Boardroom",
			NewPeerConnection: newPC,
			OnRemote: func(r *janus.Remote) {
				r.PC.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
					// decode and show r.Feed.Display's track
				})
				go func() {
					<-r.Done()
					if errors.Is(r.Err(), janus.ErrFeedGone) {
						// remove r.Feed.Display's tile
					}
				}()
			},
		})
		switch {
		case errors.Is(err, janus.ErrUnauthorized), errors.Is(err, janus.ErrRoomNotFound):
			log.Print(err) // show it in the room; retrying will not help
			return
		case err != nil:
			log.Print(err)
			time.Sleep(2 * time.Second)
			continue
		}
		pc, err := newPC() // with the camera and microphone tracks added
		if err != nil {
			log.Fatal(err)
		}
		if err := s.Publish(ctx, pc); err != nil {
			log.Print(err)
		}
		<-s.Done()
		pc.Close()
		if s.Err() == nil {
			return // left on purpose
		}
		log.Print(s.Err()) // reconnecting
	}
}
