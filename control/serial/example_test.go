package serial_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/roomd/roomd/control/serial"
	"github.com/roomd/roomd/room"
)

func ExampleParse() {
	req, err := serial.Parse(`xCommand Call Join Uri: "https://meet.example/abc" Replace: true |resultId="j1"`)
	fmt.Println(req.Verb, req.Words, req.Args, req.ResultID, err)
	fmt.Println(req)
	// Output:
	// xCommand [Call Join] [{Uri https://meet.example/abc} {Replace true}] j1 <nil>
	// xCommand Call Join Uri: https://meet.example/abc Replace: true |resultId="j1"
}

// A session on any stream; roomd uses ServeLine for the serial port and
// ListenUnix for the control socket.
func ExampleServer_Serve() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := room.New(room.Options{})
	go r.Run(ctx)
	<-r.Ready()

	srv, err := serial.NewServer(r, serial.Options{SoftwareVersion: "1.0.0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	server, client := net.Pipe()
	go srv.Serve(ctx, server, room.Source{Kind: room.FromSocket, ID: "example"})

	fmt.Fprint(client, "xStatus Audio Volume |resultId=\"v1\"\r\n")
	in := bufio.NewReader(client)
	for {
		l, _ := in.ReadString('\n')
		l = strings.TrimRight(l, "\r\n")
		fmt.Println(l)
		if l == "OK" || strings.HasPrefix(l, "ERROR") {
			break
		}
	}
	// Output:
	// *s Audio Volume: 50
	// ** resultId: "v1"
	// ** end
	// OK
}
