// Command bench-sip measures roomd against baresip as the calling endpoint
// of the same 720p30 H.264 SIP call to a baresip on this machine, and prints
// a Markdown table (internal/benchmedia says how each figure is taken).
//
//	bench-sip                                     full run: 5 timed calls, 2 × 30 s windows per caller
//	bench-sip -window 10s -calls 2 -rounds 1      quick smoke run
//	bench-sip -roomd bin/roomd -doc docs/benchmarks.md   what `make bench-sip` runs
//
// It needs Debian's baresip-core, baresip-ffmpeg and ffmpeg, and builds
// roomd with `go build` unless -roomd names a binary. The exit status is 1
// when the run failed; missed targets are reported in the table, not in the
// status.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/roomd/roomd/internal/benchmedia"
)

func main() {
	var (
		o      benchmedia.SIPOptions
		screen string
		doc    string
	)
	flag.IntVar(&o.Calls, "calls", 5, "timed calls per caller for the setup time (the median is reported)")
	flag.IntVar(&o.Rounds, "rounds", 2, "measured calls per caller, alternating roomd and baresip")
	flag.DurationVar(&o.Window, "window", 30*time.Second, "CPU window of each measured call")
	flag.DurationVar(&o.Settle, "settle", 5*time.Second, "time in a measured call before its window opens")
	flag.IntVar(&o.Bitrate, "bitrate", 2_500_000, "every sender's video bitrate, bit/s")
	flag.StringVar(&o.Roomd, "roomd", "", "roomd binary (default: go build ./cmd/roomd)")
	flag.StringVar(&screen, "screen", "none", "how roomd shows the far end: none (decoded, not drawn, like baresip's fakevideo display) or framebuffer (composed into an XRGB8888 file in memory, as on the device)")
	flag.IntVar(&o.Retries, "retries", 2, "how many times a measured call whose video fell under 90 % of 30 fps either way is made again, keeping the best (-1: never)")
	flag.IntVar(&o.Nice, "nice", 0, "run roomd and both baresips at this nice value (e.g. -10 on a shared machine; needs root or CAP_SYS_NICE, and setsid -w where the kernel groups sessions)")
	flag.StringVar(&o.LogDir, "logs", "", "keep roomd's and the baresips' logs in this directory")
	flag.StringVar(&doc, "doc", "", "also write the table into this Markdown file's SIP section (docs/benchmarks.md)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench-sip: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	o.Screen = benchmedia.Screen(screen)
	o.Log = os.Stderr
	// Under make, BENCH_SIP_VIA names the make target.
	os.Exit(benchmedia.Main("bench-sip", "BENCH_SIP_VIA", doc, func(ctx context.Context) (benchmedia.Table, error) {
		return benchmedia.RunSIP(ctx, o)
	}, benchmedia.UpdateSIPDoc))
}
