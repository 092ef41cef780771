package capture_test

import (
	"fmt"

	"github.com/pion/mediadevices/pkg/wave"

	"github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/capture"
)

// The simulated board's camera: a test pattern whose frames say which
// frame they are.
func ExampleNewPattern() {
	p, err := capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, FPS: 30, Unpaced: true})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	for range 3 {
		img, release, _ := p.Read()
		n, _ := capture.ReadPatternCounter(img)
		fmt.Println("frame", n)
		release()
	}
	fmt.Println(p.Info())
	// Output:
	// frame 0
	// frame 1
	// frame 2
	// test pattern 640x360@30
}

// Muting happens before encoding: a closed gate turns the microphone's
// chunks into silence.
func ExampleGateAudio() {
	tone, _ := capture.NewTone(capture.ToneOptions{Frequency: 1000, Unpaced: true})
	var mute media.Gate
	mic := capture.GateAudio(tone, &mute)

	peak := func() (p int16) {
		chunk, release, _ := mic.Read()
		defer release()
		for _, s := range chunk.(*wave.Int16Interleaved).Data {
			p = max(p, s)
		}
		return p
	}
	fmt.Println("open:", peak() > 0)
	mute.Set(true)
	fmt.Println("closed:", peak() > 0, "-", mic.Info().Problem)
	// Output:
	// open: true
	// closed: false - microphone muted
}
