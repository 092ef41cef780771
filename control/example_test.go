package control_test

import (
	"fmt"

	"github.com/roomd/roomd/control"
	"github.com/roomd/roomd/room"
)

func ExampleFlatten() {
	s := room.State{MicMute: true, Volume: 40, Settings: room.DefaultSettings()}
	leaves := control.Flatten(s, control.System{SoftwareVersion: "1.0.0"})
	for _, l := range control.Select(leaves, control.ParsePath("audio")) {
		fmt.Printf("%s: %s\n", l.Path, l.Value)
	}
	// Output:
	// Audio Microphones Mute: On
	// Audio Microphones HardwareSwitch: Off
	// Audio Volume: 40
}

func ExampleParseCommand() {
	cmd, err := control.ParseCommand(control.ParsePath("audio volume set"), []control.Arg{{Name: "level", Value: "70"}})
	fmt.Println(cmd.Path, cmd.Result, cmd.Args, err)
	fmt.Printf("%#v\n", cmd.Action)
	// Output:
	// Audio Volume Set VolumeSetResult [{Level 70}] <nil>
	// room.SetVolume{Level:70}
}
