package benchmedia

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Camera is what the subjects' camera delivers.
type Camera string

// Cameras. Every camera plays the same content: the Y4M (ffmpeg testsrc2),
// or that Y4M turned into MJPEG or H.264 by ffmpeg.
const (
	// CameraRaw is a camera that gives raw 4:2:0 pictures (the Y4M).
	CameraRaw Camera = "y4m"
	// CameraMJPEG gives JPEG pictures; roomd decodes them with
	// libjpeg-turbo, Chromium with its own MJPEG decoder, and both encode
	// again.
	CameraMJPEG Camera = "mjpeg"
	// CameraH264 encodes H.264 itself (constrained baseline, 4:2:0, Annex
	// B at the senders' bitrate); roomd sends its stream as it is. Chromium
	// cannot take H.264 from a camera: it is compared with Chromium on the
	// MJPEG camera, which it must decode and encode again.
	CameraH264 Camera = "h264"
)

// cameraFiles makes the camera files from the Y4M with ffmpeg: path by
// camera.
func cameraFiles(ctx context.Context, dir, y4m string, o Options) (map[Camera]string, error) {
	files := map[Camera]string{CameraRaw: y4m}
	for _, c := range o.Cameras {
		var args []string
		switch c {
		case CameraRaw:
			continue
		case CameraMJPEG:
			// yuvj420p: 4:2:0 JPEG, as UVC cameras send it; -q:v 3 is a
			// camera's usual quality (about 0.1 byte per pixel here).
			args = []string{"-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "3", "-f", "mjpeg"}
		case CameraH264:
			// A key frame every second, SPS and PPS before each, as H.264
			// cameras are set up for calls.
			kbit := fmt.Sprint(o.Bitrate / 1000)
			args = []string{"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-tune", "zerolatency",
				"-b:v", kbit + "k", "-maxrate", kbit + "k", "-bufsize", kbit + "k", "-g", fmt.Sprint(o.FPS), "-f", "h264"}
		}
		p := filepath.Join(dir, "camera."+string(c))
		cmd := exec.CommandContext(ctx, "ffmpeg", append(append([]string{"-v", "error", "-i", y4m}, args...), "-y", p)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("benchmedia: making the %s camera with ffmpeg (apt-get install ffmpeg): %v\n%s", c, err, out)
		}
		files[c] = p
	}
	return files, nil
}

// roomdVideo is media.video for a camera file.
func roomdVideo(c Camera, path string) string { return string(c) + ":" + path }

// Denoiser is the cost of libvpx's VP8 denoiser, which libwebrtc turns on
// for camera content (adaptive mode, noise sensitivity 4, on x86; Y only
// on ARM) and roomd leaves off: ffmpeg's libvpx encoding the camera's
// pictures at the call's settings, without and with it.
type Denoiser struct {
	Frames int
	// Off and On are ffmpeg's CPU time per minute of 30 fps video
	// (reading the Y4M included, the same in both).
	Off, On time.Duration
	Err     string // why it was not measured
}

// Cost is what the denoiser adds per minute of video.
func (d Denoiser) Cost() time.Duration { return d.On - d.Off }

// denoiserSensitivity is libwebrtc's kDenoiserOnAdaptive, its choice for
// x86 (LibvpxVp8Encoder::InitEncode).
const denoiserSensitivity = 4

// measureDenoiser encodes the Y4M with ffmpeg's libvpx at roomd's settings
// (real time, cpu-used -6, one thread, CBR at the senders' bitrate), looped
// to frames pictures, with the denoiser off and at libwebrtc's setting,
// alternately, rounds times each, and keeps the cheaper run of each.
func measureDenoiser(ctx context.Context, y4m string, o Options, frames, rounds int) Denoiser {
	d := Denoiser{Frames: frames}
	run := func(sens int) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-stream_loop", "-1", "-i", y4m, "-frames:v", fmt.Sprint(frames),
			"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "-6", "-threads", "1", "-lag-in-frames", "0",
			"-b:v", fmt.Sprint(o.Bitrate), "-minrate", fmt.Sprint(o.Bitrate), "-maxrate", fmt.Sprint(o.Bitrate),
			"-noise-sensitivity", fmt.Sprint(sens), "-an", "-f", "null", "-")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("ffmpeg libvpx: %v: %s", err, strings.TrimSpace(string(out)))
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0, fmt.Errorf("no rusage for ffmpeg")
		}
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		return time.Duration(float64(cpu) * float64(o.FPS*60) / float64(frames)), nil
	}
	for range rounds {
		for _, sens := range []int{0, denoiserSensitivity} {
			t, err := run(sens)
			if err != nil {
				d.Err = err.Error()
				return d
			}
			p := &d.Off
			if sens != 0 {
				p = &d.On
			}
			if *p == 0 || t < *p {
				*p = t
			}
		}
	}
	return d
}
