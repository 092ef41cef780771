// Command v4l2-feed makes a v4l2loopback device a camera that delivers
// H.264, for the boot tests: it sets the device's output format and writes
// an Annex B file to it one access unit per write(2), at a frame rate, in a
// loop, until it is stopped. The capture side then lists H264 and returns the
// access units byte for byte.
//
//	v4l2-feed -device /dev/video20 -width 320 -height 180 -fps 10 camera.h264
//
// The file must carry access unit delimiters (ffmpeg's
// `-bsf:v h264_metadata=aud=insert`), which is where it is cut.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/roomd/roomd/media/capture/v4l2"
)

func main() {
	device := flag.String("device", "/dev/video20", "the v4l2loopback device")
	width := flag.Int("width", 320, "picture width")
	height := flag.Int("height", 180, "picture height")
	fps := flag.Float64("fps", 10, "access units per second")
	flag.Parse()
	if flag.NArg() != 1 || *fps <= 0 {
		fmt.Fprintln(os.Stderr, "usage: v4l2-feed [-device DEV] [-width W -height H] [-fps N] FILE.h264")
		os.Exit(2)
	}
	if err := run(*device, *width, *height, *fps, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "v4l2-feed:", err)
		os.Exit(1)
	}
}

func run(device string, width, height int, fps float64, file string) error {
	stream, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	aus := accessUnits(stream)
	if len(aus) == 0 {
		return errors.New(file + " has no access unit delimiters; make it with ffmpeg -bsf:v h264_metadata=aud=insert")
	}
	// The format is the device's (v4l2loopback keeps it while a writer
	// has it open); the writes go through a second descriptor.
	dev, err := v4l2.Open(device)
	if err != nil {
		return err
	}
	defer dev.Close()
	f, err := dev.SetFormat(v4l2.BufVideoOutput, v4l2.PixFormat{Width: width, Height: height, FourCC: v4l2.FourCCH264})
	if err != nil {
		return fmt.Errorf("setting the output format: %w", err)
	}
	if f.FourCC != v4l2.FourCCH264 {
		return fmt.Errorf("%s took %s instead of H264", device, v4l2.FourCCString(f.FourCC))
	}
	w, err := os.OpenFile(device, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintf(os.Stderr, "v4l2-feed: %d access units of %s to %s as H264 %dx%d at %g fps\n", len(aus), file, device, f.Width, f.Height, fps)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(time.Duration(float64(time.Second) / fps))
	defer tick.Stop()
	for n := 0; ; n++ {
		if _, err := w.Write(aus[n%len(aus)]); err != nil {
			return fmt.Errorf("writing access unit %d: %w", n, err)
		}
		select {
		case <-stop:
			fmt.Fprintf(os.Stderr, "v4l2-feed: stopped after %d access units\n", n+1)
			return nil
		case <-tick.C:
		}
	}
}

// accessUnits cuts an Annex B stream before each access unit delimiter
// (NAL type 9), keeping the start codes.
func accessUnits(stream []byte) [][]byte {
	var starts []int
	for i := 0; i+3 < len(stream); i++ {
		if stream[i] == 0 && stream[i+1] == 0 && stream[i+2] == 1 && stream[i+3]&0x1f == 9 {
			s := i
			if s > 0 && stream[s-1] == 0 {
				s-- // a four-byte start code
			}
			starts = append(starts, s)
			i += 3
		}
	}
	var aus [][]byte
	for k, s := range starts {
		end := len(stream)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		aus = append(aus, stream[s:end])
	}
	return aus
}
