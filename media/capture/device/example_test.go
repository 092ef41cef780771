package device_test

import (
	"log/slog"
	"time"

	"github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/capture/device"
)

// The room's camera as roomd wires it: opened from configuration, kept
// going through unplugging, switched off while camera privacy is on.
func ExampleOpenCamera() {
	var privacy media.Gate
	cfg := device.CameraConfig{Device: "/dev/video0", Width: 1280, Height: 720, FPS: 30}
	camera := capture.NewReconnectingVideo(func() (capture.VideoSource, error) {
		return device.OpenCamera(cfg)
	}, capture.ReconnectOptions{
		Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
		RetryEvery: 2 * time.Second,
		Privacy:    &privacy,
		Logger:     slog.Default(),
	})
	defer camera.Close()

	img, release, err := camera.Read() // a camera frame, or a slate saying why not
	if err == nil {
		_ = img // hand to the encoder
		release()
	}
	slog.Info("camera", "status", camera.Info().String())
}
