// Command whip-relay runs internal/whiprelay's WHIP/WHEP relay as a program,
// for the boot tests: inside the emulated board it takes what roomd
// publishes (frames from the vivid camera, encoded by roomd) and plays it
// back to roomd over WHEP, all on the guest's loopback. It writes the relay's
// base URL to the file given with -url and prints the RTP packets received
// per stream every second, so a test can see media arrive.
//
// It is built into test images only (IMAGE_TEST=1).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/roomd/roomd/internal/whiprelay"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sig, time.Second))
}

// run relays until a signal arrives, reporting the packets received every
// report interval, and returns the exit code.
func run(args []string, stdout, stderr io.Writer, sig <-chan os.Signal, report time.Duration) int {
	fs := flag.NewFlagSet("whip-relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urlFile := fs.String("url", "/run/whip-relay.url", "write the relay's base URL here")
	stream := fs.String("stream", "room", "stream whose packets to report")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	srv, err := whiprelay.Start(whiprelay.Options{StreamWait: 15 * time.Second})
	if err != nil {
		fmt.Fprintln(stderr, "whip-relay:", err)
		return 1
	}
	defer srv.Close()
	if err := os.WriteFile(*urlFile, []byte(srv.URL+"\n"), 0o644); err != nil {
		fmt.Fprintln(stderr, "whip-relay:", err)
		return 1
	}
	fmt.Fprintln(stdout, "whip-relay: listening on", srv.URL)
	tick := time.NewTicker(report)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			return 0
		case <-tick.C:
			v, a := srv.Received(*stream)
			fmt.Fprintf(stdout, "whip-relay: stream %s video=%d audio=%d\n", *stream, v, a)
		}
	}
}
