package call_test

import (
	"log"

	"github.com/roomd/roomd/media/call"
	"github.com/roomd/roomd/media/call/janusprovider"
	"github.com/roomd/roomd/media/call/whipprovider"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/room"
)

// The caller chooses the meeting providers an engine joins with; a link
// whose provider is not registered fails its call with ErrUnsupportedLink.
func ExampleProviders() {
	eng, err := call.New(call.Config{
		Sources: call.Sources{
			Video: func() (capture.VideoSource, error) { return capture.NewPattern(capture.PatternOptions{}) },
			Audio: func() (capture.AudioSource, error) { return capture.NewTone(capture.ToneOptions{}) },
		},
		Providers: call.Providers{
			janusprovider.Name: janusprovider.Provider{},
			whipprovider.Name:  whipprovider.Provider{},
		},
	}, func(r room.Report) { log.Print(r) })
	if err != nil {
		log.Fatal(err)
	}
	_ = eng // the room's CallEngine: room.Devices{Calls: eng}
}
