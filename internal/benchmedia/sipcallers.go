package benchmedia

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/siptest"
	"github.com/roomd/roomd/room"
)

// roomdCaller is the real roomd calling from its control socket.
type roomdCaller struct {
	p   *roomdProcess
	uri string
}

func (r *roomdCaller) pid() int { return r.p.pid() }

// prepare opens the camera: with unmute_policy "anyone" a call from the
// console keeps it open.
func (r *roomdCaller) prepare(ctx context.Context) error {
	return r.p.exec(ctx, "xCommand Video Camera Privacy Set Mode: Off")
}

func (r *roomdCaller) dial(ctx context.Context) error {
	return r.p.exec(ctx, fmt.Sprintf("xCommand Call Join Uri: %q", r.uri))
}

// inCall opens the microphone, which a join from the console closes.
func (r *roomdCaller) inCall(ctx context.Context) error {
	return r.p.exec(ctx, "xCommand Audio Microphones Unmute")
}

func (r *roomdCaller) firstFrame(ctx context.Context) error {
	for {
		var st engineStats
		if err := r.p.get(ctx, "/media", &st); err != nil {
			return err
		}
		for _, n := range st.FramesDecoded {
			if n > 0 {
				return nil
			}
		}
		var rs roomState
		if err := r.p.get(ctx, "/room", &rs); err != nil {
			return err
		}
		if rs.Call == room.Failed {
			return fmt.Errorf("benchmedia: roomd's call failed: %s", rs.CallReason)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return fmt.Errorf("benchmedia: roomd decoded no picture of the far end: %w", err)
		}
	}
}

func (r *roomdCaller) hangup(ctx context.Context) error {
	return (&roomdSubject{p: r.p}).leave(ctx)
}

func (r *roomdCaller) counters(ctx context.Context) (sipCounters, error) {
	c, err := (&roomdSubject{p: r.p}).counters(ctx)
	if err != nil {
		return sipCounters{}, err
	}
	var st engineStats
	if err := r.p.get(ctx, "/media", &st); err != nil {
		return sipCounters{}, err
	}
	var rs roomState
	if err := r.p.get(ctx, "/room", &rs); err != nil {
		return sipCounters{}, err
	}
	codec, err := ThreadsCPU(r.pid(), codecThreadPrefix)
	if err != nil {
		return sipCounters{}, err
	}
	out := sipCounters{at: time.Now(), sentRate: rs.Media.SendBitrate, target: rs.Media.TargetBitrate, codec: codec, encoder: c.encoder}
	for _, n := range st.FramesDecoded {
		out.recvFrames += n
	}
	return out, nil
}

// baresipCaller is a second baresip calling through its ctrl_tcp.
type baresipCaller struct {
	b   *siptest.Baresip
	uri string
	dir string
	// first is the snapshot file the next decoded far-end picture is
	// saved to: its appearance is the first frame.
	first string
	n     int
	// seen is how many of its events came before the current dial.
	seen int
}

func (c *baresipCaller) pid() int { return c.b.PID() }

func (c *baresipCaller) prepare(context.Context) error { return nil }

func (c *baresipCaller) inCall(context.Context) error { return nil }

func (c *baresipCaller) dial(ctx context.Context) error {
	c.n++
	// snapshot.c keeps the path in a 100-byte buffer; the directory is short.
	c.first = filepath.Join(c.dir, fmt.Sprintf("first-%d.png", c.n))
	if _, err := c.b.Command("snapshot_recv", c.first); err != nil {
		return err
	}
	c.seen = len(c.b.Events())
	_, err := c.b.Command("dial", c.uri)
	return err
}

func (c *baresipCaller) firstFrame(ctx context.Context) error {
	for {
		if _, err := os.Stat(c.first); err == nil {
			return nil
		}
		for _, e := range c.b.Events()[c.seen:] {
			if e.Type == siptest.EventCallClosed {
				return fmt.Errorf("benchmedia: baresip's call closed: %s", e.Param)
			}
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return fmt.Errorf("benchmedia: baresip decoded no picture of the far end: %w", err)
		}
	}
}

