package panel_test

import (
	"context"
	"fmt"
	"net"

	"github.com/roomd/roomd/panel"
	"github.com/roomd/roomd/room"
)

func ExampleParseRequest() {
	req, err := panel.ParseRequest([]byte(`{"type":"command","id":"7","command":"audio/volume/set","args":{"level":70}}`))
	fmt.Println(req.Type, req.ID, req.Command.Path, req.Command.Result, req.Command.Args, err)
	fmt.Printf("%#v\n", req.Command.Action)
	// Output:
	// command 7 Audio Volume Set VolumeSetResult [{Level 70}] <nil>
	// room.SetVolume{Level:70}
}

// Serve the kiosk panel on loopback for a running room.
func ExampleServer_Serve() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := room.New(room.Options{})
	go r.Run(ctx)
	srv, err := panel.New(r, panel.Options{StateDir: "/var/lib/roomd"})
	if err != nil {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		return
	}
	go srv.Run(ctx)
	srv.Serve(ctx, ln, panel.Kiosk) // until ctx ends
}
