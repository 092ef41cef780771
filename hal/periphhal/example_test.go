package periphhal_test

import (
	"context"
	"fmt"
	"time"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/periphhal"
)

// Load a built-in profile, report what came up, and use what loaded.
func ExampleLoad() {
	desc, err := hal.Profile("rpi4")
	if err != nil {
		fmt.Println(err)
		return
	}
	board := periphhal.Load(desc, nil)
	defer board.Close()

	for _, d := range board.Report {
		fmt.Printf("%-7s %-13s %s %s\n", d.Kind, d.Name, d.State, d.Reason)
	}
	if led, ok := board.LEDs[hal.RoleMuteLED]; ok {
		_ = led.Set(true)
	}
	if mute, ok := board.Buttons[hal.RoleMuteButton]; ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for e := range mute.Watch(ctx) { // until the timeout
			fmt.Println("mute pressed:", e.Pressed)
		}
	}
}