func (c *baresipCaller) hangup(ctx context.Context) error {
	if _, err := c.b.Command("hangup", ""); err != nil {
		return err
	}
	_, err := c.b.WaitEvent(10*time.Second, func(e siptest.Event) bool { return e.Type == siptest.EventCallClosed })
	return err
}

func (c *baresipCaller) counters(context.Context) (sipCounters, error) {
	v, err := readVideoDebug(c.b)
	if err != nil {
		return sipCounters{}, err
	}
	enc := baresipEncoder(c.b.Log())
	if enc == "" {
		enc = "unknown (no avcodec line in its log)"
	}
	return sipCounters{at: time.Now(), sentBytes: v.txOctets, recvFrames: v.rxFrames, encoder: enc}, nil
}

// cameraFile writes length of ffmpeg's testsrc2 (the picture
// browsertest.MakeY4M makes) to path as a Y4M.
func cameraFile(ctx context.Context, path string, w, h, fps int, length time.Duration) (string, error) {
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", w, h, fps),
		"-t", fmt.Sprint(length.Seconds()), "-pix_fmt", "yuv420p", "-y", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("benchmedia: ffmpeg (apt-get install ffmpeg; make setup does it): %w\n%s", err, out)
	}
	return path, nil
}

// baresipVersion is baresip's version line.
func baresipVersion(ctx context.Context) string {
	return "baresip " + debianVersion(ctx, "baresip-core")
}

// debianVersion is the installed version of a Debian package.
func debianVersion(ctx context.Context, pkg string) string {
	v := firstLine(ctx, "dpkg-query", "-W", "-f=${Version}", pkg)
	if v == "unknown" {
		return "(version unknown)"
	}
	return v
}

// baresipEncoder is the H.264 encoder baresip's avcodec module says it uses.
func baresipEncoder(log string) string {
	for _, l := range strings.Split(log, "\n") {
		if _, rest, ok := strings.Cut(l, "avcodec: using H.264 encoder "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// videoDebug is what baresip's video_debug command says about the call's
// video.
type videoDebug struct {
	rxSize    Size   // of the pictures it decodes
	rxFrames  uint64 // pictures decoded and handed to the display
	keyFrames int    // key frames decoded
	txOctets  uint64 // RTP octets sent
}

func readVideoDebug(b *siptest.Baresip) (videoDebug, error) {
	out, err := b.Command("video_debug", "")
	if err != nil {
		return videoDebug{}, err
	}
	return parseVideoDebug(out)
}

// parseVideoDebug reads baresip 1.0.0's video_debug output:
//
//	   vidisp: fakevideo 1280 x 720 frames=299
//	   n_keyframes=1, n_picup=0
//	TX: packets=1089, octets=1022375
func parseVideoDebug(out string) (videoDebug, error) {
	var v videoDebug
	var seen int
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		var name string
		switch {
		case strings.HasPrefix(l, "vidisp:"):
			if _, err := fmt.Sscanf(l, "vidisp: %s %d x %d frames=%d", &name, &v.rxSize.W, &v.rxSize.H, &v.rxFrames); err == nil {
				seen++
			}
		case strings.HasPrefix(l, "n_keyframes="):
			if _, err := fmt.Sscanf(l, "n_keyframes=%d", &v.keyFrames); err == nil {
				seen++
			}
		case strings.HasPrefix(l, "TX: packets="):
			var packets uint64
			if _, err := fmt.Sscanf(l, "TX: packets=%d, octets=%d", &packets, &v.txOctets); err == nil {
				seen++
			}
		}
	}
	if seen < 3 {
		return v, fmt.Errorf("benchmedia: baresip's video_debug has no decoder, key-frame or RTP lines (is a call up?):\n%s", out)
	}
	return v, nil
}

// negotiated is the media of roomd's first answered call, from its log.
func negotiated(log string) string {
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "sip: call answered") {
			continue
		}
		if _, rest, ok := strings.Cut(l, "media="); ok {
			v, _, _ := strings.Cut(rest, " crypto=")
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
