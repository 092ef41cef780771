// Command whip-relay runs internal/whiptest's WHIP/WHEP relay as a program,
// for the boot tests: inside the emulated board it takes what roomd
// publishes (frames from the vivid camera, encoded by roomd) and plays it
// back to roomd over WHEP, all on the guest's loopback. It writes the relay's
// base URL to the file given with -url and prints the RTP packets received
// per stream every second, so a test can see media arrive.
//
// It is built into test images only (IMAGE_TEST=1).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/roomd/roomd/internal/whiptest"
)

// tb is the little of testing.TB the relay uses, for a program.
type tb struct {
	testing.TB
	cleanups []func()
}

func (*tb) Helper() {}
func (*tb) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"whip-relay:"}, args...)...)
	os.Exit(1)
}
func (*tb) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "whip-relay: "+f+"\n", a...)
	os.Exit(1)
}
func (*tb) Logf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (t *tb) Cleanup(f func())      { t.cleanups = append(t.cleanups, f) }

func main() {
	urlFile := flag.String("url", "/run/whip-relay.url", "write the relay's base URL here")
	stream := flag.String("stream", "room", "stream whose packets to report")
	flag.Parse()
	t := &tb{}
	srv := whiptest.Start(t, whiptest.Options{StreamWait: 15 * time.Second})
	if err := os.WriteFile(*urlFile, []byte(srv.URL+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Println("whip-relay: listening on", srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			for _, f := range t.cleanups {
				f()
			}
			return
		case <-tick.C:
			v, a := srv.Received(*stream)
			fmt.Printf("whip-relay: stream %s video=%d audio=%d\n", *stream, v, a)
		}
	}
}
