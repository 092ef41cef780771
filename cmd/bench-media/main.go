// Command bench-media measures roomd against headless Chromium in a Janus
// meeting on this machine and prints a Markdown table (internal/benchmedia
// says how each figure is taken).
//
//	bench-media                                   full run: 5 joins, 60 s windows, VP8 and H.264, raw, MJPEG and H.264 cameras
//	bench-media -window 10s -joins 2              quick smoke run
//	bench-media -codecs h264 -cameras h264        one column: roomd's H.264 camera
//	bench-media -roomd bin/roomd -doc docs/benchmarks.md   what `make bench-media` runs
//
// It needs Debian's janus, chromium and ffmpeg, and builds roomd with `go
// build` unless -roomd names a binary. The exit status is 1 when the run
// failed; missed targets are reported in the table, not in the status.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/benchmedia"
)

func main() {
	var (
		o       benchmedia.Options
		codecs  string
		cameras string
		screens string
		doc     string
		env     string
	)
	flag.DurationVar(&o.Window, "window", time.Minute, "CPU window per participant (60s for the record; shorter for smoke runs)")
	flag.DurationVar(&o.Settle, "settle", 10*time.Second, "time in the call before the window opens")
	flag.IntVar(&o.Joins, "joins", 5, "timed joins per participant (the median is reported)")
	flag.StringVar(&codecs, "codecs", "vp8,h264", "video codecs to run, in order")
	flag.StringVar(&cameras, "cameras", "y4m,mjpeg,h264", "cameras to run, in order: y4m (raw pictures), mjpeg (JPEG pictures, decoded), h264 (an H.264 stream roomd sends as it is; H.264 calls only, roomd only)")
	flag.IntVar(&o.DenoiserFrames, "denoiser-frames", 1800, "pictures per encode when measuring the VP8 denoiser's cost with ffmpeg (-1: not measured)")
	flag.IntVar(&o.Bitrate, "bitrate", 2_500_000, "every sender's video cap, bit/s")
	flag.IntVar(&o.RoomBitrate, "room-bitrate", 3_000_000, "the Janus room's cap, bit/s")
	flag.StringVar(&o.Roomd, "roomd", "", "roomd binary (default: go build ./cmd/roomd)")
	flag.StringVar(&screens, "screens", "framebuffer,none", "how roomd shows what it receives, one run each: framebuffer (composed into an XRGB8888 file in memory, as on the device), record (composed into a Y4M sent to /dev/null), none")
	flag.DurationVar(&o.MaxOtherLoad, "max-other", 10*time.Second, "CPU per minute other processes may use during a window before it is measured again")
	flag.IntVar(&o.Retries, "retries", 2, "how many times a busy window is measured again (-1: never)")
	flag.StringVar(&env, "roomd-env", "", "comma-separated NAME=value pairs added to roomd.service's environment, for experiments (the report says so)")
	flag.StringVar(&o.LogDir, "roomd-logs", "", "keep each roomd's log in this directory")
	flag.StringVar(&doc, "doc", "", "also write the table into this Markdown file's media section (docs/benchmarks.md)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench-media: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	o.Codecs = strings.Split(codecs, ",")
	for _, c := range strings.Split(cameras, ",") {
		o.Cameras = append(o.Cameras, benchmedia.Camera(c))
	}
	for _, sc := range strings.Split(screens, ",") {
		o.Screens = append(o.Screens, benchmedia.Screen(sc))
	}
	if env != "" {
		o.ExtraEnv = strings.Split(env, ",")
	}
	o.Log = os.Stderr
	// Under make, BENCH_MEDIA_VIA names the make target.
	os.Exit(benchmedia.Main("bench-media", "BENCH_MEDIA_VIA", doc, func(ctx context.Context) (benchmedia.Table, error) {
		return benchmedia.Run(ctx, o)
	}, benchmedia.UpdateDoc))
}
