package passthrough

import (
	"errors"
	"fmt"
	"os"

	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
)

// FileOptions configure OpenH264File.
type FileOptions struct {
	// FPS is the rate the access units are played at when the stream does
	// not say (no timing info in its SPS); 0 means 30.
	FPS float64
	// Clock paces them; nil means the system clock.
	Clock capture.Clock
	// Passthrough allows the stream to be sent as it is (see
	// CameraOptions).
	Passthrough bool
}

// OpenH264File plays an Annex B H.264 file (`ffmpeg -c:v libx264 -f h264`)
// as a camera that encodes H.264 itself: the simulated board's "H.264
// camera" (media.video = "h264:PATH"), at the frame rate its SPS declares
// (x264 writes it), else at opts.FPS. Like a camera without encoding
// controls, it cannot make a key frame on request: a PLI waits for the
// file's next IDR, and its bitrate is fixed.
func OpenH264File(path string, opts FileOptions) (*Camera, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("passthrough: H.264 camera file: %w", err)
	}
	aus := SplitAccessUnits(data)
	// Start at the first key frame.
	for len(aus) > 0 && !IsKeyFrame(aus[0]) {
		aus = aus[1:]
	}
	if len(aus) == 0 {
		return nil, fmt.Errorf("passthrough: %s holds no H.264 key frame; give an Annex B stream (ffmpeg -c:v libx264 -f h264)", path)
	}
	sps, err := firstSPS(aus[0])
	if err != nil {
		return nil, fmt.Errorf("passthrough: %s: %w", path, err)
	}
	fps := opts.FPS
	if sps.fps > 0 && sps.fps <= 240 {
		fps = sps.fps
	}
	keys := make([]bool, len(aus))
	for i, au := range aus {
		keys[i] = IsKeyFrame(au)
	}
	src, err := capture.NewAccessUnitReplay(aus, keys, capture.ReplayOptions{
		Width: sps.width, Height: sps.height, FPS: fps, Clock: opts.Clock,
		Info: capture.Info{Kind: "camera", Device: path, Name: "H.264 camera (file)", Format: "H.264"},
	})
	if err != nil {
		return nil, fmt.Errorf("passthrough: %w", err)
	}
	return NewCamera(src, CameraOptions{Passthrough: opts.Passthrough}), nil
}

// firstSPS reads the SPS of a key frame's access unit.
func firstSPS(au []byte) (spsInfo, error) {
	var nal []byte
	codec.ForEachH264NAL(au, func(n []byte) {
		if nal == nil && n[0]&0x1f == nalSPS {
			nal = n
		}
	})
	if nal == nil {
		return spsInfo{}, errors.New("its first key frame carries no SPS")
	}
	return parseSPS(nal)
}
