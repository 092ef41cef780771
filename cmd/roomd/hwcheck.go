package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roomd/roomd/media/capture/v4l2"
	"github.com/roomd/roomd/media/hwcheck"
)

// probeHardware is `roomd --probe [-json] [-dev DIR]`: the V4L2 devices
// and what each is to roomd.
func probeHardware(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roomd --probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	dev := fs.String("dev", "/dev", "where to look for /dev/video* nodes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	r := hwcheck.Probe(*dev)
	write := r.WriteText
	if *asJSON {
		write = r.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintln(stderr, "roomd:", err)
		return 1
	}
	return 0
}

// checkEncoder is `roomd --check-encoder [flags]`: frames from a camera
// through a V4L2 memory-to-memory encoder, reported as JSON; exit 1 if any
// step failed.
func checkEncoder(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roomd --check-encoder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c hwcheck.EncoderCheck
	fs.StringVar(&c.Camera, "camera", "/dev/video0", "camera node (single-planar, YU12)")
	fs.StringVar(&c.Encoder, "encoder", "", "encoder node (default: the first that makes -codec)")
	codec := fs.String("codec", "H264", "coded format's fourcc (FWHT for vicodec)")
	fs.IntVar(&c.Width, "width", 640, "picture width")
	fs.IntVar(&c.Height, "height", 480, "picture height")
	fs.Float64Var(&c.FPS, "fps", 30, "frame rate")
	fs.IntVar(&c.Frames, "frames", 30, "frames to encode")
	fs.IntVar(&c.BitRate, "bitrate", 500_000, "target bitrate in bit/s")
	memory := fs.String("memory", "dmabuf", "dmabuf (zero copy when the formats match) or mmap (copy)")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Second, "longest wait for a camera frame or an encoded one")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.Compressed = v4l2.FourCC(strings.ToUpper(*codec))
	switch *memory {
	case "dmabuf":
		c.Memory = v4l2.MemoryDMABUF
	case "mmap":
		c.Memory = v4l2.MemoryMMAP
	default:
		fmt.Fprintf(stderr, "roomd: -memory %q: use dmabuf or mmap\n", *memory)
		return 2
	}
	rep, err := hwcheck.CheckEncoder(c)
	if werr := rep.WriteJSON(stdout); werr != nil {
		fmt.Fprintln(stderr, "roomd:", werr)
		return 1
	}
	if err != nil {
		return 1
	}
	return 0
}
