package sim_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/roomd/roomd/hal"
	"github.com/roomd/roomd/hal/sim"
)

func Example() {
	desc, _ := hal.Profile("sim")
	b, err := sim.New(desc, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	hw := b.Hardware() // what the daemon would get from a real board

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	edges := hw.Buttons[hal.RoleMuteButton].Watch(ctx)
	b.Click(hal.RoleMuteButton)
	fmt.Println("pressed:", (<-edges).Pressed, "then", (<-edges).Pressed)

	hw.LEDs[hal.RoleMuteLED].Set(true)
	on, _ := b.Output(hal.RoleMuteLED)
	fmt.Println("mute LED lit:", on)

	b.Fail(hal.RoleDisplayPower, errors.New("relay welded"))
	fmt.Println(hw.Relays[hal.RoleDisplayPower].Set(true))
	b.Heal(hal.RoleDisplayPower)
	fmt.Println(hw.Relays[hal.RoleDisplayPower].Set(true))

	// Output:
	// pressed: true then false
	// mute LED lit: true
	// sim: display_power: injected fault: relay welded
	// <nil>
}
