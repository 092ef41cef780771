package mjpeg

import (
	"bytes"
	"image"
	"image/jpeg"
	"syscall"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/io/video"
)

// cameraJPEG is a 1280×720 4:2:2 picture like a UVC webcam's MJPEG frame:
// the test scene plus sensor-like noise, at a webcam's quality.
func cameraJPEG(b *testing.B) []byte {
	img := scene(1280, 720)
	seed := uint32(1)
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		seed = seed*1664525 + 1013904223
		v := int(img.Pix[i]) + int(seed>>28) - 8
		img.Pix[i] = uint8(max(0, min(255, v)))
	}
	data, err := compress(img, sub422, 85)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// processCPU is the CPU time the whole process has used, all threads: the
// decode runs on a codec thread, and wall time on a shared machine says
// more about the neighbours than about the decoder.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the process's CPU time per frame since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkCamera720p422 compares the two ways from a camera's MJPEG frame
// to the I420 the encoders take: libjpeg-turbo straight to planes (this
// package), and what pion/mediadevices' camera driver does (image/jpeg,
// then video.ToI420's 4:2:2 to 4:2:0 conversion).
//
//	go test -run '^$' -bench Camera720p422 -benchtime 3s ./media/codec/mjpeg/
func BenchmarkCamera720p422(b *testing.B) {
	data := cameraJPEG(b)
	b.Run("turbojpeg", func(b *testing.B) {
		d, err := New()
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		cpu := processCPU(b)
		for b.Loop() {
			if _, err := d.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
	b.Run("image-jpeg+ToI420", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		cpu := processCPU(b)
		for b.Loop() {
			r := video.ToI420(video.ReaderFunc(func() (image.Image, func(), error) {
				img, err := jpeg.Decode(bytes.NewReader(data))
				return img, func() {}, err
			}))
			img, release, err := r.Read()
			if err != nil {
				b.Fatal(err)
			}
			if img.(*image.YCbCr).SubsampleRatio != image.YCbCrSubsampleRatio420 {
				b.Fatal("not converted to 4:2:0")
			}
			release()
		}
		reportCPU(b, cpu)
	})
}
